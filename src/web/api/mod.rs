//! The REST API, JSON under `/api/v1` (issue 14), for programs: a token per user
//! (`Authorization: Bearer fct_…`, made by `facteur users token add`), acting with the user's role
//! and never above the token's scope. The OpenAPI 3 document is generated from the handlers and
//! their types (utoipa) and served at `/api/v1/openapi.json`; the router is built from the same
//! annotations (utoipa-axum), so a route cannot be served without being documented.
//!
//! | resource | routes | module |
//! |---|---|---|
//! | who calls, what they may do | — (an extractor) | `auth.rs` |
//! | RFC 9457 problem+json for every error, in English or French | — (a layer) | `problem.rs` |
//! | opaque, keyset pagination cursors | — | `cursor.rs` |
//! | JSON shapes: money as decimal strings with a currency | — | `types.rs` |
//! | documents: list, one with its fields, the original, upload | `/documents…` | `documents.rs` |
//! | approve / reject, through the emailed links' decision code | `/documents/{id}/approve…` | `decisions.rs` |
//! | ledger entries | `/ledger/entries` | `ledger.rs` |
//! | FEC and CSV exports | `/exports` | `exports.rs` |
//! | the caller | `/me` | `me.rs` |
//!
//! Every answer that is not a success is `application/problem+json`, unknown routes and wrong
//! methods under `/api/v1` included: `problem::render` turns whatever an extractor or axum
//! answered into one.

mod auth;
mod cursor;
mod decisions;
mod documents;
mod exports;
mod ledger;
mod me;
mod problem;
mod types;

use std::sync::LazyLock;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WebState;
use crate::config::CompanySettings;
use crate::stages::intake::IntakeSettings;

/// Largest upload accepted by `POST /api/v1/documents` (the rest of the server takes 16 KB).
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;

/// What the API needs from `facteur.toml` beyond the web section.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// The company: its SIREN names the FEC, its fiscal year bounds it.
    pub company: CompanySettings,
    /// The intake gate's limits, the same for uploads as for every source.
    pub intake: IntakeSettings,
}

impl ApiSettings {
    pub fn from_settings(s: &crate::config::Settings) -> ApiSettings {
        ApiSettings {
            company: s.company.clone(),
            intake: s.intake.clone(),
        }
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "facteur REST API",
        description = "Accounts payable: documents, approvals, the ledger and its exports. \
                       Authenticate with `Authorization: Bearer fct_…` (`facteur users token add`). \
                       Errors are RFC 9457 problem+json; lists page with an opaque `next` cursor.",
        license(name = "MIT")
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "documents", description = "Invoices and credit notes received"),
        (name = "approvals", description = "Decisions on invoices in approval"),
        (name = "ledger", description = "Posted entries and exports"),
        (name = "me", description = "The caller"),
    )
)]
struct ApiDoc;

/// The bearer scheme every operation uses.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("fct_ followed by 64 hex digits")
                    .build(),
            ),
        );
    }
}

/// Every route with its OpenAPI operation, relative to `/api/v1`.
fn routes() -> OpenApiRouter<WebState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(documents::list, documents::upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(uploads)
        .routes(routes!(documents::one))
        .routes(routes!(documents::original))
        .routes(routes!(decisions::approve))
        .routes(routes!(decisions::reject))
        .routes(routes!(ledger::entries))
        .routes(routes!(exports::create))
        .routes(routes!(me::me))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document (paths relative to its server, `/api/v1`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"the OpenAPI document: {e}\"}}"))
});

/// The routes under `/api/v1`: what `web::router` nests.
pub fn router() -> Router<WebState> {
    routes()
        .split_for_parts()
        .0
        .fallback(problem::unknown_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(problem::render))
        // JSON that quotes a supplier's text is never to be read as HTML by a browser.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// This API's OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "me",
    security(()),
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON.as_str(),
    )
        .into_response()
}
