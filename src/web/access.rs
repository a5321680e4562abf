//! What every dashboard page of the approvals, ledger and reports modules does first: find the
//! signed-in session and check the role may do what the request asks (`Role::may`), on the
//! server, for a page (GET: sent to sign in, 403 for a role that may not) and for a form (POST:
//! 401 without a session, 403 without the session's nonce or for a role that may not); and write
//! what a person did to the web audit (who, when, what, from where).

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::request::{client_ip, header_text};
use super::session::{form_is_from, signed_in};
use super::views::{self, t};
use super::WebState;
use crate::store::users::{AuditLine, Session};
use crate::users::Action;

/// 403: the role may not.
pub fn denied(state: &WebState, who: &Session) -> Response {
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

/// 500 after a store failure, logged with what failed.
pub fn failed(state: &WebState, what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what}");
    let l = state.lang;
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(views::message(
            l,
            t(l, "Something went wrong", "Un problème est survenu"),
            t(
                l,
                "Nothing was changed; please try again in a moment.",
                "Rien n'a été modifié ; réessayez dans un instant.",
            ),
            None,
        )),
    )
        .into_response()
}

/// The session of a page request whose role may `action`; `here` is where the sign-in brings
/// the person back.
pub async fn page(
    state: &WebState,
    headers: &HeaderMap,
    action: Action,
    here: &str,
) -> Result<Session, Response> {
    let Some(who) = signed_in(state, headers).await else {
        return Err(Redirect::to(&format!("/login?next={here}")).into_response());
    };
    if !who.user.role.may(action) {
        return Err(denied(state, &who));
    }
    Ok(who)
}

/// The session of a posted form that carries the session's nonce, whose role may `action`.
pub async fn form(
    state: &WebState,
    headers: &HeaderMap,
    action: Action,
    csrf: Option<&str>,
) -> Result<Session, Response> {
    let Some(who) = signed_in(state, headers).await else {
        return Err(StatusCode::UNAUTHORIZED.into_response());
    };
    if !form_is_from(&who, csrf) {
        return Err(StatusCode::FORBIDDEN.into_response());
    }
    if !who.user.role.may(action) {
        return Err(denied(state, &who));
    }
    Ok(who)
}

/// One line of the web audit for `who`'s `action`.
pub async fn audit(
    state: &WebState,
    who: &Session,
    action: &str,
    detail: String,
    headers: &HeaderMap,
    peer: &SocketAddr,
) -> Result<(), Response> {
    let line = AuditLine {
        at: (state.clock)(),
        actor: who.user.email.clone(),
        action: action.to_string(),
        detail,
        ip: Some(client_ip(headers, peer)),
        user_agent: header_text(headers, header::USER_AGENT),
    };
    state
        .store
        .audit_web(&line)
        .await
        .map_err(|e| failed(state, "cannot audit a web action", e))
}
