//! `/settings`, an admin's page: the sources and their health (the IMAP folders as `facteur
//! mail status` reports them, the queues and the outbox as `/metrics` does), the approval rules
//! loaded from the pipelines (read-only: they live in the pipeline files), and the users, which
//! an admin adds (a role and an initial password), changes (role), disables or enables, and
//! frees of a lost second factor (what `facteur users add|set` do). Only `Action::ManageUsers`
//! sees or posts; every change carries the session's nonce and is audited. An admin cannot
//! disable or demote their own account here, so the last admin cannot lock everyone out by a
//! slip of the mouse (the CLI still can).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::access;
use super::settings_view::{self, Health};
use super::views::t;
use super::WebState;
use crate::store::users::{Session, UserChange};
use crate::store::StoreError;
use crate::users::{Action, Email, Password, Role};

/// POST `/settings/users`.
#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    csrf: Option<String>,
    email: Option<String>,
    role: Option<String>,
    password: Option<String>,
}

/// POST `/settings/users/{id}`: `op` is `role` (with `role`), `disable`, `enable` or
/// `remove-totp`.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    csrf: Option<String>,
    op: Option<String>,
    role: Option<String>,
}

/// GET `/settings`.
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let who = match access::page(&state, &headers, Action::ManageUsers, "/settings").await {
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
    let read = async {
        let mail = state.store.mail_status().await?;
        let gauges = state.store.gauges((state.clock)()).await?;
        let users = state.store.users().await?;
        Ok::<_, StoreError>((mail, gauges, users))
    };
    match read.await {
        Ok((mail, gauges, users)) => {
            let health = Health {
                mail: crate::cli::mail::with_configured(mail, &state.settings),
                gauges,
            };
            let page =
                settings_view::render(state.lang, who, &state.settings, &health, &users, notice);
            (status, Html(page)).into_response()
        }
        Err(e) => access::failed(state, "cannot read the settings page", e),
    }
}

/// A refusal in words for people (nothing changed), or the store's trouble.
fn refusal(e: StoreError) -> Result<String, StoreError> {
    match e {
        StoreError::Conflict(why) | StoreError::Invalid(why) | StoreError::NotFound(why) => Ok(why),
        e => Err(e),
    }
}

/// Adds the user the form describes; the words of the notice.
async fn add(
    state: &WebState,
    f: &NewUserForm,
    by: &str,
) -> Result<Result<String, String>, StoreError> {
    let email = match Email::parse(f.email.as_deref().unwrap_or("")) {
        Ok(e) => e,
        Err(why) => return Ok(Err(why)),
    };
    let role = match Role::parse(f.role.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };
    let password = match Password::parse(f.password.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    let hash = match tokio::task::spawn_blocking(move || password.hash()).await {
        Ok(Ok(h)) => h,
        Ok(Err(why)) => return Err(StoreError::Invalid(why)),
        Err(e) => return Err(StoreError::Invalid(format!("hashing a password: {e}"))),
    };
    match state.store.add_user(&email, role, &hash, by).await {
        Ok(_) => {
            let l = state.lang;
            let mut text = format!(
                "{} {email} ({role})",
                t(l, "User added:", "Utilisateur ajouté :")
            );
            if state.require_2fa.contains(&role) {
                text.push_str(t(
                    l,
                    ". This role signs in with a second factor: enrol it with `facteur users totp`.",
                    ". Ce rôle se connecte avec un second facteur : enrôlez-le avec `facteur users totp`.",
                ));
            }
            Ok(Ok(text))
        }
        Err(e) => refusal(e).map(Err),
    }
}

/// POST `/settings/users`.
pub async fn add_user(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<NewUserForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::ManageUsers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let done = match add(&state, &f, &who.user.email).await {
        Ok(d) => d,
        Err(e) => return access::failed(&state, "cannot add a user", e),
    };
    finish(&state, &who, "users add", done, &headers, &peer).await
}

/// The change `op` asks for, checked; `Err` is a refusal for people.
fn change_of(
    state: &WebState,
    who: &Session,
    target: &Email,
    f: &ChangeForm,
) -> Result<(UserChange, &'static str), String> {
    let l = state.lang;
    let own = target.as_str() == who.user.email;
    let own_refused = || {
        t(
            l,
            "You cannot disable or demote your own account here: ask another admin.",
            "Vous ne pouvez pas désactiver ni rétrograder votre propre compte ici : demandez à un autre administrateur.",
        )
        .to_string()
    };
    match f.op.as_deref() {
        Some("role") => {
            let role = Role::parse(f.role.as_deref().unwrap_or(""))?;
            if own && role != who.user.role {
                return Err(own_refused());
            }
            Ok((
                UserChange {
                    role: Some(role),
                    ..UserChange::default()
                },
                "users role",
            ))
        }
        Some("disable") if own => Err(own_refused()),
        Some(op @ ("disable" | "enable")) => Ok((
            UserChange {
                disabled: Some(op == "disable"),
                ..UserChange::default()
            },
            if op == "disable" {
                "users disable"
            } else {
                "users enable"
            },
        )),
        Some("remove-totp") => Ok((
            UserChange {
                clear_totp: true,
                ..UserChange::default()
            },
            "users remove totp",
        )),
        _ => Err(t(l, "Unknown change.", "Modification inconnue.").to_string()),
    }
}

/// POST `/settings/users/{id}`.
pub async fn change_user(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ChangeForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::ManageUsers, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let user = match state.store.users().await {
        Ok(all) => all.into_iter().find(|u| u.id == id),
        Err(e) => return access::failed(&state, "cannot read the users", e),
    };
    let target = match user.map(|u| Email::parse(&u.email)) {
        Some(Ok(e)) => e,
        Some(Err(why)) => return access::failed(&state, "a stored address does not parse", why),
        None => {
            let why = format!(
                "{} {id}",
                t(state.lang, "No such user:", "Utilisateur inconnu :")
            );
            return finish(&state, &who, "users change", Err(why), &headers, &peer).await;
        }
    };
    let (change, action) = match change_of(&state, &who, &target, &f) {
        Ok(c) => c,
        Err(why) => {
            let why = format!("{target}: {why}");
            return finish(&state, &who, "users change", Err(why), &headers, &peer).await;
        }
    };
    let done = match state.store.update_user(&target, &change).await {
        Ok(()) => Ok(format!(
            "{} {target}: {action}{}",
            t(state.lang, "Changed", "Modifié"),
            change.role.map(|r| format!(" → {r}")).unwrap_or_default()
        )),
        Err(e) => match refusal(e) {
            Ok(why) => Err(why),
            Err(e) => return access::failed(&state, "cannot change a user", e),
        },
    };
    finish(&state, &who, action, done, &headers, &peer).await
}

/// Audits what was done (or refused) and shows the page with its notice.
async fn finish(
    state: &WebState,
    who: &Session,
    action: &str,
    done: Result<String, String>,
    headers: &HeaderMap,
    peer: &SocketAddr,
) -> Response {
    let (ok, notice, status) = match done {
        Ok(n) => (true, n, StatusCode::OK),
        Err(why) => (false, why, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let detail = if ok {
        notice.clone()
    } else {
        format!("refused: {notice}")
    };
    if let Err(r) = access::audit(state, who, action, detail, headers, peer).await {
        return r;
    }
    show(state, who, Some((ok, notice)), status).await
}
