//! `POST /documents/{id}/approve` and `/reject`: an approver's decision, under the rules of the
//! emailed links and the dashboard, by the same code. The store finds the request the caller
//! answers on this document (their open request at the step being asked) and the decision goes
//! through `ApprovalStore::approval_decide` with that request's link: one guarded, audited
//! transaction that enforces whose turn it is, separation of duties, expiry and a changed
//! invoice. Someone not asked is refused before anything is written.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Api;
use super::documents::document_id;
use super::problem::{Kind, Problem, ProblemDetails, Words};
use crate::store::approvals::{Decision, DecisionInput, DecisionOutcome};
use crate::store::users::AuditLine;
use crate::users::api_token::Scope;
use crate::users::Action;
use crate::web::request::{client_ip, header_text};
use crate::web::WebState;

/// Longest comment kept (as on the approval page).
const MAX_COMMENT_CHARS: usize = 2000;

/// What a decision may carry (the body may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why, kept in the audit (at most 2000 characters).
    comment: Option<String>,
}

/// A recorded decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionRecorded {
    pub document: i64,
    /// `approve` or `reject`.
    pub decision: String,
    /// The document's state after it: `pending_approval` while steps remain, `approved`,
    /// `rejected`.
    pub state: String,
}

/// Approves an invoice whose approval is asked of the caller.
#[utoipa::path(
    post,
    path = "/documents/{id}/approve",
    tag = "approvals",
    params(("id" = i64, Path, description = "The document's id")),
    request_body(content = Option<DecisionBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = DecisionRecorded),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not the caller's turn, separation of duties, a read token or a viewer", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, closed, or the invoice changed", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, description = "The request expired", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a decision", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn approve(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    api: Api,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DecisionRecorded>, Problem> {
    decide(state, peer, api, id, headers, body, Decision::Approve).await
}

/// Rejects an invoice whose approval is asked of the caller.
#[utoipa::path(
    post,
    path = "/documents/{id}/reject",
    tag = "approvals",
    params(("id" = i64, Path, description = "The document's id")),
    request_body(content = Option<DecisionBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = DecisionRecorded),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not the caller's turn, a read token or a viewer", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such document", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Decided already, closed, or the invoice changed", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 410, description = "The request expired", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a decision", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn reject(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    api: Api,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DecisionRecorded>, Problem> {
    decide(state, peer, api, id, headers, body, Decision::Reject).await
}

async fn decide(
    state: WebState,
    peer: SocketAddr,
    api: Api,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    decision: Decision,
) -> Result<Json<DecisionRecorded>, Problem> {
    api.may(Scope::Write, Action::Decide)?;
    let doc = document_id(&id)?;
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                Kind::Invalid,
                format!("the body must be JSON like {{\"comment\": \"…\"}} (or nothing): {e}"),
                format!("le corps doit être du JSON comme {{\"comment\": \"…\"}} (ou vide) : {e}"),
            )
        })?
    };
    // The document first: a decision on nothing is 404, not "not your turn".
    state.store.document(doc).await.map_err(Problem::store)?;
    let Some(token_hash) = state
        .store
        .approval_turn(doc, api.email())
        .await
        .map_err(Problem::store)?
    else {
        return Err(Problem::new(
            Kind::Forbidden,
            format!("document {doc} does not wait for a decision of {}: only the approver asked at its current step decides", api.email()),
            format!("le document {doc} n'attend pas de décision de {} : seul l'approbateur sollicité à l'étape en cours décide", api.email()),
        ));
    };
    let ip = client_ip(&headers, &peer);
    let agent = header_text(&headers, header::USER_AGENT).unwrap_or_default();
    let input = DecisionInput {
        token_hash,
        decision,
        comment: body
            .comment
            .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect()),
        ip: Some(ip.clone()),
        user_agent: Some(format!("{} via the REST API; {agent}", api.actor())),
        now: (state.clock)(),
    };
    let outcome = state
        .store
        .approval_decide(&input, crate::stages::BUILT)
        .await
        .map_err(Problem::store)?;
    let verb = decision.as_str();
    let recorded = match outcome {
        DecisionOutcome::Recorded { state: s } => s,
        DecisionOutcome::AlreadyDecided { decision: d, at } => {
            let at = at.format("%Y-%m-%d %H:%M UTC");
            return Err(Problem::new(
                Kind::Conflict,
                format!("you decided already: {} on {at}", d.as_str()),
                format!("vous avez déjà décidé : {} le {at}", d.as_str()),
            ));
        }
        DecisionOutcome::Closed { state: s } => {
            return Err(Problem::new(
                Kind::Conflict,
                format!("the approval of document {doc} is over: it is {s}"),
                format!("l'approbation du document {doc} est close : il est {s}"),
            ))
        }
        DecisionOutcome::Changed => {
            return Err(Problem::new(
                Kind::Conflict,
                "the amount, supplier or IBAN changed since approval was asked: earlier approvals are reset and a new request is sent",
                "le montant, le fournisseur ou l'IBAN ont changé depuis la demande : les approbations sont remises à zéro et une nouvelle demande est envoyée",
            ))
        }
        DecisionOutcome::Expired => {
            return Err(Problem::new(
                Kind::Gone,
                "this approval request expired: a reminder or an escalation asks again",
                "cette demande d'approbation a expiré : un rappel ou une escalade la renouvellera",
            ))
        }
        DecisionOutcome::Unknown => {
            return Err(Problem::new(
                Kind::NotFound,
                format!("no approval request of document {doc} for you"),
                format!("aucune demande d'approbation du document {doc} pour vous"),
            ))
        }
        DecisionOutcome::Refused(why) => {
            return Err(Problem::with(Kind::Forbidden, Words::same(why)));
        }
    };
    let line = AuditLine {
        at: (state.clock)(),
        actor: api.actor(),
        action: format!("api {verb}"),
        detail: format!("document {doc}: {verb} → {recorded}"),
        ip: Some(ip),
        user_agent: header_text(&headers, header::USER_AGENT),
    };
    state.store.audit_web(&line).await.map_err(Problem::store)?;
    Ok(Json(DecisionRecorded {
        document: doc.0,
        decision: verb.to_string(),
        state: recorded.as_str().to_string(),
    }))
}
