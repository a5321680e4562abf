//! The dashboard's approvals page, `/approvals`: what waits for the signed-in person (as
//! approver or as a delegate), each invoice with a one-click approve or reject and an optional
//! comment. A decision is the emailed link's own (`store::approvals`, by the request's id and
//! the signed-in address, through its newest link): the step's turn, segregation of duties, an
//! expired or changed request and a decision already made answer exactly as a link does; the
//! `web.login_above` rule is met by construction (the approver is signed in). Only a role that
//! may decide sees the page or posts to it; every decision carries the session's nonce and is
//! audited twice: in the approval audit (by the store) and in the web audit.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::access;
use super::request::{client_ip, header_text};
use super::views::{layout, t};
use super::WebState;
use crate::approval::Lang;
use crate::store::approvals::{Decision, DecisionInput, DecisionOutcome, LinkView};
use crate::store::users::Session;
use crate::users::Action;

/// Longest comment kept (as on a link's page).
const MAX_COMMENT_CHARS: usize = 2000;

/// The form of one invoice: the button pressed and the comment.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    csrf: Option<String>,
    decision: Option<String>,
    comment: Option<String>,
}

/// GET `/approvals`.
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let who = match access::page(&state, &headers, Action::Decide, "/approvals").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show(&state, &who, None, StatusCode::OK).await
}

async fn show(
    state: &WebState,
    who: &Session,
    notice: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    match state.store.approvals_waiting(&who.user.email).await {
        Ok(waiting) => (status, Html(render(state.lang, who, &waiting, notice))).into_response(),
        Err(e) => access::failed(state, "cannot read the approvals waiting", e),
    }
}

fn amount(v: &LinkView) -> String {
    match (v.summary.total_gross, &v.summary.currency) {
        (Some(g), Some(c)) => format!("{g} {c}"),
        (Some(g), None) => g.to_string(),
        _ => "?".into(),
    }
}

fn render(l: Lang, who: &Session, waiting: &[LinkView], notice: Option<(bool, String)>) -> String {
    let body = html! {
        @if let Some((ok, n)) = &notice {
            @if *ok { p.ok { (n) } } @else { p.err { (n) } }
        }
        p { (waiting.len()) " " (t(l, "invoice(s) wait for your decision.", "facture(s) attendent votre décision.")) }
        @for v in waiting {
            @let s = &v.summary;
            div.card id={ "request-" (v.request_id) } {
                h2 {
                    a href={ "/documents/" (s.id) } {
                        (s.supplier_name.as_deref().unwrap_or("?")) " — " (s.invoice_number.as_deref().unwrap_or("?"))
                    }
                }
                table {
                    tr { th { (t(l, "Amount (gross)", "Montant TTC")) } td.n { (amount(v)) } }
                    tr { th { (t(l, "Due date", "Échéance")) } td { (v.due_date.map(|d| d.to_string()).unwrap_or_else(|| "?".into())) } }
                    tr { th { (t(l, "Step", "Étape")) } td { (v.step + 1) " / " (v.steps) " (" (v.rule) ")" } }
                    @if let Some(absent) = &v.on_behalf_of {
                        tr { th { (t(l, "On behalf of", "Pour le compte de")) } td { (absent) } }
                    }
                    tr { th { (t(l, "Link valid until", "Lien valable jusqu'au")) } td { (v.expires_at.format("%Y-%m-%d %H:%M UTC")) } }
                }
                @if v.changed {
                    p.err { (t(l, "The invoice changed since it was sent for approval: deciding asks again.", "La facture a changé depuis la demande : décider la redemande.")) }
                }
                @for w in &v.warnings {
                    p.err { strong { (t(l, "Possible duplicate, cleared: ", "Doublon possible, levé : ")) } (w) }
                }
                form method="post" action={ "/approvals/" (v.request_id) } {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label for={ "comment-" (v.request_id) } { (t(l, "Comment (optional)", "Commentaire (facultatif)")) }
                    textarea id={ "comment-" (v.request_id) } name="comment" maxlength="2000" rows="2" {}
                    p {
                        button.approve type="submit" name="decision" value="approve" { (t(l, "Approve", "Approuver")) }
                        " "
                        button.reject type="submit" name="decision" value="reject" { (t(l, "Reject", "Rejeter")) }
                    }
                }
            }
        }
    };
    layout(l, t(l, "Approvals", "Approbations"), Some(who), body)
}

/// What a decision's outcome tells the person, and the status it answers with.
fn outcome_notice(l: Lang, doc: Option<i64>, o: &DecisionOutcome) -> (bool, String, StatusCode) {
    let of = doc
        .map(|d| format!(" ({} {d})", t(l, "document", "document")))
        .unwrap_or_default();
    match o {
        DecisionOutcome::Recorded { state } => (
            true,
            format!(
                "{}{of}: {state}.",
                t(l, "Decision recorded", "Décision enregistrée")
            ),
            StatusCode::OK,
        ),
        DecisionOutcome::AlreadyDecided { decision, at } => (
            true,
            format!(
                "{}{of}: {} {}.",
                t(l, "Already decided", "Déjà décidé"),
                decision.as_str(),
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            StatusCode::OK,
        ),
        DecisionOutcome::Closed { state } => (
            false,
            format!(
                "{}{of}: {state}.",
                t(
                    l,
                    "This invoice no longer waits for approval",
                    "Cette facture n'attend plus d'approbation"
                )
            ),
            StatusCode::CONFLICT,
        ),
        DecisionOutcome::Changed => (
            false,
            format!(
                "{}{of}.",
                t(
                    l,
                    "The invoice changed since approval was asked: a new request is sent",
                    "La facture a changé depuis la demande : une nouvelle demande est envoyée"
                )
            ),
            StatusCode::CONFLICT,
        ),
        DecisionOutcome::Expired => (
            false,
            format!(
                "{}{of}.",
                t(
                    l,
                    "This request has expired: ask accounts payable for a new one",
                    "Cette demande a expiré : demandez-en une nouvelle à la comptabilité"
                )
            ),
            StatusCode::GONE,
        ),
        DecisionOutcome::Unknown => (
            false,
            t(
                l,
                "No such request waits for you.",
                "Aucune demande de ce numéro ne vous attend.",
            )
            .to_string(),
            StatusCode::NOT_FOUND,
        ),
        DecisionOutcome::Refused(why) => (
            false,
            format!(
                "{}{of}: {why}",
                t(
                    l,
                    "You cannot approve this invoice",
                    "Vous ne pouvez pas approuver cette facture"
                )
            ),
            StatusCode::FORBIDDEN,
        ),
    }
}

/// POST `/approvals/{request}`: approve or reject one request.
pub async fn decide(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(request): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::Decide, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(decision) = f.decision.as_deref().and_then(Decision::parse) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    // The document, for the notice and the audit: the request is looked up again in the
    // decision's transaction, which alone decides.
    let doc = match state.store.approvals_waiting(&who.user.email).await {
        Ok(w) => w
            .iter()
            .find(|v| v.request_id == request)
            .map(|v| v.summary.id.0),
        Err(e) => return access::failed(&state, "cannot read the approvals waiting", e),
    };
    let input = DecisionInput {
        token_hash: String::new(),
        decision,
        comment: f
            .comment
            .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect()),
        ip: Some(client_ip(&headers, &peer)),
        user_agent: header_text(&headers, header::USER_AGENT),
        now: (state.clock)(),
    };
    let outcome = match state
        .store
        .approval_decide_request(request, &who.user.email, &input, crate::stages::BUILT)
        .await
    {
        Ok(o) => o,
        Err(e) => return access::failed(&state, "cannot record an approval decision", e),
    };
    let (ok, notice, status) = outcome_notice(state.lang, doc, &outcome);
    if matches!(
        outcome,
        DecisionOutcome::Recorded { .. } | DecisionOutcome::Refused(_)
    ) {
        let detail = format!(
            "request {request}, document {}: {notice}",
            doc.map_or_else(|| "?".to_string(), |d| d.to_string())
        );
        let action = match (&outcome, decision) {
            (DecisionOutcome::Refused(_), _) => "approval refused",
            (_, Decision::Approve) => "approval approve",
            (_, Decision::Reject) => "approval reject",
        };
        if let Err(r) = access::audit(&state, &who, action, detail, &headers, &peer).await {
            return r;
        }
    }
    tracing::info!(
        request,
        decision = decision.as_str(),
        ?outcome,
        "dashboard approval decision"
    );
    show(&state, &who, Some((ok, notice)), status).await
}
