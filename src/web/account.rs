//! `/account`: the signed-in person's own account. They enrol a second factor in the browser
//! (what `facteur users totp` does in a terminal): a fresh secret shown as a QR code drawn on the
//! server (SVG) and as text, made active only once a code from the app confirms it, then ten
//! recovery codes shown this once (the store keeps their hashes). Replacing an active factor
//! asks for the password too, so a browser left signed in cannot move the factor to another
//! phone. They also change their own password (the current one first). Every change carries the
//! session's nonce and is audited; a failed attempt is audited as well.
//!
//! The pending secret travels in the enrolment form's hidden field: it is on the page anyway,
//! and it binds nothing until the server has checked a code against it, so no half-enrolled
//! state is kept anywhere.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::access;
use super::views::{layout, t};
use super::WebState;
use crate::approval::Lang;
use crate::store::users::{Session, UserChange};
use crate::users::totp::{qr_svg, recovery_codes, recovery_hash, TotpSecret};
use crate::users::{Action, Email, Password};

/// POST `/account/totp`.
#[derive(Debug, Default, Deserialize)]
pub struct TotpForm {
    csrf: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    password: Option<String>,
}

/// POST `/account/password`.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current: Option<String>,
    new: Option<String>,
    again: Option<String>,
}

/// What the page says above its forms.
enum Notice {
    Ok(String),
    Err(String),
    /// The factor is active: the recovery codes, shown once.
    Enrolled(Vec<String>),
}

/// GET `/account`.
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let who = match access::page(&state, &headers, Action::View, "/account").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &who, &TotpSecret::generate(), None, StatusCode::OK)
}

fn render(
    state: &WebState,
    who: &Session,
    pending: &TotpSecret,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let l = state.lang;
    let uri = match pending.uri(&who.user.email) {
        Ok(u) => u,
        Err(e) => return access::failed(state, "cannot make a TOTP URI", e),
    };
    let qr = match qr_svg(&uri) {
        Ok(q) => q,
        Err(e) => return access::failed(state, "cannot draw a QR code", e),
    };
    let enrolled_now = matches!(notice, Some(Notice::Enrolled(_)));
    let body = html! {
        @match &notice {
            Some(Notice::Ok(n)) => { p.ok { (n) } }
            Some(Notice::Err(n)) => { p.err { (n) } }
            Some(Notice::Enrolled(codes)) => { (recovery(l, codes)) }
            None => {}
        }
        table {
            tr { th { (t(l, "Email", "Adresse e-mail")) } td { (who.user.email) } }
            tr { th { (t(l, "Role", "Rôle")) } td { (who.user.role) } }
            tr { th { (t(l, "Second factor", "Second facteur")) } td #totp-state {
                @if who.user.totp.is_some() || enrolled_now { (t(l, "active", "actif")) } @else { (t(l, "none", "aucun")) }
            } }
        }
        @if !enrolled_now {
            (enrol_form(l, who, pending, &qr))
        }
        (password_form(l, who))
    };
    (
        status,
        Html(layout(l, t(l, "My account", "Mon compte"), Some(who), body)),
    )
        .into_response()
}

fn recovery(l: Lang, codes: &[String]) -> Markup {
    html! {
        div.ok #recovery {
            p { b { (t(l, "The second factor is active.", "Le second facteur est actif.")) } }
            p { (t(l, "Your recovery codes: each works once instead of a code from the app. Keep them apart from the phone; they are not shown again.",
                    "Vos codes de secours : chacun remplace une fois un code de l'application. Gardez-les loin du téléphone ; ils ne seront plus affichés.")) }
            ul.secret { @for c in codes { li { (c) } } }
        }
    }
}

fn enrol_form(l: Lang, who: &Session, pending: &TotpSecret, qr: &str) -> Markup {
    let replacing = who.user.totp.is_some();
    let steps = html! {
        p { (t(l, "Scan the code with an authenticator app (or type the secret), then type the 6-digit code it shows.",
                "Scannez le code avec une application d'authentification (ou saisissez la clé), puis saisissez le code à 6 chiffres affiché.")) }
        div.qr #totp-qr { (PreEscaped(qr)) }
        p { (t(l, "Secret: ", "Clé : ")) span.secret #totp-secret { (pending.to_base32()) } }
        form.narrow method="post" action="/account/totp" {
            input type="hidden" name="csrf" value=(who.csrf);
            input type="hidden" name="secret" value=(pending.to_base32());
            label for="totp-code" { (t(l, "Code from the app", "Code de l'application")) }
            input #totp-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
            @if replacing {
                label for="totp-password" { (t(l, "Your password", "Votre mot de passe")) }
                input #totp-password type="password" name="password" autocomplete="current-password" required;
            }
            button type="submit" { (t(l, "Confirm and activate", "Confirmer et activer")) }
        }
    };
    // With a factor active, the new secret stays folded away until asked for (a screen seen
    // over a shoulder shows no secret).
    html! {
        @if replacing {
            details #totp-replace {
                summary { (t(l, "Replace the second factor (a new phone)", "Remplacer le second facteur (nouveau téléphone)")) }
                (steps)
            }
        } @else {
            h2 { (t(l, "Enrol a second factor", "Activer un second facteur")) }
            (steps)
        }
    }
}

fn password_form(l: Lang, who: &Session) -> Markup {
    html! {
        h2 { (t(l, "Change my password", "Changer mon mot de passe")) }
        form.narrow method="post" action="/account/password" {
            input type="hidden" name="csrf" value=(who.csrf);
            label for="current" { (t(l, "Current password", "Mot de passe actuel")) }
            input #current type="password" name="current" autocomplete="current-password" required;
            label for="new" { (t(l, "New password (12 characters or more)", "Nouveau mot de passe (12 caractères ou plus)")) }
            input #new type="password" name="new" autocomplete="new-password" required minlength="12";
            label for="again" { (t(l, "New password again", "Nouveau mot de passe, à nouveau")) }
            input #again type="password" name="again" autocomplete="new-password" required minlength="12";
            button type="submit" { (t(l, "Change the password", "Changer le mot de passe")) }
        }
    }
}

/// Whether `candidate` is `who`'s password (Argon2 off the async threads).
async fn password_is(who: &Session, candidate: Option<&str>) -> bool {
    let Some(candidate) = candidate.map(str::to_string) else {
        return false;
    };
    let hash = who.user.password.clone();
    tokio::task::spawn_blocking(move || hash.verify(&candidate))
        .await
        .unwrap_or(false)
}

/// POST `/account/totp`: confirm the pending secret with a code and make it active.
pub async fn totp(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<TotpForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::View, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = state.lang;
    let Some(pending) = f
        .secret
        .as_deref()
        .and_then(|s| TotpSecret::from_base32(s).ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let unix = (state.clock)().timestamp().max(0) as u64;
    let checked = if who.user.totp.is_some() && !password_is(&who, f.password.as_deref()).await {
        Err(t(
            l,
            "The password is not right: the second factor was not replaced.",
            "Le mot de passe n'est pas le bon : le second facteur n'a pas été remplacé.",
        ))
    } else {
        pending
            .check(f.code.as_deref().unwrap_or(""), unix, None)
            .ok_or(t(
                l,
                "That code does not match: check the phone's clock and type the code now shown (6 digits).",
                "Ce code ne correspond pas : vérifiez l'heure du téléphone et saisissez le code affiché maintenant (6 chiffres).",
            ))
    };
    let step = match checked {
        Ok(step) => step,
        Err(why) => {
            let line = format!("refused: {why}");
            if let Err(r) = access::audit(&state, &who, "account totp", line, &headers, &peer).await
            {
                return r;
            }
            let notice = Some(Notice::Err(why.to_string()));
            return render(
                &state,
                &who,
                &pending,
                notice,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let codes = recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    let enrolled = async {
        state
            .store
            .enrol_totp(who.user.id, &pending, &hashes)
            .await?;
        // The confirming code is spent: it cannot sign anyone in a second time.
        state.store.use_totp_step(who.user.id, step).await
    };
    if let Err(e) = enrolled.await {
        return access::failed(&state, "cannot enrol a second factor", e);
    }
    let what = if who.user.totp.is_some() {
        "replaced"
    } else {
        "enrolled"
    };
    if let Err(r) = access::audit(
        &state,
        &who,
        "account totp",
        format!("second factor {what}; {} recovery codes", codes.len()),
        &headers,
        &peer,
    )
    .await
    {
        return r;
    }
    render(
        &state,
        &who,
        &pending,
        Some(Notice::Enrolled(codes)),
        StatusCode::OK,
    )
}

/// POST `/account/password`: the current password, then the new one twice.
pub async fn password(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::View, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = state.lang;
    let checked: Result<Password, String> = if !password_is(&who, f.current.as_deref()).await {
        Err(t(
            l,
            "The current password is not right: nothing was changed.",
            "Le mot de passe actuel n'est pas le bon : rien n'a été modifié.",
        )
        .into())
    } else if f.new != f.again {
        Err(t(
            l,
            "The two new passwords differ: nothing was changed.",
            "Les deux nouveaux mots de passe diffèrent : rien n'a été modifié.",
        )
        .into())
    } else {
        Password::parse(f.new.as_deref().unwrap_or(""))
    };
    let (notice, status, line) = match checked {
        Err(why) => (
            Notice::Err(why.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("refused: {why}"),
        ),
        Ok(p) => {
            let hash = match tokio::task::spawn_blocking(move || p.hash()).await {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => return access::failed(&state, "cannot hash a password", e),
                Err(e) => return access::failed(&state, "cannot hash a password", e),
            };
            let email = match Email::parse(&who.user.email) {
                Ok(e) => e,
                Err(e) => return access::failed(&state, "a stored address does not parse", e),
            };
            let change = UserChange {
                password: Some(hash),
                ..UserChange::default()
            };
            if let Err(e) = state.store.update_user(&email, &change).await {
                return access::failed(&state, "cannot change a password", e);
            }
            (
                Notice::Ok(
                    t(
                        l,
                        "Your password is changed.",
                        "Votre mot de passe est changé.",
                    )
                    .into(),
                ),
                StatusCode::OK,
                "password changed".to_string(),
            )
        }
    };
    if let Err(r) = access::audit(&state, &who, "account password", line, &headers, &peer).await {
        return r;
    }
    render(&state, &who, &TotpSecret::generate(), Some(notice), status)
}
