//! Quotes (devis) in the store (migrations/*/0018_quotes.sql): saved without number; numbered
//! when their PDF is first made, in the transaction that stores it, from the same counter table
//! as invoices (`sales_counters`, series = `[sales] quote_pattern`), so quote numbers are
//! gap-free per pattern and fiscal year; accepted once into one linked sales draft (the
//! `sale_id` column is unique and set in the transaction that inserts the draft, so two
//! accepts racing make one draft, and a later accept answers with it).

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};

use super::db::{sql, Row, Tx};
use super::ledger::fiscal_year;
use super::receivables::{insert_sale, load_customer, load_sale, next_seq};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, Currency};
use crate::receivables::quote::{NewQuote, Quote, QuoteState};
use crate::receivables::{Customer, NumberPattern, SalesInvoice};

/// Draws a numbered quote's PDF (`render::quote_pdf`); the store never renders.
pub type QuoteRenderer<'a> = dyn Fn(&Quote, Customer) -> Result<Vec<u8>, String> + Send + Sync + 'a;

/// What `accept_quote` did.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub quote: Quote,
    pub draft: SalesInvoice,
    /// False when the quote had been accepted before: `draft` is the one made then.
    pub created: bool,
}

#[async_trait]
pub trait QuoteStore: Send + Sync {
    /// Saves a quote as a draft (no number).
    async fn save_quote(&self, q: &NewQuote) -> Result<Quote, StoreError>;
    async fn quote(&self, id: i64) -> Result<Quote, StoreError>;
    /// Every quote, newest first.
    async fn quotes(&self) -> Result<Vec<Quote>, StoreError>;
    /// The PDF of quote `id`: the stored one when it was numbered before; otherwise numbers it
    /// on `date` in `pattern`'s series, has `render` draw it, stores it and marks the quote
    /// sent, in one transaction (a failed render gives the number back).
    async fn quote_pdf(
        &self,
        id: i64,
        date: NaiveDate,
        pattern: &NumberPattern,
        fiscal_start_month: u32,
        render: &QuoteRenderer<'_>,
    ) -> Result<(Quote, Vec<u8>), StoreError>;
    /// Accepts sent quote `id` on `today`: makes its sales draft and links it. A quote accepted
    /// before answers with its draft; a draft, declined or expired quote is `Invalid`.
    async fn accept_quote(
        &self,
        id: i64,
        today: NaiveDate,
        by: &str,
    ) -> Result<Accepted, StoreError>;
    /// Declines quote `id`; `Invalid` once it is accepted. Declining twice is no error.
    async fn decline_quote(&self, id: i64, by: &str) -> Result<Quote, StoreError>;
}

const QUOTE_COLUMNS: &str = "id, customer_id, currency, lines, note, vat_exemption, net, tax, \
     gross, validity_days, state, number, quote_date, valid_until, sale_id";

fn quote_from_row(r: &Row) -> Result<Quote, StoreError> {
    let id: i64 = r.get("id")?;
    let corrupt = |e: String| StoreError::Corrupt(format!("quote {id}: {e}"));
    let money = |c: &str| r.money(c)?.ok_or_else(|| corrupt(format!("no {c}")));
    let state: String = r.get("state")?;
    Ok(Quote {
        id,
        customer_id: r.get("customer_id")?,
        currency: r
            .get::<String>("currency")?
            .parse::<Currency>()
            .map_err(|e| corrupt(e.to_string()))?,
        lines: serde_json::from_str(&r.get::<String>("lines")?)
            .map_err(|e| corrupt(e.to_string()))?,
        note: r.get("note")?,
        vat_exemption: r.get("vat_exemption")?,
        net: money("net")?,
        tax: money("tax")?,
        gross: money("gross")?,
        validity_days: u32::try_from(r.get::<i64>("validity_days")?)
            .map_err(|e| corrupt(e.to_string()))?,
        stored_state: QuoteState::parse_stored(&state)
            .ok_or_else(|| corrupt(format!("state '{state}'")))?,
        number: r.get("number")?,
        quote_date: r.get("quote_date")?,
        valid_until: r.get("valid_until")?,
        sale_id: r.get("sale_id")?,
    })
}

async fn load_quote(tx: &mut Tx, id: i64) -> Result<Quote, StoreError> {
    let row = sql(format!("SELECT {QUOTE_COLUMNS} FROM quotes WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx, "reading a quote")
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!("quote {id} (`facteur quotes list` shows them)"))
        })?;
    quote_from_row(&row)
}

async fn stored_pdf(tx: &mut Tx, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(sql("SELECT pdf FROM quotes WHERE id = $1")
        .bind(id)
        .scalar::<Option<Vec<u8>>>(&mut *tx, "reading a quote's PDF")
        .await?
        .flatten())
}

#[async_trait]
impl QuoteStore for SqlStore {
    async fn save_quote(&self, q: &NewQuote) -> Result<Quote, StoreError> {
        let lines = serde_json::to_string(&q.lines)
            .map_err(|e| StoreError::Invalid(format!("lines: {e}")))?;
        let mut tx = self.db.begin_write("starting a quote").await?;
        let id: i64 = sql(
            "INSERT INTO quotes (customer_id, currency, lines, note, vat_exemption, net, tax, \
             gross, validity_days, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10) RETURNING id",
        )
        .bind(q.customer_id)
        .bind(q.currency.as_str())
        .bind(lines)
        .bind(q.note.as_deref())
        .bind(q.vat_exemption.as_deref())
        .money(Some(q.totals.net))
        .money(Some(q.totals.tax))
        .money(Some(q.totals.gross))
        .bind(i64::from(q.validity_days))
        .bind(now_micros())
        .scalar(&mut tx, "saving a quote")
        .await?
        .ok_or_else(|| StoreError::Corrupt("a quote got no id".into()))?;
        let saved = load_quote(&mut tx, id).await?;
        tx.commit("committing a quote").await?;
        Ok(saved)
    }

    async fn quote(&self, id: i64) -> Result<Quote, StoreError> {
        let mut tx = self.db.begin_read("reading a quote").await?;
        let q = load_quote(&mut tx, id).await?;
        tx.rollback("ending a read").await?;
        Ok(q)
    }

    async fn quotes(&self) -> Result<Vec<Quote>, StoreError> {
        sql(format!(
            "SELECT {QUOTE_COLUMNS} FROM quotes ORDER BY id DESC"
        ))
        .fetch_all(&self.db, "listing quotes")
        .await?
        .iter()
        .map(quote_from_row)
        .collect()
    }

    async fn quote_pdf(
        &self,
        id: i64,
        date: NaiveDate,
        pattern: &NumberPattern,
        fiscal_start_month: u32,
        render: &QuoteRenderer<'_>,
    ) -> Result<(Quote, Vec<u8>), StoreError> {
        let mut tx = self.db.begin_write("starting a quote's PDF").await?;
        let mut quote = load_quote(&mut tx, id).await?;
        if quote.number.is_some() {
            // Numbered before: the PDF the customer received, unchanged.
            let pdf = stored_pdf(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("numbered quote {id} has no PDF")))?;
            tx.rollback("ending a read").await?;
            return Ok((quote, pdf));
        }
        let year = fiscal_year(date, fiscal_start_month);
        let seq = next_seq(&mut tx, pattern.series(), year).await?;
        // Numbers follow the dates, as for invoices.
        let last: Option<NaiveDate> =
            sql("SELECT MAX(quote_date) FROM quotes WHERE series = $1 AND fiscal_year = $2")
                .bind(pattern.series())
                .bind(i64::from(year))
                .scalar(&mut tx, "reading the quote series' last date")
                .await?
                .flatten();
        if let Some(last) = last.filter(|l| *l > date) {
            return Err(StoreError::Invalid(format!(
                "quote {id} cannot be dated {date}: series {pattern} already has a quote of {last}, and numbers follow the dates"
            )));
        }
        quote.number = Some(pattern.number(year, seq));
        quote.quote_date = Some(date);
        quote.valid_until = Some(date + Duration::days(i64::from(quote.validity_days)));
        quote.stored_state = QuoteState::Sent;
        let customer = load_customer(&mut tx, quote.customer_id).await?;
        let pdf = render(&quote, customer)
            .map_err(|why| StoreError::Invalid(format!("quote {id}: {why}")))?;
        let moved = sql(
            "UPDATE quotes SET state = 'sent', series = $1, fiscal_year = $2, seq = $3, \
             number = $4, quote_date = $5, valid_until = $6, pdf = $7 \
             WHERE id = $8 AND state = 'draft'",
        )
        .bind(pattern.series())
        .bind(i64::from(year))
        .bind(seq)
        .bind(quote.number.as_deref())
        .bind(quote.quote_date)
        .bind(quote.valid_until)
        .bind(pdf.as_slice())
        .bind(id)
        .execute(&mut tx, "numbering a quote")
        .await?;
        if moved != 1 {
            return Err(StoreError::Conflict(format!(
                "quote {id} was numbered or answered meanwhile"
            )));
        }
        tx.commit("committing a numbered quote").await?;
        Ok((quote, pdf))
    }

    async fn accept_quote(
        &self,
        id: i64,
        today: NaiveDate,
        by: &str,
    ) -> Result<Accepted, StoreError> {
        let mut tx = self.db.begin_write("starting to accept a quote").await?;
        let mut quote = load_quote(&mut tx, id).await?;
        if let Some(sale) = quote.sale_id {
            let draft = load_sale(&mut tx, sale).await?;
            tx.rollback("ending a read").await?;
            return Ok(Accepted {
                quote,
                draft,
                created: false,
            });
        }
        match quote.state_at(today) {
            QuoteState::Sent => {}
            QuoteState::Draft => {
                return Err(StoreError::Invalid(format!(
                    "quote {id} is a draft the customer has not received: `facteur quotes pdf {id}` numbers it first"
                )))
            }
            QuoteState::Declined => {
                return Err(StoreError::Invalid(format!(
                    "quote {} was declined: write a new quote (`facteur quotes add`)",
                    quote.number.as_deref().unwrap_or("?")
                )))
            }
            QuoteState::Expired => {
                return Err(StoreError::Invalid(format!(
                    "quote {} expired on {}: write a new quote (`facteur quotes add`) with today's prices",
                    quote.number.as_deref().unwrap_or("?"),
                    quote.valid_until.map(|d| d.to_string()).unwrap_or_default()
                )))
            }
            QuoteState::Accepted => {
                return Err(StoreError::Corrupt(format!(
                    "quote {id} is accepted without a sales draft"
                )))
            }
        }
        let sale = quote.to_sale().map_err(StoreError::Invalid)?;
        let sale_id = insert_sale(&mut tx, &sale).await?;
        let moved = sql(
            "UPDATE quotes SET state = 'accepted', sale_id = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'sent' AND sale_id IS NULL",
        )
        .bind(sale_id)
        .bind(by)
        .bind(now_micros())
        .bind(id)
        .execute(&mut tx, "accepting a quote")
        .await?;
        if moved != 1 {
            return Err(StoreError::Conflict(format!(
                "quote {id} was answered meanwhile: `facteur quotes show {id}`"
            )));
        }
        let draft = load_sale(&mut tx, sale_id).await?;
        tx.commit("committing an accepted quote").await?;
        quote.stored_state = QuoteState::Accepted;
        quote.sale_id = Some(sale_id);
        Ok(Accepted {
            quote,
            draft,
            created: true,
        })
    }

    async fn decline_quote(&self, id: i64, by: &str) -> Result<Quote, StoreError> {
        let mut tx = self.db.begin_write("starting to decline a quote").await?;
        let quote = load_quote(&mut tx, id).await?;
        match quote.stored_state {
            QuoteState::Declined => {
                tx.rollback("ending a read").await?;
                return Ok(quote);
            }
            QuoteState::Accepted => {
                return Err(StoreError::Invalid(format!(
                    "quote {id} was accepted (sales draft {}): it cannot be declined now",
                    quote.sale_id.unwrap_or_default()
                )))
            }
            _ => {}
        }
        sql(
            "UPDATE quotes SET state = 'declined', decided_by = $1, decided_at = $2 \
             WHERE id = $3 AND state IN ('draft', 'sent')",
        )
        .bind(by)
        .bind(now_micros())
        .bind(id)
        .execute(&mut tx, "declining a quote")
        .await?;
        let quote = load_quote(&mut tx, id).await?;
        tx.commit("committing a declined quote").await?;
        Ok(quote)
    }
}
