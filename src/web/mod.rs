//! The web server (axum): the approval pages behind `web.public_url`, the dashboard's sign-in
//! (`login`, `session`) and inbox (`home`, `views`), the REST API under `/api/v1` (`api`), and
//! `/health`. Started by `facteur run`, alone by `facteur serve`.
//!
//! | route | module | who |
//! |---|---|---|
//! | `/login`, `/login/code`, `/logout` | `login` | anyone |
//! | `/` (inbox) | `home` | signed in |
//! | `/documents/{id}` (review) | `review` | signed in; decisions: accountant, admin |
//! | `/approvals` (what waits for me, decide) | `approvals` | approver and up |
//! | `/ledger`, `/ledger/fec?year=` | `ledger` | signed in; the FEC: accountant, admin |
//! | `/reports`, `/reports/{aged,days,intake,forecast}.csv` | `reports`, `forecast` (charts by `charts`) | signed in |
//! | `/receivables` (customers, sales, reminders, disputes), `/receivables/{id}/…` | `receivables`, `receivables_view` | signed in; actions: accountant, admin |
//! | `/account` (second factor, own password) | `account` | signed in |
//! | `/settings` (sources, rules, users) | `settings` | admin |
//! | `/approval/{token}/…` (emailed links) | `approval`, `pages` | the link's holder |
//! | `/api/v1/…` (REST, OpenAPI at `/api/v1/openapi.json`) | `api` | a bearer token (read or write scope) |
//! | `/health`, `/ready`, `/metrics` | `ops` | anyone |
//!
//! Dashboard pages check the session and the role on the server (`access`), carry the
//! session's nonce in every form, and audit every action.
//!
//! Link scanners (Outlook Safe Links, Mimecast…) fetch every link of a mail seconds after it
//! arrives, some run JavaScript and submit forms. So a link only ever shows a page: GET and
//! HEAD change nothing, and the decision is a POST that must carry both the nonce of the page's
//! own cookie (set for that link's path only) in a hidden field and the value of the button a
//! person pressed (a script's `form.submit()` sends no button). The page has no script at all.

mod access;
mod account;
pub mod api;
mod approval;
mod approvals;
mod charts;
mod forecast;
mod home;
mod ledger;
mod login;
mod ops;
mod pages;
mod receivables;
mod receivables_view;
mod reports;
mod request;
mod review;
pub mod session;
mod settings;
mod settings_view;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::domain::now_micros;
use crate::store::Store;

/// Largest request body accepted (a comment box).
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The time as the server sees it; tests move it to expire links.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What handlers share.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    /// Cookies get `Secure` when the public URL is https.
    pub secure: bool,
    /// The dashboard's language.
    pub lang: crate::approval::Lang,
    /// Roles that sign in only with a second factor.
    pub require_2fa: Vec<crate::users::Role>,
    /// At or above this gross, an approval link decides only for its approver signed in.
    pub login_above: Option<rust_decimal::Decimal>,
    /// A correction made in the dashboard must leave no field below this (`read.review_threshold`).
    pub review_threshold: f32,
    /// What the REST API needs from the rest of the settings (the company, the intake limits).
    pub api: api::ApiSettings,
    /// The company: its SIREN names the FEC, its fiscal year bounds it (`[company]`).
    pub company: crate::config::CompanySettings,
    /// The whole facteur.toml with its pipelines: issuing and mailing sales (`[sales]`,
    /// `[reminders]`), the sources and approval rules `/settings` shows. Defaults when the
    /// server is started without a workspace (tests of the sign-in alone).
    pub settings: Arc<crate::config::Settings>,
}

impl WebState {
    /// Defaults for everything but the store and the public URL.
    pub fn new(store: Arc<dyn Store>, public_url: &str) -> WebState {
        WebState::from_settings(
            store,
            &crate::config::WebSettings {
                public_url: public_url.to_string(),
                ..Default::default()
            },
        )
    }

    /// Everything from a loaded facteur.toml (what `facteur run` and `facteur serve` use).
    pub fn from_workspace(store: Arc<dyn Store>, settings: &crate::config::Settings) -> WebState {
        let mut state = WebState::from_settings(store, &settings.web);
        state.review_threshold = settings.read.review_threshold;
        state.api = api::ApiSettings::from_settings(settings);
        state.company = settings.company.clone();
        state.settings = Arc::new(settings.clone());
        state
    }

    pub fn from_settings(store: Arc<dyn Store>, web: &crate::config::WebSettings) -> WebState {
        WebState {
            store,
            clock: Arc::new(now_micros),
            secure: web.public_url.starts_with("https://"),
            lang: web.lang,
            require_2fa: web.require_2fa.clone(),
            login_above: web.login_above,
            review_threshold: crate::config::ReadSettings::default().review_threshold,
            api: api::ApiSettings::default(),
            company: crate::config::CompanySettings::default(),
            settings: Arc::new(crate::config::Settings::default()),
        }
    }
}

/// The application's routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/", get(home::inbox))
        .route("/login", get(login::form).post(login::password))
        .route("/login/code", get(login::code_form).post(login::code))
        .route("/logout", axum::routing::post(login::logout))
        .route("/documents/{id}", get(review::page))
        .route("/documents/{id}/original", get(review::original))
        .route("/documents/{id}/review", axum::routing::post(review::decide))
        .nest("/api/v1", api::router())
        .route("/approvals", get(approvals::page))
        .route("/approvals/{request}", axum::routing::post(approvals::decide))
        .route("/ledger", get(ledger::page))
        .route("/ledger/fec", get(ledger::fec_download))
        .route("/reports", get(reports::page))
        .route("/reports/aged.csv", get(reports::aged_csv))
        .route("/reports/days.csv", get(reports::days_csv))
        .route("/reports/intake.csv", get(reports::intake_csv))
        .route("/reports/forecast.csv", get(forecast::csv))
        .route("/receivables", get(receivables::page))
        .route("/receivables/{id}/pdf", get(receivables::pdf))
        .route(
            "/receivables/{id}/{action}",
            axum::routing::post(receivables::act),
        )
        .route("/account", get(account::page))
        .route("/account/totp", axum::routing::post(account::totp))
        .route("/account/password", axum::routing::post(account::password))
        .route("/settings", get(settings::page))
        .route("/settings/users", axum::routing::post(settings::add_user))
        .route(
            "/settings/users/{id}",
            axum::routing::post(settings::change_user),
        )
        .route(
            "/approval/{token}/document",
            get(approval::document),
        )
        .route(
            "/approval/{token}/{action}",
            get(approval::confirm).post(approval::decide),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // The token is in the URL: never leak it to another site, never cache a page.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .with_state(state)
}

/// Binds the listen address (port 0 for tests).
pub async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (web.listen)"))
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().ok();
    tracing::info!(listen = ?addr, "approval pages served");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
    .context("serving the approval pages")
}
