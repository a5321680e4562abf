//! Exchange rates' side of the store (migrations/*/0009_fx_rates.sql): the ECB's reference rates
//! and the ones people set, one per currency, day and source. `rate_on` is what postings, payments
//! and approval rules ask: the latest rate on or before a day, if it is recent enough.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};

use super::db::{sql, On, Row};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, Currency, DocumentId, DocumentState};
use crate::ledger::fx::{Rate, RateSource, MAX_STALENESS_DAYS};

#[async_trait]
pub trait RateStore: Send + Sync {
    /// The rate of `currency` (units of it per company-currency unit) that applies on `date`: the
    /// latest on or before it, at most `MAX_STALENESS_DAYS` (7) days older; on the same day a
    /// person's (`manual`) wins over the ECB's. `None` when there is none that recent, and for the
    /// company's own currency (nothing to convert: its rate is 1).
    async fn rate_on(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> Result<Option<Rate>, StoreError>;

    /// Writes `rates` (sources `ecb` and `manual`), replacing the rate of the same currency, day
    /// and source: importing the same file twice changes nothing. Returns how many were new or
    /// changed.
    async fn set_rates(&self, rates: &[Rate]) -> Result<u64, StoreError>;

    /// Every rate of `currency`, newest first; without a currency, the latest of each currency.
    async fn list_rates(&self, currency: Option<Currency>) -> Result<Vec<Rate>, StoreError>;

    /// The rate printed on invoice `document` (source `invoice`), if one was recorded.
    async fn printed_rate(&self, document: DocumentId) -> Result<Option<Rate>, StoreError>;

    /// Records the rate printed on `document` (replacing an earlier one), read by `by`. Refused
    /// once the invoice is posted: its lines carry the rate it was posted at, and a correction
    /// is a reversal.
    async fn set_printed_rate(
        &self,
        document: DocumentId,
        rate: &Rate,
        by: &str,
    ) -> Result<(), StoreError>;
}

const COLUMNS: &str = "currency, rate_date, source, per_unit";

fn rate_from_row(r: &Row) -> Result<Rate, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(format!("exchange rate: {e}"));
    let currency: Currency = r
        .get::<String>("currency")?
        .parse()
        .map_err(|e: crate::domain::MoneyError| corrupt(e.to_string()))?;
    let source: RateSource = r.get::<String>("source")?.parse().map_err(corrupt)?;
    Rate::new(
        currency,
        r.get("rate_date")?,
        r.money("per_unit")?.unwrap_or_default(),
        source,
    )
    .map_err(corrupt)
}

/// `rate_on` inside the caller's transaction (a payment) or on the pool.
pub(crate) async fn rate_on<'c>(
    on: impl Into<On<'c>>,
    currency: Currency,
    date: NaiveDate,
) -> Result<Option<Rate>, StoreError> {
    let oldest = date - Duration::days(MAX_STALENESS_DAYS);
    sql(format!(
        "SELECT {COLUMNS} FROM fx_rates WHERE currency = $1 AND rate_date <= $2 \
         AND rate_date >= $3 \
         ORDER BY rate_date DESC, CASE source WHEN 'manual' THEN 0 ELSE 1 END LIMIT 1"
    ))
    .bind(currency.as_str())
    .bind(Some(date))
    .bind(Some(oldest))
    .fetch_optional(on, "reading an exchange rate")
    .await?
    .as_ref()
    .map(rate_from_row)
    .transpose()
}

/// Rows per INSERT: 5 parameters each, far under both backends' limits.
const CHUNK: usize = 500;

#[async_trait]
impl RateStore for SqlStore {
    async fn rate_on(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> Result<Option<Rate>, StoreError> {
        rate_on(&self.db, currency, date).await
    }

    async fn set_rates(&self, rates: &[Rate]) -> Result<u64, StoreError> {
        // One row per key (the last given wins), in a stable order.
        let mut unique: BTreeMap<(Currency, NaiveDate, RateSource), &Rate> = BTreeMap::new();
        for r in rates {
            if r.source == RateSource::Invoice {
                return Err(StoreError::Invalid(format!(
                    "a {} rate printed on an invoice belongs to that invoice, not to the rates table",
                    r.currency
                )));
            }
            unique.insert((r.currency, r.date, r.source), r);
        }
        let rows: Vec<&Rate> = unique.into_values().collect();
        let now = now_micros();
        let mut tx = self
            .db
            .begin_write("starting to write exchange rates")
            .await?;
        let mut changed = 0;
        for chunk in rows.chunks(CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    )
                })
                .collect();
            let mut q = sql(format!(
                "INSERT INTO fx_rates (currency, rate_date, source, per_unit, set_at) VALUES {} \
                 ON CONFLICT (currency, rate_date, source) DO UPDATE \
                 SET per_unit = excluded.per_unit, set_at = excluded.set_at \
                 WHERE fx_rates.per_unit <> excluded.per_unit",
                values.join(", ")
            ));
            for r in chunk {
                q = q
                    .bind(r.currency.as_str())
                    .bind(Some(r.date))
                    .bind(r.source.as_str())
                    .money(Some(r.per_unit.normalize()))
                    .bind(now);
            }
            changed += q.execute(&mut tx, "writing exchange rates").await?;
        }
        tx.commit("committing exchange rates").await?;
        Ok(changed)
    }

    async fn list_rates(&self, currency: Option<Currency>) -> Result<Vec<Rate>, StoreError> {
        let rows = match currency {
            Some(c) => {
                sql(format!(
                    "SELECT {COLUMNS} FROM fx_rates WHERE currency = $1 \
                     ORDER BY rate_date DESC, source"
                ))
                .bind(c.as_str())
                .fetch_all(&self.db, "listing exchange rates")
                .await?
            }
            None => {
                sql(format!(
                    "SELECT {COLUMNS} FROM (SELECT {COLUMNS}, ROW_NUMBER() OVER (\
                     PARTITION BY currency ORDER BY rate_date DESC, \
                     CASE source WHEN 'manual' THEN 0 ELSE 1 END) AS n FROM fx_rates) latest \
                     WHERE n = 1 ORDER BY currency"
                ))
                .fetch_all(&self.db, "listing the latest exchange rates")
                .await?
            }
        };
        rows.iter().map(rate_from_row).collect()
    }

    async fn printed_rate(&self, document: DocumentId) -> Result<Option<Rate>, StoreError> {
        sql(
            "SELECT currency, rate_date, 'invoice' AS source, per_unit FROM document_rates \
             WHERE document_id = $1",
        )
        .bind(document.0)
        .fetch_optional(&self.db, "reading an invoice's printed rate")
        .await?
        .as_ref()
        .map(rate_from_row)
        .transpose()
    }

    async fn set_printed_rate(
        &self,
        document: DocumentId,
        rate: &Rate,
        by: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .db
            .begin_write("starting to record a printed rate")
            .await?;
        let state: Option<String> = sql("SELECT state FROM documents WHERE id = $1")
            .bind(document.0)
            .scalar(&mut tx, "reading a document's state")
            .await?;
        let Some(state) = state else {
            return Err(StoreError::NotFound(format!("document {document}")));
        };
        let state = super::documents::parse_state(&state)?;
        if matches!(
            state,
            DocumentState::Posted | DocumentState::Exported | DocumentState::Paid
        ) {
            return Err(StoreError::Invalid(format!(
                "document {document} is {state}: it was posted at the rate on its lines; a \
                 correction is a reversal"
            )));
        }
        sql(
            "INSERT INTO document_rates (document_id, currency, rate_date, per_unit, set_by, \
             set_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (document_id) DO UPDATE SET \
             currency = excluded.currency, rate_date = excluded.rate_date, \
             per_unit = excluded.per_unit, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(document.0)
        .bind(rate.currency.as_str())
        .bind(Some(rate.date))
        .money(Some(rate.per_unit.normalize()))
        .bind(by)
        .bind(now_micros())
        .execute(&mut tx, "recording a printed rate")
        .await?;
        tx.commit("committing a printed rate").await
    }
}
