//! The approval link handlers: GET (and HEAD) show a confirmation page and change nothing; POST
//! records the decision through the store's guarded, audited call. An unknown or forged token
//! is 404, an expired one 410, a changed invoice 409, a segregation-of-duties breach 403 — each
//! a plain page, none changing anything.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::pages::{self, Page};
use super::request::{client_ip, cookie, header_text};
use super::WebState;
use crate::approval::token::{nonce, parse_and_hash, same_secret};
use crate::domain::DocumentState;
use crate::store::approvals::{Decision, DecisionInput, DecisionOutcome, LinkView};

/// The cookie holding the page's nonce.
const CSRF_COOKIE: &str = "facteur_csrf";
/// Longest comment kept.
const MAX_COMMENT_CHARS: usize = 2000;

/// What the confirmation form posts.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    csrf: Option<String>,
    /// The pressed button's value: absent when a script submits the form.
    confirm: Option<String>,
    comment: Option<String>,
}

fn render(status: StatusCode, page: Page) -> Response {
    (status, axum::response::Html(page.render())).into_response()
}

fn not_found() -> Response {
    render(StatusCode::NOT_FOUND, pages::unknown())
}

/// The link's token hash and action, or None for anything that is not an approval link.
fn parse(token: &str, action: &str) -> Option<(String, Decision)> {
    Some((parse_and_hash(token)?, Decision::parse(action)?))
}

async fn view(state: &WebState, hash: &str) -> Result<Option<LinkView>, Response> {
    state.store.approval_link(hash).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read an approval link");
        render(StatusCode::INTERNAL_SERVER_ERROR, pages::trouble())
    })
}

/// GET/HEAD `/approval/{token}/{action}`: the confirmation page.
pub async fn confirm(
    State(state): State<WebState>,
    Path((token, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((hash, decision)) = parse(&token, &action) else {
        return not_found();
    };
    let v = match view(&state, &hash).await {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(),
        Err(r) => return r,
    };
    if let Some(r) = settled(&state, &v, true) {
        return r;
    }
    if let Some(r) = sign_in_first(&state, &headers, &v, &token, decision).await {
        return r;
    }
    let csrf = nonce();
    let page = pages::confirm(&v, decision, &token, &csrf);
    let mut response = render(StatusCode::OK, page);
    let cookie = format!(
        "{CSRF_COOKIE}={csrf}; Path=/approval/{token}; HttpOnly; SameSite=Strict{}",
        if state.secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The answer for a link that can no longer decide anything, if it cannot. A changed invoice is
/// answered here for a page (`changed_too`); a posted decision goes on to the store, which
/// resets the approvals and asks again.
fn settled(state: &WebState, v: &LinkView, changed_too: bool) -> Option<Response> {
    if let Some((d, at)) = v.decided {
        return Some(render(StatusCode::OK, pages::already(v.lang, d, at)));
    }
    if v.expires_at <= (state.clock)() {
        return Some(render(StatusCode::GONE, pages::expired(v.lang)));
    }
    // Changed first: an invoice edited in approval is back in the checks for a moment, and
    // "changed, a new request is sent" is what the approver needs to know.
    if changed_too && v.changed {
        return Some(render(StatusCode::CONFLICT, pages::changed(v.lang)));
    }
    if v.summary.state != DocumentState::PendingApproval {
        return Some(render(
            StatusCode::OK,
            pages::closed(v.lang, v.summary.state),
        ));
    }
    None
}

/// At or above `web.login_above` (or with no amount read), a link decides only for its
/// approver signed in to the dashboard: anyone else is asked to sign in (401).
async fn sign_in_first(
    state: &WebState,
    headers: &HeaderMap,
    v: &LinkView,
    token: &str,
    decision: Decision,
) -> Option<Response> {
    let limit = state.login_above?;
    if v.summary.total_gross.is_some_and(|g| g < limit) {
        return None;
    }
    let me = super::session::signed_in(state, headers).await;
    if me.is_some_and(|s| s.user.email.eq_ignore_ascii_case(&v.approver)) {
        return None;
    }
    let next = format!("/approval/{token}/{}", decision.as_str());
    Some(render(
        StatusCode::UNAUTHORIZED,
        pages::sign_in_first(v.lang, &v.approver, &next),
    ))
}

/// POST `/approval/{token}/{action}`: the decision.
pub async fn decide(
    State(state): State<WebState>,
    Path((token, action)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let Some((hash, decision)) = parse(&token, &action) else {
        return not_found();
    };
    // An unknown, expired or settled link answers plainly whatever was posted; only a link that
    // can still decide has its form judged.
    let v = match view(&state, &hash).await {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(),
        Err(r) => return r,
    };
    if let Some(r) = settled(&state, &v, false) {
        return r;
    }
    if let Some(r) = sign_in_first(&state, &headers, &v, &token, decision).await {
        return r;
    }
    let lang = v.lang;
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let from_page = match (cookie(&headers, CSRF_COOKIE), form.csrf.as_deref()) {
        (Some(c), Some(f)) => !c.is_empty() && same_secret(&c, f),
        _ => false,
    };
    if !from_page || form.confirm.as_deref() != Some(decision.as_str()) {
        return render(StatusCode::FORBIDDEN, pages::use_the_button(lang));
    }
    let ip = client_ip(&headers, &peer);
    let input = DecisionInput {
        token_hash: hash.clone(),
        decision,
        comment: form
            .comment
            .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect()),
        ip: Some(ip),
        user_agent: header_text(&headers, header::USER_AGENT),
        now: (state.clock)(),
    };
    let built = crate::stages::BUILT;
    let outcome = match state.store.approval_decide(&input, built).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "cannot record an approval decision");
            return render(StatusCode::INTERNAL_SERVER_ERROR, pages::trouble());
        }
    };
    match outcome {
        DecisionOutcome::Recorded { state: s } => {
            tracing::info!(decision = decision.as_str(), state = %s, "approval decision recorded");
            render(StatusCode::OK, pages::recorded(lang, decision, s))
        }
        DecisionOutcome::AlreadyDecided { decision: d, at } => {
            render(StatusCode::OK, pages::already(lang, d, at))
        }
        DecisionOutcome::Closed { state: s } => render(StatusCode::OK, pages::closed(lang, s)),
        DecisionOutcome::Changed => render(StatusCode::CONFLICT, pages::changed(lang)),
        DecisionOutcome::Expired => render(StatusCode::GONE, pages::expired(lang)),
        DecisionOutcome::Unknown => not_found(),
        DecisionOutcome::Refused(why) => render(StatusCode::FORBIDDEN, pages::refused(lang, &why)),
    }
}

/// GET `/approval/{token}/document`: the invoice's original, for a valid link.
pub async fn document(State(state): State<WebState>, Path(token): Path<String>) -> Response {
    let Some(hash) = parse_and_hash(&token) else {
        return not_found();
    };
    let v = match view(&state, &hash).await {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(),
        Err(r) => return r,
    };
    if v.expires_at <= (state.clock)() {
        return render(StatusCode::GONE, pages::expired(v.lang));
    }
    let bytes = match state.store.blob(&v.content_hash).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a document for an approval link");
            return render(StatusCode::INTERNAL_SERVER_ERROR, pages::trouble());
        }
    };
    let kind = if bytes.starts_with(b"%PDF") {
        "application/pdf"
    } else {
        "application/octet-stream"
    };
    ([(header::CONTENT_TYPE, kind)], bytes).into_response()
}
