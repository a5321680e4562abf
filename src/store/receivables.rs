//! Receivables' side of the store: customers, sales (drafts, issued invoices and credit notes)
//! and the counters that number them. `issue_sale` is the one place a number is taken: inside
//! the write transaction that also posts the entry and stores the PDF, the series' counter row
//! moves up by one (row-locked until commit on PostgreSQL, SQLite's single writer), so a
//! rolled-back issue gives its number back and two issuers never share one. The store never
//! renders: the caller's `Finisher` turns the numbered invoice into its entry and PDF.

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};

use super::db::{sql, Row, Tx};
use super::ledger::{fiscal_year, post};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, Currency, Siren, Siret, VatId};
use crate::ledger::account::Lang;
use crate::ledger::PostedEntry;
use crate::receivables::customer::{Address, Category};
use crate::receivables::sale::NewSale;
use crate::receivables::{
    Customer, Issued, Issuing, NewCustomer, NumberPattern, SaleKind, SaleState, SalesInvoice,
};

/// Turns a numbered invoice into what is committed with its number (`receivables::finish`).
pub type Finisher<'a> = dyn Fn(&Issuing) -> Result<Issued, String> + Send + Sync + 'a;

/// The number patterns, one series each.
#[derive(Debug, Clone)]
pub struct Series {
    pub invoice: NumberPattern,
    pub credit_note: NumberPattern,
}

/// What issuing did.
#[derive(Debug, Clone)]
pub struct IssuedSale {
    pub sale: SalesInvoice,
    pub entry: PostedEntry,
    pub pdf: Vec<u8>,
}

#[async_trait]
pub trait ReceivablesStore: Send + Sync {
    /// Creates a customer; `Conflict` when its account exists already.
    async fn add_customer(&self, c: &NewCustomer) -> Result<Customer, StoreError>;
    /// Every customer, by account.
    async fn customers(&self) -> Result<Vec<Customer>, StoreError>;
    /// A customer by its account (`C732829320`) or id.
    async fn customer(&self, key: &str) -> Result<Customer, StoreError>;
    /// Saves a draft (no number).
    async fn save_draft(&self, sale: &NewSale) -> Result<SalesInvoice, StoreError>;
    async fn sale(&self, id: i64) -> Result<SalesInvoice, StoreError>;
    /// Every sale, newest first.
    async fn sales(&self) -> Result<Vec<SalesInvoice>, StoreError>;
    /// The PDF of an issued sale.
    async fn sale_pdf(&self, id: i64) -> Result<Vec<u8>, StoreError>;
    /// The credit note draft of issued invoice `id` (the one drafted earlier, if any).
    async fn draft_credit_note(&self, id: i64) -> Result<SalesInvoice, StoreError>;
    /// Numbers draft `id` on `date` in its series, has `finish` build its entry and PDF, posts
    /// and stores them: all in one transaction, or nothing (the number is given back).
    async fn issue_sale(
        &self,
        id: i64,
        date: NaiveDate,
        series: &Series,
        fiscal_start_month: u32,
        finish: &Finisher<'_>,
    ) -> Result<IssuedSale, StoreError>;
}

const CUSTOMER_COLUMNS: &str = "id, account, name, address, postcode, city, country, siren, \
     siret, vat_id, invoice_email, reminder_email, lang, payment_terms_days, category";

const SALE_COLUMNS: &str = "id, kind, state, customer_id, currency, lines, note, vat_exemption, \
     net, tax, gross, number, issue_date, due_date, entry_id, credits";

fn customer_from_row(r: &Row) -> Result<Customer, StoreError> {
    let id: i64 = r.get("id")?;
    let corrupt = |e: String| StoreError::Corrupt(format!("customer {id}: {e}"));
    let opt = |c: &str| r.get::<Option<String>>(c);
    Ok(Customer {
        id,
        account: r.get("account")?,
        details: NewCustomer {
            name: r.get("name")?,
            address: Address {
                line: r.get("address")?,
                postcode: r.get("postcode")?,
                city: r.get("city")?,
                country: r.get("country")?,
            },
            siren: opt("siren")?
                .map(|s| Siren::parse(&s))
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?,
            siret: opt("siret")?
                .map(|s| Siret::parse(&s))
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?,
            vat_id: opt("vat_id")?
                .map(|s| VatId::parse(&s))
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?,
            invoice_email: opt("invoice_email")?,
            reminder_email: opt("reminder_email")?,
            lang: match r.get::<String>("lang")?.as_str() {
                "en" => Lang::En,
                _ => Lang::Fr,
            },
            payment_terms_days: u32::try_from(r.get::<i64>("payment_terms_days")?)
                .map_err(|e| corrupt(e.to_string()))?,
            category: Category::parse(&r.get::<String>("category")?).map_err(corrupt)?,
        },
    })
}

fn sale_from_row(r: &Row) -> Result<SalesInvoice, StoreError> {
    let id: i64 = r.get("id")?;
    let corrupt = |e: String| StoreError::Corrupt(format!("sale {id}: {e}"));
    let money = |c: &str| r.money(c)?.ok_or_else(|| corrupt(format!("no {c}")));
    Ok(SalesInvoice {
        id,
        kind: SaleKind::parse(&r.get::<String>("kind")?).ok_or_else(|| corrupt("kind".into()))?,
        state: SaleState::parse(&r.get::<String>("state")?)
            .ok_or_else(|| corrupt("state".into()))?,
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
        number: r.get("number")?,
        issue_date: r.get("issue_date")?,
        due_date: r.get("due_date")?,
        entry_id: r.get("entry_id")?,
        credits: r.get("credits")?,
    })
}

pub(super) async fn load_sale(tx: &mut Tx, id: i64) -> Result<SalesInvoice, StoreError> {
    let row = sql(format!(
        "SELECT {SALE_COLUMNS} FROM sales_invoices WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx, "reading a sale")
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("sale {id}")))?;
    sale_from_row(&row)
}

pub(super) async fn load_customer(tx: &mut Tx, id: i64) -> Result<Customer, StoreError> {
    let row = sql(format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx, "reading a customer")
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("customer {id}")))?;
    customer_from_row(&row)
}

/// Takes the next number of `series` in fiscal year `year`: the counter row moves up by one
/// and stays locked until the transaction ends (committed: the number is used; rolled back:
/// it was never taken).
pub(super) async fn next_seq(tx: &mut Tx, series: &str, year: i32) -> Result<i64, StoreError> {
    sql(
        "INSERT INTO sales_counters (series, fiscal_year, last_seq) VALUES ($1, $2, 0) \
         ON CONFLICT DO NOTHING",
    )
    .bind(series)
    .bind(i64::from(year))
    .execute(&mut *tx, "creating a number counter")
    .await?;
    sql("UPDATE sales_counters SET last_seq = last_seq + 1 \
         WHERE series = $1 AND fiscal_year = $2 RETURNING last_seq")
    .bind(series)
    .bind(i64::from(year))
    .scalar(&mut *tx, "taking a number")
    .await?
    .ok_or_else(|| StoreError::Corrupt(format!("the counter of {series} {year} vanished")))
}

pub(super) async fn insert_sale(tx: &mut Tx, s: &NewSale) -> Result<i64, StoreError> {
    let lines =
        serde_json::to_string(&s.lines).map_err(|e| StoreError::Invalid(format!("lines: {e}")))?;
    sql(
        "INSERT INTO sales_invoices (kind, state, customer_id, currency, lines, note, \
         vat_exemption, net, tax, gross, credits, created_at) \
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(s.kind.as_str())
    .bind(s.customer_id)
    .bind(s.currency.as_str())
    .bind(lines)
    .bind(s.note.as_deref())
    .bind(s.vat_exemption.as_deref())
    .money(Some(s.totals.net))
    .money(Some(s.totals.tax))
    .money(Some(s.totals.gross))
    .bind(s.credits)
    .bind(now_micros())
    .scalar(&mut *tx, "saving a draft")
    .await?
    .ok_or_else(|| StoreError::Corrupt("a draft got no id".into()))
}

/// Issues draft `id` inside the caller's transaction (`issue_sale`, and a recurring schedule
/// that issues its periods): numbers, posts, stores the PDF, records the event.
pub(super) async fn issue_in(
    tx: &mut Tx,
    id: i64,
    date: NaiveDate,
    series: &Series,
    fiscal_start_month: u32,
    finish: &Finisher<'_>,
) -> Result<IssuedSale, StoreError> {
    let mut sale = load_sale(&mut *tx, id).await?;
    if sale.state == SaleState::Issued {
        return Err(StoreError::Conflict(format!(
            "sale {id} was issued already as {}: an issued invoice is corrected by a credit note (`facteur sales credit {id}`)",
            sale.number.as_deref().unwrap_or("?")
        )));
    }
    let pattern = match sale.kind {
        SaleKind::Invoice => &series.invoice,
        SaleKind::CreditNote => &series.credit_note,
    };
    let year = fiscal_year(date, fiscal_start_month);
    let seq = next_seq(&mut *tx, pattern.series(), year).await?;
    // Numbers follow the dates: no invoice dated before the last one of its series.
    let last: Option<NaiveDate> =
        sql("SELECT MAX(issue_date) FROM sales_invoices WHERE series = $1 AND fiscal_year = $2")
            .bind(pattern.series())
            .bind(i64::from(year))
            .scalar(&mut *tx, "reading the series' last date")
            .await?
            .flatten();
    if let Some(last) = last.filter(|l| *l > date) {
        return Err(StoreError::Invalid(format!(
            "sale {id} cannot be dated {date}: series {pattern} already has an invoice of {last}, and numbers follow the dates"
        )));
    }
    let customer = load_customer(&mut *tx, sale.customer_id).await?;
    let credited = match sale.credits {
        Some(c) => Some(load_sale(&mut *tx, c).await?),
        None => None,
    };
    sale.number = Some(pattern.number(year, seq));
    sale.issue_date = Some(date);
    sale.due_date = Some(match sale.kind {
        SaleKind::Invoice => date + Duration::days(i64::from(customer.details.payment_terms_days)),
        SaleKind::CreditNote => date,
    });
    sale.state = SaleState::Issued;
    let issuing = Issuing {
        invoice: sale,
        customer,
        credited,
    };
    let done = finish(&issuing).map_err(|why| StoreError::Invalid(format!("sale {id}: {why}")))?;
    let entry = post(&mut *tx, &done.entry, fiscal_start_month).await?;
    let mut sale = issuing.invoice;
    sale.entry_id = Some(entry.id);
    let moved = sql(
        "UPDATE sales_invoices SET state = 'issued', series = $1, fiscal_year = $2, seq = $3, \
         number = $4, issue_date = $5, due_date = $6, entry_id = $7, pdf = $8, issued_at = $9 \
         WHERE id = $10 AND state = 'draft'",
    )
    .bind(pattern.series())
    .bind(i64::from(year))
    .bind(seq)
    .bind(sale.number.as_deref())
    .bind(sale.issue_date)
    .bind(sale.due_date)
    .bind(entry.id)
    .bind(done.pdf.as_slice())
    .bind(now_micros())
    .bind(id)
    .execute(&mut *tx, "issuing a sale")
    .await?;
    if moved != 1 {
        return Err(StoreError::Conflict(format!(
            "sale {id} was issued meanwhile by someone else"
        )));
    }
    let detail = format!(
        "{} {}, {} {}, due {}",
        sale.kind.as_str().replace('_', " "),
        sale.number.as_deref().unwrap_or_default(),
        sale.gross,
        sale.currency,
        sale.due_date.map(|d| d.to_string()).unwrap_or_default()
    );
    super::collection::record_event(
        &mut *tx,
        id,
        "facteur",
        crate::receivables::history::EventKind::Issued,
        &detail,
        None,
    )
    .await?;
    Ok(IssuedSale {
        sale,
        entry,
        pdf: done.pdf,
    })
}

#[async_trait]
impl ReceivablesStore for SqlStore {
    async fn add_customer(&self, c: &NewCustomer) -> Result<Customer, StoreError> {
        let account = c.account();
        let mut tx = self.db.begin_write("starting to add a customer").await?;
        let taken: Option<String> = sql("SELECT name FROM customers WHERE account = $1")
            .bind(account.as_str())
            .scalar(&mut tx, "looking up a customer account")
            .await?;
        if let Some(name) = taken {
            return Err(StoreError::Conflict(format!(
                "customer account {account} exists already ({name}): the same SIREN, VAT id or name"
            )));
        }
        let id: i64 = sql(
            "INSERT INTO customers (account, name, address, postcode, city, country, siren, \
             siret, vat_id, invoice_email, reminder_email, lang, payment_terms_days, created_at, \
             category) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             RETURNING id",
        )
        .bind(account.as_str())
        .bind(c.name.as_str())
        .bind(c.address.line.as_str())
        .bind(c.address.postcode.as_str())
        .bind(c.address.city.as_str())
        .bind(c.address.country.as_str())
        .bind(c.siren.as_ref().map(|s| s.as_str()))
        .bind(c.siret.as_ref().map(|s| s.as_str()))
        .bind(c.vat_id.as_ref().map(|s| s.as_str()))
        .bind(c.invoice_email.as_deref())
        .bind(c.reminder_email.as_deref())
        .bind(match c.lang {
            Lang::Fr => "fr",
            Lang::En => "en",
        })
        .bind(c.payment_terms_days)
        .bind(now_micros())
        .bind(c.category.as_str())
        .scalar(&mut tx, "adding a customer")
        .await?
        .ok_or_else(|| StoreError::Corrupt("a customer got no id".into()))?;
        tx.commit("committing a customer").await?;
        Ok(Customer {
            id,
            account,
            details: c.clone(),
        })
    }

    async fn customers(&self) -> Result<Vec<Customer>, StoreError> {
        sql(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY account"
        ))
        .fetch_all(&self.db, "listing customers")
        .await?
        .iter()
        .map(customer_from_row)
        .collect()
    }

    async fn customer(&self, key: &str) -> Result<Customer, StoreError> {
        let key = key.trim();
        let row = sql(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account = $1 OR id = $2"
        ))
        .bind(key.to_ascii_uppercase())
        .bind(key.parse::<i64>().unwrap_or(-1))
        .fetch_optional(&self.db, "reading a customer")
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "customer '{key}' (give its account, as `facteur customers list` shows, or its id)"
            ))
        })?;
        customer_from_row(&row)
    }

    async fn save_draft(&self, sale: &NewSale) -> Result<SalesInvoice, StoreError> {
        let mut tx = self.db.begin_write("starting a draft").await?;
        let id = insert_sale(&mut tx, sale).await?;
        let saved = load_sale(&mut tx, id).await?;
        tx.commit("committing a draft").await?;
        Ok(saved)
    }

    async fn sale(&self, id: i64) -> Result<SalesInvoice, StoreError> {
        let mut tx = self.db.begin_read("reading a sale").await?;
        let s = load_sale(&mut tx, id).await?;
        tx.rollback("ending a read").await?;
        Ok(s)
    }

    async fn sales(&self) -> Result<Vec<SalesInvoice>, StoreError> {
        sql(format!(
            "SELECT {SALE_COLUMNS} FROM sales_invoices ORDER BY id DESC"
        ))
        .fetch_all(&self.db, "listing sales")
        .await?
        .iter()
        .map(sale_from_row)
        .collect()
    }

    async fn sale_pdf(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        sql("SELECT pdf FROM sales_invoices WHERE id = $1")
            .bind(id)
            .scalar::<Option<Vec<u8>>>(&self.db, "reading a sale's PDF")
            .await?
            .flatten()
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "the PDF of sale {id} (only an issued sale has one)"
                ))
            })
    }

    async fn draft_credit_note(&self, id: i64) -> Result<SalesInvoice, StoreError> {
        let mut tx = self.db.begin_write("starting a credit note").await?;
        let invoice = load_sale(&mut tx, id).await?;
        if invoice.kind != SaleKind::Invoice || invoice.state != SaleState::Issued {
            return Err(StoreError::Invalid(format!(
                "sale {id} is a {} {}: only an issued invoice is credited",
                invoice.state.as_str(),
                invoice.kind.as_str()
            )));
        }
        let earlier: Option<i64> = sql("SELECT id FROM sales_invoices WHERE credits = $1")
            .bind(id)
            .scalar(&mut tx, "looking up a credit note")
            .await?;
        let note_id = match earlier {
            Some(n) => n,
            None => insert_sale(&mut tx, &NewSale::credit_note(&invoice)).await?,
        };
        let note = load_sale(&mut tx, note_id).await?;
        tx.commit("committing a credit note draft").await?;
        Ok(note)
    }

    async fn issue_sale(
        &self,
        id: i64,
        date: NaiveDate,
        series: &Series,
        fiscal_start_month: u32,
        finish: &Finisher<'_>,
    ) -> Result<IssuedSale, StoreError> {
        let mut tx = self.db.begin_write("starting to issue a sale").await?;
        let issued = issue_in(&mut tx, id, date, series, fiscal_start_month, finish).await?;
        tx.commit("committing an issued sale").await?;
        Ok(issued)
    }
}
