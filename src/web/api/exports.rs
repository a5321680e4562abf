//! `POST /exports`: the FEC of a fiscal year, or a journal CSV batch of a period, answered as the
//! file itself. The FEC is what `facteur export fec` writes (named after the SIREN, article
//! A47 A-1 LPF); a CSV batch is what `facteur export csv` writes and is recorded the same way, so
//! each entry goes out once per format unless `again` is set.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Months, NaiveDate};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::Api;
use super::problem::{Kind, Problem, ProblemDetails, Words};
use crate::ledger::export::{self, Format};
use crate::ledger::{fec, Chart};
use crate::store::users::AuditLine;
use crate::users::api_token::Scope;
use crate::users::Action;
use crate::web::request::{client_ip, header_text};
use crate::web::WebState;

/// Xero's tax-rate column is not written by the generic CSV; `write` still takes one.
const NO_TAX_RATE: &str = "No VAT";

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Fichier des écritures comptables of a fiscal year (`year`).
    Fec,
    /// The generic journal CSV of a period (`from`, `to`), a batch.
    Csv,
}

/// What to export.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// FEC: the fiscal year, by the calendar year it starts in.
    #[schema(example = 2026)]
    pub year: Option<i32>,
    /// CSV: entries dated on or after this day.
    pub from: Option<NaiveDate>,
    /// CSV: entries dated on or before this day.
    pub to: Option<NaiveDate>,
    /// CSV: export entries already exported to CSV too.
    #[serde(default)]
    pub again: bool,
}

/// Writes an export and answers the file.
#[utoipa::path(
    post,
    path = "/exports",
    tag = "ledger",
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The file: the FEC (tab-separated text) or the CSV batch", content_type = "text/plain"),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "A read token, or a role below accountant", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Nothing left to export in that period", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The request is not an export, or the company has no SIREN", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    api: Api,
    headers: HeaderMap,
    body: Result<Json<ExportRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    api.may(Scope::Write, Action::Book)?;
    let Json(req) = body.map_err(|e| {
        Problem::new(
            Kind::Invalid,
            format!(
                "the body must be JSON like {{\"format\": \"fec\", \"year\": 2026}}: {}",
                e.body_text()
            ),
            format!(
                "le corps doit être du JSON comme {{\"format\": \"fec\", \"year\": 2026}} : {}",
                e.body_text()
            ),
        )
    })?;
    let (name, content_type, bytes, what) = match req.format {
        ExportFormat::Fec => fec_file(&state, &req).await?,
        ExportFormat::Csv => csv_batch(&state, &api, &req).await?,
    };
    let line = AuditLine {
        at: (state.clock)(),
        actor: api.actor(),
        action: "api export".into(),
        detail: format!("{what}: {name}"),
        ip: Some(client_ip(&headers, &peer)),
        user_agent: header_text(&headers, header::USER_AGENT),
    };
    state.store.audit_web(&line).await.map_err(Problem::store)?;
    let mut r = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

type File = (String, &'static str, Vec<u8>, String);

async fn fec_file(state: &WebState, req: &ExportRequest) -> Result<File, Problem> {
    let company = &state.api.company;
    let Some(year) = req.year else {
        return Err(Problem::new(
            Kind::Invalid,
            "a FEC is one fiscal year: add \"year\": 2026",
            "un FEC couvre un exercice : ajoutez \"year\": 2026",
        ));
    };
    let Some(siren) = &company.siren else {
        return Err(Problem::new(
            Kind::Invalid,
            "the FEC is named after the company's SIREN: add siren = \"…\" under [company] in facteur.toml",
            "le FEC porte le SIREN de la société : ajoutez siren = \"…\" sous [company] dans facteur.toml",
        ));
    };
    let last_day = NaiveDate::from_ymd_opt(year, company.fiscal_year_start_month, 1)
        .and_then(|start| start.checked_add_months(Months::new(12)))
        .and_then(|next| next.pred_opt())
        .ok_or_else(|| {
            Problem::new(
                Kind::Invalid,
                format!("{year} is not a fiscal year"),
                format!("{year} n'est pas un exercice"),
            )
        })?;
    let entries = state
        .store
        .fiscal_year_entries(year)
        .await
        .map_err(Problem::store)?;
    let text = fec::write(&entries, &Chart::pcg());
    Ok((
        fec::file_name(siren.as_str(), last_day),
        "text/plain; charset=utf-8",
        text.into_bytes(),
        format!("FEC {year}, {} entries", entries.len()),
    ))
}

async fn csv_batch(state: &WebState, api: &Api, req: &ExportRequest) -> Result<File, Problem> {
    let f = Format::Csv.as_str();
    let entries = state
        .store
        .entries_to_export(f, req.from, req.to, req.again)
        .await
        .map_err(Problem::store)?;
    if entries.is_empty() {
        return Err(Problem::new(
            Kind::Conflict,
            "nothing to export to csv in that period (already exported: add \"again\": true)",
            "rien à exporter en csv sur cette période (déjà exporté : ajoutez \"again\": true)",
        ));
    }
    let bytes = export::write(Format::Csv, &entries, &Chart::pcg(), NO_TAX_RATE).map_err(|e| {
        tracing::error!(error = %e, "cannot write a CSV export");
        Problem::with(
            Kind::Internal,
            Words::same(format!("the CSV could not be written: {e}")),
        )
    })?;
    let span = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_else(|| "all".into())
    };
    let stamp = (state.clock)().format("%Y%m%dT%H%M%S%6f");
    let name = format!(
        "facteur-{f}-{}-{}-{stamp}.csv",
        span(req.from),
        span(req.to)
    );
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let batch = state
        .store
        .record_export(
            f,
            req.from,
            req.to,
            &ids,
            &format!("{name} (downloaded through the API by {})", api.email()),
            req.again,
        )
        .await
        .map_err(Problem::store)?;
    Ok((
        name,
        "text/csv; charset=utf-8",
        bytes,
        format!("CSV batch {batch}, {} entries", ids.len()),
    ))
}
