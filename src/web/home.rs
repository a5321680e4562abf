//! The inbox, the dashboard's first page: documents by state with their counts, then the
//! documents of the chosen state (or the newest). Any signed-in role may look; everyone else is
//! sent to the sign-in page, which brings them back here.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::signed_in;
use super::views;
use super::WebState;
use crate::domain::DocumentState;

/// Rows shown.
const ROWS: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct Filter {
    state: Option<String>,
}

/// GET `/`.
pub async fn inbox(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let Some(who) = signed_in(&state, &headers).await else {
        return Redirect::to("/login?next=/").into_response();
    };
    let chosen = f
        .state
        .as_deref()
        .and_then(|s| s.parse::<DocumentState>().ok());
    let (counts, docs) = match tokio::try_join!(
        state.store.counts(),
        state.store.list_documents(chosen, ROWS)
    ) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the inbox");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let chosen = chosen.map(|s| s.as_str());
    Html(views::inbox(state.lang, &who, &counts, chosen, &docs)).into_response()
}
