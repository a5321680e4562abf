//! `GET /ledger/entries`: posted entries in posting order, a page at a time, filtered by journal
//! and dates. Entries are never changed or removed once posted, and new ones get higher ids, so
//! walking the pages sees every entry once.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Api;
use super::cursor;
use super::documents::bad_query;
use super::problem::{Kind, Problem, ProblemDetails};
use super::types::{EntryItem, EntryPage};
use crate::ledger::entry::Journal;
use crate::store::api::EntryFilter;
use crate::users::api_token::Scope;
use crate::users::Action;
use crate::web::WebState;

/// `GET /ledger/entries` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Journal code: HA, VE, BQ, OD or AN.
    journal: Option<String>,
    /// Entries dated on or after this day (`2026-01-01`).
    from: Option<NaiveDate>,
    /// Entries dated on or before this day.
    to: Option<NaiveDate>,
    /// The `next` of the page before.
    cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

fn journal(code: &str) -> Result<Journal, Problem> {
    let code = code.trim().to_ascii_uppercase();
    code.parse::<Journal>().map_err(|_| {
        let known: Vec<&str> = Journal::ALL.iter().map(|j| j.code()).collect();
        Problem::new(
            Kind::Invalid,
            format!("unknown journal '{code}': one of {}", known.join(", ")),
            format!("journal « {code} » inconnu : l'un de {}", known.join(", ")),
        )
    })
}

/// Posted entries in posting order, a page at a time.
#[utoipa::path(
    get,
    path = "/ledger/entries",
    tag = "ledger",
    params(EntriesQuery),
    responses(
        (status = 200, description = "A page of entries", body = EntryPage),
        (status = 401, description = "No valid token", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "A filter, cursor or limit is wrong", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub async fn entries(
    State(state): State<WebState>,
    api: Api,
    query: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<EntryPage>, Problem> {
    api.may(Scope::Read, Action::View)?;
    let Query(q) = query.map_err(bad_query)?;
    let limit = cursor::limit(q.limit)?;
    let filter = EntryFilter {
        journal: q
            .journal
            .as_deref()
            .filter(|j| !j.trim().is_empty())
            .map(journal)
            .transpose()?,
        from: q.from,
        to: q.to,
    };
    if let (Some(f), Some(t)) = (filter.from, filter.to) {
        if f > t {
            return Err(Problem::new(
                Kind::Invalid,
                format!("from={f} is after to={t}"),
                format!("from={f} est après to={t}"),
            ));
        }
    }
    let filters = cursor::fingerprint(&[
        filter.journal.map(|j| j.code().to_string()),
        filter.from.map(|d| d.to_string()),
        filter.to.map(|d| d.to_string()),
    ]);
    let after = cursor::start(q.cursor.as_deref(), "entries", &filters)?;
    let rows = state
        .store
        .entries_page(&filter, after, limit + 1)
        .await
        .map_err(Problem::store)?;
    let (rows, next) = cursor::page(rows, limit, "entries", &filters, |e| e.id);
    Ok(Json(EntryPage {
        items: rows.iter().map(EntryItem::from).collect(),
        next,
    }))
}
