//! The inbox, the dashboard's first page: documents by state with their counts, then the
//! documents of the chosen state (or the newest), narrowed by a search: part of the supplier's
//! name, part of the invoice number (or the file's name), the gross amount (`1481.40` or
//! `1 481,40`). Any signed-in role may look; everyone else is sent to the sign-in page, which
//! brings them back here. The search is a GET form: a search is a link one can keep.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::session::signed_in;
use super::views;
use super::WebState;
use crate::domain::{DocumentId, DocumentState};
use crate::store::api::DocumentFilter;
use crate::store::documents::DocumentSummary;
use crate::store::StoreError;

/// Rows shown.
const ROWS: usize = 100;
/// Documents read per page while looking for an amount (the store filters text, not amounts).
const PAGE: u32 = 500;
/// Documents looked through for an amount at most, so one search cannot read the whole store.
const SCAN: usize = 20_000;

/// The inbox's query: every field optional, empty meaning "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    state: Option<String>,
    supplier: Option<String>,
    number: Option<String>,
    amount: Option<String>,
}

/// What was searched, as the form shows it back.
#[derive(Debug, Default)]
pub struct Search {
    pub state: Option<DocumentState>,
    pub supplier: String,
    pub number: String,
    pub amount: String,
    /// The amount typed could not be read.
    pub bad_amount: bool,
}

impl Search {
    pub fn any(&self) -> bool {
        self.state.is_some()
            || !self.supplier.is_empty()
            || !self.number.is_empty()
            || !self.amount.is_empty()
    }
}

/// An amount as people type it: spaces and a decimal comma allowed, a currency sign ignored.
fn parse_amount(s: &str) -> Option<Decimal> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '€')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    cleaned.parse().ok()
}

fn search_of(f: Filter) -> Search {
    let text = |s: Option<String>| s.map(|s| s.trim().to_string()).unwrap_or_default();
    let amount = text(f.amount);
    Search {
        state: f.state.as_deref().and_then(|s| s.parse().ok()),
        supplier: text(f.supplier),
        number: text(f.number),
        bad_amount: !amount.is_empty() && parse_amount(&amount).is_none(),
        amount,
    }
}

/// The documents the search finds, newest first, at most `ROWS`.
async fn find(state: &WebState, s: &Search) -> Result<Vec<DocumentSummary>, StoreError> {
    let some = |t: &str| (!t.is_empty()).then(|| t.to_string());
    let filter = DocumentFilter {
        state: s.state,
        supplier: some(&s.supplier),
        q: some(&s.number),
    };
    let Some(amount) = parse_amount(&s.amount) else {
        return state.store.documents_page(&filter, None, ROWS as u32).await;
    };
    let mut found = Vec::new();
    let mut before: Option<DocumentId> = None;
    let mut scanned = 0;
    while found.len() < ROWS && scanned < SCAN {
        let page = state.store.documents_page(&filter, before, PAGE).await?;
        scanned += page.len();
        before = page.last().map(|d| d.id);
        let last = page.len() < PAGE as usize;
        found.extend(page.into_iter().filter(|d| d.total_gross == Some(amount)));
        if last {
            break;
        }
    }
    found.truncate(ROWS);
    Ok(found)
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
    let search = search_of(f);
    let (counts, docs) = match tokio::try_join!(state.store.counts(), find(&state, &search)) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the inbox");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    Html(views::inbox(state.lang, &who, &counts, &search, &docs)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_type_them() {
        let want: Decimal = "1481.40".parse().unwrap();
        for typed in [
            "1481.40",
            "1481,40",
            "1 481,40",
            "1\u{a0}481,40 €",
            "1481.4",
        ] {
            assert_eq!(parse_amount(typed), Some(want), "{typed}");
        }
        assert_eq!(parse_amount("12,34,56"), None);
        assert_eq!(parse_amount("abc"), None);
    }

    #[test]
    fn an_unreadable_amount_is_said_and_states_parse() {
        let s = search_of(Filter {
            state: Some("posted".into()),
            supplier: Some("  acme ".into()),
            number: None,
            amount: Some("douze".into()),
        });
        assert_eq!(s.state, Some(DocumentState::Posted));
        assert_eq!(s.supplier, "acme");
        assert!(s.bad_amount && s.any());
        assert!(!search_of(Filter::default()).any());
    }
}
