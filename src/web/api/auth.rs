//! Who calls the API, from `Authorization: Bearer fct_…`, and what they may do: the token's user
//! acts with their role, never above the token's scope (a `read` token only reads). An unknown,
//! revoked or malformed token, or one whose user is disabled, is 401 and says no more; a role or
//! scope that does not allow the request is 403 and says which.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::problem::{Kind, Problem};
use crate::store::api::Caller;
use crate::users::api_token::{parse_and_hash, Scope};
use crate::users::{Action, Role};
use crate::web::WebState;

/// The authenticated caller of a request.
pub struct Api(pub Caller);

impl FromRequestParts<WebState> for Api {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Api, Problem> {
        let sent = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let Some(sent) = sent else {
            return Err(Problem::new(
                Kind::Unauthorized,
                "send an API token: Authorization: Bearer fct_… (make one with `facteur users token add`)",
                "envoyez un jeton d'API : Authorization: Bearer fct_… (créé par `facteur users token add`)",
            ));
        };
        let token = sent
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let unknown = || {
            Problem::new(
                Kind::Unauthorized,
                "this token is not valid (unknown, revoked, or its user is disabled)",
                "ce jeton n'est pas valable (inconnu, révoqué, ou son utilisateur est désactivé)",
            )
        };
        let Some(hash) = token.and_then(parse_and_hash) else {
            return Err(unknown());
        };
        match state.store.api_caller(&hash, (state.clock)()).await {
            Ok(Some(c)) => Ok(Api(c)),
            Ok(None) => Err(unknown()),
            Err(e) => Err(Problem::store(e)),
        }
    }
}

impl Api {
    /// Whether the caller may do `action`: the token's scope first (`Write` for anything that
    /// changes something), then the user's role.
    pub fn may(&self, scope: Scope, action: Action) -> Result<(), Problem> {
        let c = &self.0;
        if c.scope < scope {
            return Err(Problem::new(
                Kind::Forbidden,
                format!(
                    "token '{}' is read-only: this needs a token with --scope write",
                    c.token_name
                ),
                format!(
                    "le jeton « {} » est en lecture seule : il faut un jeton --scope write",
                    c.token_name
                ),
            ));
        }
        if !c.user.role.may(action) {
            let (en, fr) = needed(action);
            return Err(Problem::new(
                Kind::Forbidden,
                format!("the {} role may not do this: {en}", c.user.role),
                format!("le rôle {} ne le permet pas : {fr}", c.user.role),
            ));
        }
        Ok(())
    }

    pub fn email(&self) -> &str {
        &self.0.user.email
    }

    /// Who acted, for the audit: the user and the token.
    pub fn actor(&self) -> String {
        format!(
            "{} (API token {} '{}')",
            self.0.user.email, self.0.token_id, self.0.token_name
        )
    }
}

/// The lowest role that may do `action`, in words.
fn needed(action: Action) -> (String, String) {
    let lowest = Role::ALL
        .into_iter()
        .find(|r| r.may(action))
        .unwrap_or(Role::Admin);
    (
        format!("it takes the {lowest} role or above"),
        format!("il faut le rôle {lowest} ou au-dessus"),
    )
}
