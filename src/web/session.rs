//! Signed-in browsers. The session cookie holds a 256-bit random token (the store keeps its
//! SHA-256), `HttpOnly`, `SameSite=Lax`, `Secure` when the public URL is https. A new token is
//! issued at every step of a sign-in (password, then second factor), so a token planted before
//! the sign-in never becomes a signed-in session (session fixation). Every form of a session
//! carries the session's own CSRF nonce.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use chrono::Duration;

use super::request::cookie;
use super::WebState;
use crate::approval::token::{self, parse_and_hash, same_secret};
use crate::store::users::{NewSession, Session, SessionStage};
use crate::store::StoreError;

pub const SESSION_COOKIE: &str = "facteur_session";
/// How long a signed-in session lasts.
pub const SIGNED_IN_HOURS: i64 = 12;
/// How long the second factor may take after the password.
pub const SECOND_FACTOR_MINUTES: i64 = 5;

/// The session the request's cookie names, live now, if any.
pub async fn current(state: &WebState, headers: &HeaderMap) -> Option<Session> {
    let hash = parse_and_hash(&cookie(headers, SESSION_COOKIE)?)?;
    match state.store.session(&hash, (state.clock)()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a session");
            None
        }
    }
}

/// The signed-in session of the request (second factor done), if any.
pub async fn signed_in(state: &WebState, headers: &HeaderMap) -> Option<Session> {
    current(state, headers)
        .await
        .filter(|s| s.stage == SessionStage::SignedIn)
}

/// Whether `csrf` (a form's hidden field) is the session's nonce.
pub fn form_is_from(session: &Session, csrf: Option<&str>) -> bool {
    csrf.is_some_and(|c| !c.is_empty() && same_secret(c, &session.csrf))
}

/// Opens a session at `stage` for `user`, ending the one the request carried; returns the
/// cookie to set.
pub async fn open(
    state: &WebState,
    headers: &HeaderMap,
    user: i64,
    stage: SessionStage,
    ip: &str,
) -> Result<HeaderValue, StoreError> {
    end(state, headers).await?;
    let (text, hash) = token::generate();
    let lasts = match stage {
        SessionStage::Password => Duration::minutes(SECOND_FACTOR_MINUTES),
        SessionStage::SignedIn => Duration::hours(SIGNED_IN_HOURS),
    };
    state
        .store
        .open_session(&NewSession {
            token_hash: hash,
            user,
            stage,
            csrf: token::nonce(),
            expires_at: (state.clock)() + lasts,
            ip: Some(ip.to_string()),
            user_agent: super::request::header_text(headers, header::USER_AGENT),
        })
        .await?;
    let secure = if state.secure { "; Secure" } else { "" };
    let max_age = lasts.num_seconds();
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={text}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| StoreError::Invalid(format!("session cookie: {e}")))
}

/// Ends the session the request carries, if any.
pub async fn end(state: &WebState, headers: &HeaderMap) -> Result<(), StoreError> {
    if let Some(hash) = cookie(headers, SESSION_COOKIE).and_then(|t| parse_and_hash(&t)) {
        state.store.end_session(&hash).await?;
    }
    Ok(())
}

/// Sets a cookie on a response.
pub fn with_cookie(mut r: Response, cookie: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

/// The header that removes the session cookie.
pub fn cleared() -> HeaderValue {
    HeaderValue::from_static("facteur_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
