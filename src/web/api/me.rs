//! `GET /me`: who the token acts as, with which role and scope, and what that allows, so a
//! program can check its token before it tries.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Api;
use super::problem::{Problem, ProblemDetails};
use crate::users::api_token::Scope;
use crate::users::Action;

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(example = "daf@example.com")]
    pub email: String,
    /// viewer, approver, accountant or admin.
    pub role: String,
    /// The token's id, name and scope (`read` or `write`).
    pub token_id: i64,
    pub token_name: String,
    pub scope: String,
    /// What this token may do here: `read`, `upload`, `decide`, `export`.
    pub may: Vec<String>,
}

/// Who the token acts as.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn me(api: Api) -> Result<Json<Me>, Problem> {
    api.may(Scope::Read, Action::View)?;
    let may = [
        ("read", Scope::Read, Action::View),
        ("upload", Scope::Write, Action::Submit),
        ("decide", Scope::Write, Action::Decide),
        ("export", Scope::Write, Action::Book),
    ]
    .into_iter()
    .filter(|(_, scope, action)| api.may(*scope, *action).is_ok())
    .map(|(what, _, _)| what.to_string())
    .collect();
    let c = &api.0;
    Ok(Json(Me {
        email: c.user.email.clone(),
        role: c.user.role.to_string(),
        token_id: c.token_id,
        token_name: c.token_name.clone(),
        scope: c.scope.to_string(),
        may,
    }))
}
