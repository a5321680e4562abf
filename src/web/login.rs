//! Signing in and out: the password, then the second factor when the user enrolled one (a
//! TOTP code or a recovery code), each step on a fresh session token. Attempts are recorded;
//! too many failures on an account or from an address hold further attempts for a while, before
//! any password is checked. The answer for an unknown address and for a wrong password is the
//! same, and takes as long.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::request::{client_ip, cookie, local_path};
use super::session::{self, cleared, form_is_from, with_cookie};
use super::views::{self, t};
use super::WebState;
use crate::approval::token::{nonce, same_secret};
use crate::store::users::{AuditLine, SessionStage, User};
use crate::users::throttle::{held_until, WINDOW};
use crate::users::totp::recovery_hash;
use crate::users::{Email, PasswordHash};

/// The cookie holding the sign-in form's nonce (a login CSRF guard: the form must come from us).
const LOGIN_CSRF_COOKIE: &str = "facteur_login_csrf";

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    next: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    csrf: Option<String>,
    next: Option<String>,
    code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

fn trouble(state: &WebState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "sign-in failed on the store");
    let l = state.lang;
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        views::message(
            l,
            t(l, "Something went wrong", "Un problème est survenu"),
            t(
                l,
                "Please try again in a moment.",
                "Réessayez dans un instant.",
            ),
            None,
        ),
    )
}

/// The password form with a fresh nonce in its cookie.
fn password_page(
    state: &WebState,
    next: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let csrf = nonce();
    let secure = if state.secure { "; Secure" } else { "" };
    let r = page(status, views::sign_in(state.lang, &csrf, next, error));
    match HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{secure}"
    )) {
        Ok(c) => with_cookie(r, c),
        Err(_) => r,
    }
}

/// GET `/login`.
pub async fn form(State(state): State<WebState>, Query(q): Query<Next>) -> Response {
    password_page(&state, &local_path(q.next.as_deref()), StatusCode::OK, None)
}

async fn audit(state: &WebState, actor: &str, action: &str, detail: &str, ip: &str, h: &HeaderMap) {
    let line = AuditLine {
        at: (state.clock)(),
        actor: actor.to_string(),
        action: action.to_string(),
        detail: detail.to_string(),
        ip: Some(ip.to_string()),
        user_agent: super::request::header_text(h, header::USER_AGENT),
    };
    if let Err(e) = state.store.audit_web(&line).await {
        tracing::error!(error = %e, "cannot audit a web action");
    }
}

/// Refuses when the account or the address failed too often lately: the page to answer.
async fn throttled(state: &WebState, email: &str, ip: &str) -> Result<Option<Response>, Response> {
    let now = (state.clock)();
    let (account, address) = state
        .store
        .sign_in_failures(email, Some(ip), now - WINDOW)
        .await
        .map_err(|e| trouble(state, e))?;
    Ok(held_until(&account, &address, now).map(|until| {
        let l = state.lang;
        let mins = (until - now).num_minutes() + 1;
        page(
            StatusCode::TOO_MANY_REQUESTS,
            views::message(
                l,
                t(l, "Too many attempts", "Trop de tentatives"),
                &match l {
                    crate::approval::Lang::En => {
                        format!("Too many failed sign-ins: try again in {mins} minute(s).")
                    }
                    crate::approval::Lang::Fr => {
                        format!("Trop de connexions échouées : réessayez dans {mins} minute(s).")
                    }
                },
                None,
            ),
        )
    }))
}

/// POST `/login`: the password.
pub async fn password(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let l = state.lang;
    let next = local_path(f.next.as_deref());
    let ip = client_ip(&headers, &peer);
    let from_form = match (cookie(&headers, LOGIN_CSRF_COOKIE), f.csrf.as_deref()) {
        (Some(c), Some(x)) => !c.is_empty() && same_secret(&c, x),
        _ => false,
    };
    if !from_form {
        let why = t(
            l,
            "The form expired: sign in again.",
            "Le formulaire a expiré : reconnectez-vous.",
        );
        return password_page(&state, &next, StatusCode::FORBIDDEN, Some(why));
    }
    let typed = f.email.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    match throttled(&state, &typed, &ip).await {
        Ok(Some(r)) => return r,
        Ok(None) => {}
        Err(r) => return r,
    }
    let user = match Email::parse(&typed) {
        Ok(e) => match state.store.user_by_email(&e).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => return trouble(&state, e),
        },
        Err(_) => None,
    };
    let candidate = f.password.as_deref().unwrap_or("");
    // The decoy keeps an unknown address as slow as a wrong password.
    let hash = user
        .as_ref()
        .map_or_else(PasswordHash::decoy, |u| u.password.clone());
    let right = tokio::task::spawn_blocking({
        let candidate = candidate.to_string();
        move || hash.verify(&candidate)
    })
    .await
    .unwrap_or(false);
    let now = (state.clock)();
    let Some(user) = user.filter(|_| right) else {
        if let Err(e) = state
            .store
            .record_sign_in(&typed, Some(&ip), false, "password", now)
            .await
        {
            return trouble(&state, e);
        }
        let why = t(
            l,
            "Wrong address or password.",
            "Adresse ou mot de passe incorrect.",
        );
        return password_page(&state, &next, StatusCode::UNAUTHORIZED, Some(why));
    };
    if user.totp.is_none() && state.require_2fa.contains(&user.role) {
        let _ = state
            .store
            .record_sign_in(&typed, Some(&ip), false, "no second factor", now)
            .await;
        return page(
            StatusCode::FORBIDDEN,
            views::message(
                l,
                t(l, "Second factor required", "Second facteur obligatoire"),
                t(l,
                  "Your role signs in with a second factor. Ask an administrator to enrol you (facteur users totp).",
                  "Votre rôle se connecte avec un second facteur. Demandez à un administrateur de vous enrôler (facteur users totp)."),
                None,
            ),
        );
    }
    let stage = if user.totp.is_some() {
        SessionStage::Password
    } else {
        SessionStage::SignedIn
    };
    let cookie = match session::open(&state, &headers, user.id, stage, &ip).await {
        Ok(c) => c,
        Err(e) => return trouble(&state, e),
    };
    let to = match stage {
        SessionStage::Password => {
            format!("/login/code?next={}", urlencode(&next))
        }
        SessionStage::SignedIn => {
            if let Err(e) = state
                .store
                .record_sign_in(&typed, Some(&ip), true, "password", now)
                .await
            {
                return trouble(&state, e);
            }
            audit(&state, &user.email, "sign_in", "password", &ip, &headers).await;
            next
        }
    };
    with_cookie(Redirect::to(&to).into_response(), cookie)
}

/// GET `/login/code`: the second-factor form, for a session past its password.
pub async fn code_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let next = local_path(q.next.as_deref());
    match session::current(&state, &headers).await {
        Some(s) if s.stage == SessionStage::Password => page(
            StatusCode::OK,
            views::second_factor(state.lang, &s.csrf, &next, None),
        ),
        _ => Redirect::to("/login").into_response(),
    }
}

/// POST `/login/code`: the second factor.
pub async fn code(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    let l = state.lang;
    let next = local_path(f.next.as_deref());
    let ip = client_ip(&headers, &peer);
    let Some(s) = session::current(&state, &headers)
        .await
        .filter(|s| s.stage == SessionStage::Password)
    else {
        return Redirect::to("/login").into_response();
    };
    if !form_is_from(&s, f.csrf.as_deref()) {
        return page(
            StatusCode::FORBIDDEN,
            views::second_factor(
                l,
                &s.csrf,
                &next,
                Some(t(l, "The form expired.", "Le formulaire a expiré.")),
            ),
        );
    }
    let email = s.user.email.clone();
    match throttled(&state, &email, &ip).await {
        Ok(Some(r)) => return r,
        Ok(None) => {}
        Err(r) => return r,
    }
    let now = (state.clock)();
    let typed = f.code.as_deref().unwrap_or("");
    let how = match second_factor(&state, &s.user, typed, now).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let Some(how) = how else {
        if let Err(e) = state
            .store
            .record_sign_in(&email, Some(&ip), false, "second factor", now)
            .await
        {
            return trouble(&state, e);
        }
        let why = t(
            l,
            "Wrong or already used code.",
            "Code incorrect ou déjà utilisé.",
        );
        return page(
            StatusCode::UNAUTHORIZED,
            views::second_factor(l, &s.csrf, &next, Some(why)),
        );
    };
    let cookie = match session::open(&state, &headers, s.user.id, SessionStage::SignedIn, &ip).await
    {
        Ok(c) => c,
        Err(e) => return trouble(&state, e),
    };
    if let Err(e) = state
        .store
        .record_sign_in(&email, Some(&ip), true, how, now)
        .await
    {
        return trouble(&state, e);
    }
    audit(&state, &email, "sign_in", how, &ip, &headers).await;
    with_cookie(Redirect::to(&next).into_response(), cookie)
}

/// Checks a TOTP code (marking its step used) or a recovery code (using it up): which it was.
async fn second_factor(
    state: &WebState,
    user: &User,
    typed: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<&'static str>, Response> {
    let Some(secret) = &user.totp else {
        return Ok(None);
    };
    let unix = now.timestamp().max(0) as u64;
    if let Some(step) = secret.check(typed, unix, user.totp_last_step) {
        return match state.store.use_totp_step(user.id, step).await {
            Ok(true) => Ok(Some("totp")),
            Ok(false) => Ok(None),
            Err(e) => Err(trouble(state, e)),
        };
    }
    if typed.trim().len() >= 10 {
        return match state
            .store
            .use_recovery_code(user.id, &recovery_hash(typed))
            .await
        {
            Ok(true) => Ok(Some("recovery code")),
            Ok(false) => Ok(None),
            Err(e) => Err(trouble(state, e)),
        };
    }
    Ok(None)
}

/// POST `/logout`.
pub async fn logout(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(s) = session::current(&state, &headers).await {
        if !form_is_from(&s, f.csrf.as_deref()) {
            return StatusCode::FORBIDDEN.into_response();
        }
        if let Err(e) = session::end(&state, &headers).await {
            return trouble(&state, e);
        }
        let ip = client_ip(&headers, &peer);
        audit(&state, &s.user.email, "sign_out", "", &ip, &headers).await;
    }
    with_cookie(Redirect::to("/login").into_response(), cleared())
}

/// Percent-encodes a path for a query string.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
