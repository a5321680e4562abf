//! For the people who run facteur: `/ready` (the store answers, with its migrations applied:
//! every command applies them at start) and `/metrics` (Prometheus text, `crate::metrics`).
//! `/health` (the process answers) is in the router itself.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::WebState;

/// GET `/ready`: 200 when the store answers, 503 otherwise.
pub async fn ready(State(state): State<WebState>) -> Response {
    match state.store.counts().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer").into_response()
        }
    }
}

/// GET `/metrics`.
pub async fn metrics(State(state): State<WebState>) -> Response {
    match state.store.gauges((state.clock)()).await {
        Ok(g) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            crate::metrics::render(&g),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the store for /metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer").into_response()
        }
    }
}
