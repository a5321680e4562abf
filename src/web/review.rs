//! A document in the dashboard: the original beside what was read (each field with its
//! confidence), the duplicate evidence, the history, and, for a role that may review, the
//! decisions of `facteur review` (correct, accept, reject, not a duplicate) through the same
//! guarded store calls. Every decision is authorised here, carries the session's nonce, and is
//! audited.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::request::{client_ip, header_text};
use super::session::{form_is_from, signed_in};
use super::views::{self, t};
use super::WebState;
use crate::domain::correction::prepare;
use crate::domain::{DocumentId, DocumentState};
use crate::store::review::Decision;
use crate::store::users::{AuditLine, Session};
use crate::store::StoreError;
use crate::users::Action;

/// The review form: the action pressed, why, corrections one `field=value` a line.
#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    csrf: Option<String>,
    action: Option<String>,
    /// The state the person saw: the decision applies only if the document is still there.
    seen: Option<String>,
    reason: Option<String>,
    fields: Option<String>,
}

fn denied(state: &WebState, who: &Session) -> Response {
    let l = state.lang;
    (
        StatusCode::FORBIDDEN,
        Html(views::message(
            l,
            t(l, "Not allowed", "Non autorisé"),
            t(
                l,
                "Your role may not do this.",
                "Votre rôle ne le permet pas.",
            ),
            Some(who),
        )),
    )
        .into_response()
}

fn failed(e: StoreError) -> Response {
    tracing::error!(error = %e, "a review page failed on the store");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// GET `/documents/{id}`.
pub async fn page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let Some(who) = signed_in(&state, &headers).await else {
        return Redirect::to(&format!("/login?next=/documents/{id}")).into_response();
    };
    show(&state, &who, DocumentId(id), None, StatusCode::OK).await
}

async fn show(
    state: &WebState,
    who: &Session,
    id: DocumentId,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let doc = match state.store.document(id).await {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed(e),
    };
    let may_review = who.user.role.may(Action::Review);
    let mut r = (
        status,
        Html(views::document(state.lang, who, &doc, may_review, notice)),
    )
        .into_response();
    // The original is shown in a frame of this page, from this server only.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    r
}

/// GET `/documents/{id}/original`: the bytes as received, for the frame of the review page.
pub async fn original(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if signed_in(&state, &headers).await.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let bytes = match state.store.document_bytes(DocumentId(id)).await {
        Ok(b) => b,
        Err(StoreError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed(e),
    };
    let kind = match bytes.get(..4) {
        Some(b"%PDF") => "application/pdf",
        Some([0x89, b'P', b'N', b'G']) => "image/png",
        Some([0xFF, 0xD8, 0xFF, _]) => "image/jpeg",
        Some(b"II*\0" | b"MM\0*") => "image/tiff",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'self'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}

/// POST `/documents/{id}/review`: a person's decision or correction.
pub async fn decide(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ReviewForm>,
) -> Response {
    let Some(who) = signed_in(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !form_is_from(&who, f.csrf.as_deref()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if !who.user.role.may(Action::Review) {
        return denied(&state, &who);
    }
    let id = DocumentId(id);
    let Some(seen) = f
        .seen
        .as_deref()
        .and_then(|s| s.parse::<DocumentState>().ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let by = who.user.email.clone();
    let reason = f.reason.unwrap_or_default();
    let action = f.action.unwrap_or_default();
    let built = crate::stages::BUILT;
    let outcome: Result<DocumentState, String> = match action.as_str() {
        "correct" => {
            let lines: Vec<String> = f
                .fields
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            match correct(&state, id, seen, &lines, &by).await {
                Ok(s) => Ok(s),
                Err(e) => Err(e),
            }
        }
        "accept" | "reject" | "not-duplicate" => {
            let decision = match action.as_str() {
                "accept" => Decision::Accept,
                "reject" => Decision::Reject,
                _ => Decision::NotDuplicate,
            };
            if reason.trim().is_empty() {
                Err(t(state.lang, "Say why.", "Indiquez pourquoi.").to_string())
            } else {
                state
                    .store
                    .review_decide(id, seen, decision, &by, &reason, built)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    let (notice, status) = match &outcome {
        Ok(to) => (format!("{seen} → {to}"), StatusCode::OK),
        Err(e) => (e.clone(), StatusCode::UNPROCESSABLE_ENTITY),
    };
    if outcome.is_ok() {
        let line = AuditLine {
            at: (state.clock)(),
            actor: by,
            action: format!("review {action}"),
            detail: format!("document {id}: {notice}; {reason}"),
            ip: Some(client_ip(&headers, &peer)),
            user_agent: header_text(&headers, header::USER_AGENT),
        };
        if let Err(e) = state.store.audit_web(&line).await {
            return failed(e);
        }
    }
    show(&state, &who, id, Some(&notice), status).await
}

async fn correct(
    state: &WebState,
    id: DocumentId,
    seen: DocumentState,
    lines: &[String],
    by: &str,
) -> Result<DocumentState, String> {
    if lines.is_empty() {
        return Err("write one field=value a line, e.g. total_gross=1481.40".into());
    }
    let doc = state.store.document(id).await.map_err(|e| e.to_string())?;
    let x = doc
        .extraction
        .ok_or_else(|| format!("document {id} has no reading to correct"))?;
    let (corrected, hints) = prepare(x, lines, false, state.review_threshold)?;
    state
        .store
        .review_correct(
            id,
            seen,
            &corrected,
            &hints,
            by,
            &lines.join(", "),
            crate::stages::BUILT,
        )
        .await
        .map_err(|e| e.to_string())
}
