//! The ledger's side of the store: posting (idempotent, numbered, chained, refused in a locked
//! period), reading entries back, the trial balance and the chain check. Postings are serialised
//! (SQLite's single writer; a PostgreSQL advisory lock), which is what makes entry numbers
//! continuous and the chain a single line. The tables refuse by themselves an unbalanced entry
//! and any change or deletion (migrations/*/0008_ledger.sql).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::{sql, Row, Sql, Tx};
use super::{SqlStore, StoreError};
use crate::domain::money::round_half_up;
use crate::domain::{now_micros, Currency, DocumentId, DocumentState};
use crate::ledger::chain::{content_hash, link, GENESIS};
use crate::ledger::entry::{Auxiliary, EntryBody, Foreign, Journal, LedgerError, Line, NewEntry};
use crate::ledger::fx::{Rate, RateSource};
use crate::ledger::{AccountNumber, LineMatch, PostedEntry};

/// What the post stage commits with its job.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    pub entry: NewEntry,
    /// First month of the company's fiscal year (numbering restarts each year).
    pub fiscal_start_month: u32,
}

/// One account's (or auxiliary account's) totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub account: String,
    pub auxiliary: Option<String>,
    pub debit: Decimal,
    pub credit: Decimal,
}

impl Balance {
    /// Debit minus credit.
    pub fn net(&self) -> Decimal {
        self.debit - self.credit
    }
}

/// What `ledger verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every entry's content and link recomputed equal.
    Holds { entries: u64 },
    /// The first entry whose stored hash, content or link does not recompute.
    Broken {
        id: i64,
        number: String,
        why: String,
    },
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Posts `entry` (fiscal years start in `fiscal_start_month`), or returns the entry posted
    /// earlier under the same key when its content is the same.
    async fn post_entry(
        &self,
        entry: &NewEntry,
        fiscal_start_month: u32,
    ) -> Result<PostedEntry, StoreError>;

    /// Entries dated from `from` to `to` (inclusive), in posting order.
    async fn ledger_entries(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PostedEntry>, StoreError>;

    /// The entries of fiscal year `year` (by the calendar year it starts in), in posting order.
    async fn fiscal_year_entries(&self, year: i32) -> Result<Vec<PostedEntry>, StoreError>;

    /// Totals per account and auxiliary account (dated up to `to`).
    async fn trial_balance(&self, to: Option<NaiveDate>) -> Result<Vec<Balance>, StoreError>;

    /// Recomputes the chain from the first entry.
    async fn verify_chain(&self) -> Result<ChainCheck, StoreError>;

    /// Locks the period up to `date` (inclusive): nothing can be posted in it any more.
    async fn lock_period(&self, date: NaiveDate, by: &str) -> Result<(), StoreError>;

    /// What is still owed on each posted document: Σ of its supplier lines (401), when positive.
    async fn open_items(&self) -> Result<Vec<(DocumentId, Decimal)>, StoreError>;

    /// Entries dated from `from` to `to` not yet exported in `format` (every one when `again`).
    async fn entries_to_export(
        &self,
        format: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        again: bool,
    ) -> Result<Vec<PostedEntry>, StoreError>;

    /// Records an export batch written to `path`: its entries go out once per format. `Conflict`
    /// when one of them was exported meanwhile (unless `again`). Returns the batch id.
    #[allow(clippy::too_many_arguments)]
    async fn record_export(
        &self,
        format: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        entries: &[i64],
        path: &str,
        again: bool,
    ) -> Result<i64, StoreError>;

    /// Pays `amount` of posted invoice `document` on `date` (bank journal: Dr 401 / Cr 512), in
    /// the invoice's currency, at the rates table's rate of `date` for an invoice in another
    /// currency than the company's: `pay_with` with only a reference. The same payment
    /// (document, date, amount, reference) asked twice is booked once. When nothing stays open,
    /// the invoice's and its payments' supplier lines get one matching code and the document
    /// moves to `paid`; a partial payment leaves the rest open.
    async fn pay(
        &self,
        document: DocumentId,
        amount: Decimal,
        date: NaiveDate,
        reference: Option<&str>,
        fiscal_start_month: u32,
    ) -> Result<Payment, StoreError> {
        self.pay_with(
            document,
            amount,
            date,
            &PayOptions {
                reference,
                fiscal_start_month,
                rate: None,
            },
        )
        .await
    }

    /// `pay`, with the options. `amount` is in the invoice's currency. For an invoice in another
    /// currency than the company's, the bank line is `amount` at the payment's rate (`rate`, the
    /// bank's, else the table's on `date`; refused without one) and the supplier line takes off
    /// the share of what the invoice still owes in the company currency (all of it when the
    /// payment settles it); the difference is an exchange loss (Dr 666) or gain (Cr 766), so the
    /// supplier's account settles to zero in both currencies. The invoice's VAT on receipts
    /// (waiting on 445668) moves to 44566 in the same proportion, the rest with the last payment.
    async fn pay_with(
        &self,
        document: DocumentId,
        amount: Decimal,
        date: NaiveDate,
        options: &PayOptions<'_>,
    ) -> Result<Payment, StoreError>;

    /// What is still owed on each posted document, in its own currency and in the company's
    /// (`open_items` gives the company's only): what `pay` takes for a foreign-currency invoice.
    async fn open_items_in_currency(&self) -> Result<Vec<OpenItem>, StoreError>;
}

/// How a payment is made (`pay_with`).
#[derive(Debug, Clone, Default)]
pub struct PayOptions<'a> {
    /// The bank's reference (the payment's PieceRef; part of its idempotency key).
    pub reference: Option<&'a str>,
    /// First month of the fiscal year.
    pub fiscal_start_month: u32,
    /// For an invoice in another currency: the rate the bank applied, in units of that currency
    /// per company-currency unit; `None` takes the rates table's rate on the payment date.
    pub rate: Option<Decimal>,
}

/// What is still owed on one posted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenItem {
    pub document: DocumentId,
    /// The invoice's currency.
    pub currency: Currency,
    /// Owed in that currency (what `pay` takes).
    pub amount: Decimal,
    /// Owed in the company's currency (the supplier account's balance for it).
    pub company_amount: Decimal,
}

/// What a payment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub entry: PostedEntry,
    /// The invoice's currency, in which `open_before` and `open_after` are.
    pub currency: Currency,
    /// Owed to the supplier before and after it.
    pub open_before: Decimal,
    pub open_after: Decimal,
    /// What left the bank, in the company currency.
    pub company_amount: Decimal,
    /// The rate it was paid at, for an invoice in another currency.
    pub rate: Option<Rate>,
    /// Exchange difference in the company currency: positive a loss (Dr 666), negative a gain
    /// (Cr 766), zero none.
    pub exchange_difference: Decimal,
    /// VAT on receipts made deductible by this payment (moved from 445668 to 44566).
    pub vat_released: Decimal,
    /// The matching code given when it settled the invoice.
    pub matched: Option<String>,
    /// It had been booked already (a repeated command): nothing new was posted.
    pub replayed: bool,
}

/// `A`, `B`, … `Z`, `AA`, `AB`: the n-th matching code (0-based).
pub fn matching_code(mut n: u64) -> String {
    let mut code = Vec::new();
    loop {
        code.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    code.reverse();
    String::from_utf8_lossy(&code).into_owned()
}

/// A supplier line (401) of an entry about a document.
#[derive(Debug, Clone)]
struct SupplierLine {
    entry: i64,
    line_no: i64,
    aux: Option<Auxiliary>,
    debit: Decimal,
    credit: Decimal,
    foreign: Option<Foreign>,
}

/// The supplier lines (401) of every entry about `document`, in posting order.
async fn supplier_lines(
    tx: &mut Tx,
    document: DocumentId,
) -> Result<Vec<SupplierLine>, StoreError> {
    let rows = sql(format!(
        "SELECT l.entry_id, l.line_no, l.aux_code, l.aux_name, l.debit, l.credit, {FX_COLUMNS} \
         FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id \
         WHERE e.document_id = $1 AND l.account = $2 ORDER BY l.entry_id, l.line_no"
    ))
    .bind(document.0)
    .bind(crate::ledger::account::pcg::SUPPLIERS)
    .fetch_all(&mut *tx, "reading an invoice's supplier lines")
    .await?;
    rows.iter()
        .map(|r| {
            let aux = r
                .get::<Option<String>>("aux_code")?
                .map(|code| -> Result<Auxiliary, StoreError> {
                    Ok(Auxiliary {
                        code,
                        name: r.get::<Option<String>>("aux_name")?.unwrap_or_default(),
                    })
                })
                .transpose()?;
            Ok(SupplierLine {
                entry: r.get("entry_id")?,
                line_no: r.get("line_no")?,
                aux,
                debit: r.money("debit")?.unwrap_or_default(),
                credit: r.money("credit")?.unwrap_or_default(),
                foreign: foreign_of(r)?,
            })
        })
        .collect()
}

/// What a document's supplier lines still owe.
#[derive(Debug, Clone)]
struct Owed {
    /// In the company's currency (credit minus debit).
    company: Decimal,
    /// The invoice's currency and what is owed in it.
    currency: Currency,
    amount: Decimal,
    /// The rate the invoice was booked at (its first foreign line's).
    booked_at: Option<Foreign>,
}

/// What `lines` (of entries in `company`'s currency) still owe, in both currencies. Lines of one
/// document are all in one currency; a mix is a book this version cannot pay by itself.
fn owed(
    document: DocumentId,
    lines: &[SupplierLine],
    company: Currency,
) -> Result<Owed, StoreError> {
    let company_open: Decimal = lines.iter().map(|l| l.credit - l.debit).sum();
    let booked_at = lines.iter().find_map(|l| l.foreign.clone());
    let Some(first) = &booked_at else {
        return Ok(Owed {
            company: company_open,
            currency: company,
            amount: company_open,
            booked_at: None,
        });
    };
    let mut amount = Decimal::ZERO;
    for l in lines {
        match &l.foreign {
            Some(f) if f.currency == first.currency => {
                amount += if l.credit > Decimal::ZERO {
                    f.amount
                } else {
                    -f.amount
                };
            }
            _ => {
                return Err(StoreError::Invalid(format!(
                    "document {document}: its supplier lines mix {} and other amounts; pay it \
                     with an entry of your own",
                    first.currency
                )))
            }
        }
    }
    Ok(Owed {
        company: company_open,
        currency: first.currency,
        amount,
        booked_at,
    })
}

/// The VAT on receipts of `document` still waiting to be deductible: what its entries put on
/// 445668 and did not take off.
async fn pending_vat(tx: &mut Tx, document: DocumentId) -> Result<Decimal, StoreError> {
    let mut waiting = Decimal::ZERO;
    for r in sql("SELECT l.debit, l.credit FROM ledger_lines l \
         JOIN ledger_entries e ON e.id = l.entry_id \
         WHERE e.document_id = $1 AND l.account = $2")
    .bind(document.0)
    .bind(crate::ledger::account::pcg::VAT_ON_RECEIPTS)
    .fetch_all(&mut *tx, "reading VAT waiting for a payment")
    .await?
    {
        waiting += r.money("debit")?.unwrap_or_default() - r.money("credit")?.unwrap_or_default();
    }
    Ok(waiting)
}

/// The payment posted earlier under the same key, as `pay` reports it. A rate given again must be
/// the one it was paid at.
fn replayed(
    document: DocumentId,
    entry: PostedEntry,
    open: &Owed,
    amount: Decimal,
    rate: Option<Decimal>,
) -> Result<Payment, StoreError> {
    let bank = entry
        .body
        .lines
        .iter()
        .find(|l| l.account.as_str() == crate::ledger::account::pcg::BANK);
    let paid_rate = bank.and_then(|l| l.foreign.as_ref()).map(|f| Rate {
        currency: f.currency,
        date: f.rate_date,
        per_unit: f.rate,
        source: f.rate_source,
    });
    if let (Some(asked), Some(was)) = (rate, &paid_rate) {
        if asked.normalize() != was.per_unit.normalize() {
            return Err(StoreError::Conflict(format!(
                "document {document}: this payment was booked as {} at {}, not {asked}",
                entry.entry_number(),
                was.per_unit
            )));
        }
    }
    let sum = |account: &str, debit: bool| -> Decimal {
        entry
            .body
            .lines
            .iter()
            .filter(|l| l.account.as_str() == account)
            .map(|l| if debit { l.debit } else { l.credit })
            .sum()
    };
    use crate::ledger::account::pcg;
    Ok(Payment {
        matched: entry.matches.first().map(|m| m.code.clone()),
        currency: open.currency,
        open_before: open.amount + amount,
        open_after: open.amount,
        company_amount: sum(pcg::BANK, false),
        rate: paid_rate,
        exchange_difference: sum(pcg::EXCHANGE_LOSS, true) - sum(pcg::EXCHANGE_GAIN, false),
        vat_released: sum(pcg::VAT_ON_RECEIPTS, false),
        entry,
        replayed: true,
    })
}

/// The fiscal year (the calendar year it starts in) a date belongs to.
pub fn fiscal_year(d: NaiveDate, start_month: u32) -> i32 {
    if d.month() >= start_month.clamp(1, 12) {
        d.year()
    } else {
        d.year() - 1
    }
}

fn refused(e: LedgerError) -> StoreError {
    match e {
        LedgerError::KeyReused(_) => StoreError::Conflict(e.to_string()),
        e => StoreError::Invalid(e.to_string()),
    }
}

/// Serialises postings (numbering, the chain, open amounts): SQLite's write transaction already
/// does; PostgreSQL takes an advisory lock until the transaction ends (re-entrant within it).
pub(crate) async fn lock_ledger(tx: &mut Tx) -> Result<(), StoreError> {
    if tx.is_pg() {
        sql("SELECT pg_advisory_xact_lock(hashtext('facteur:ledger'))")
            .fetch_optional(&mut *tx, "locking the ledger")
            .await?;
    }
    Ok(())
}

/// Posts inside the caller's transaction (a stage's unit of work, or `post_entry`'s own).
pub(crate) async fn post(
    tx: &mut Tx,
    entry: &NewEntry,
    fiscal_start_month: u32,
) -> Result<PostedEntry, StoreError> {
    lock_ledger(tx).await?;
    let b = entry.body();
    let content = content_hash(b);
    let year = fiscal_year(b.date, fiscal_start_month);
    // What the checks and the numbering need, in one round trip under the ledger lock: an
    // earlier entry with this posting key, the period lock, the next number of the journal's
    // year and the chain's end.
    let facts = sql(
        "SELECT (SELECT id FROM ledger_entries WHERE posting_key = $1) AS earlier_id, \
         (SELECT content_hash FROM ledger_entries WHERE posting_key = $1) AS earlier_hash, \
         (SELECT MAX(lock_date) FROM ledger_locks) AS lock_date, \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM ledger_entries \
          WHERE journal = $2 AND fiscal_year = $3) AS number, \
         (SELECT id FROM ledger_entries ORDER BY id DESC LIMIT 1) AS last_id, \
         (SELECT hash FROM ledger_entries ORDER BY id DESC LIMIT 1) AS last_hash",
    )
    .bind(entry.key())
    .bind(b.journal.code())
    .bind(i64::from(year))
    .fetch_optional(
        &mut *tx,
        "reading the posting key, period lock, numbering and chain end",
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("the ledger facts query returned no row".into()))?;
    if let Some(id) = facts.get::<Option<i64>>("earlier_id")? {
        if facts.get::<Option<String>>("earlier_hash")?.as_deref() != Some(content.as_str()) {
            return Err(refused(LedgerError::KeyReused(entry.key().to_string())));
        }
        return load(tx, Which::Id(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt(format!("ledger entry {id} vanished")));
    }
    let lock: Option<NaiveDate> = facts.get("lock_date")?;
    if let Some(lock) = lock.filter(|l| b.date <= *l) {
        return Err(refused(LedgerError::Locked { lock, date: b.date }));
    }
    if let Some(r) = b.reverses {
        let exists: Option<i64> = sql("SELECT id FROM ledger_entries WHERE id = $1")
            .bind(r)
            .scalar(&mut *tx, "reading a reversed entry")
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("ledger entry {r}")));
        }
    }
    let number: i64 = facts.get::<Option<i64>>("number")?.unwrap_or(1);
    let (id, prev_hash) = match facts.get::<Option<i64>>("last_id")? {
        Some(last) => (
            last + 1,
            facts
                .get::<Option<String>>("last_hash")?
                .ok_or_else(|| StoreError::Corrupt(format!("ledger entry {last} has no hash")))?,
        ),
        None => (1, GENESIS.to_string()),
    };
    let validated_at = now_micros();
    let mut posted = PostedEntry {
        id,
        fiscal_year: year,
        number,
        validated_at,
        body: b.clone(),
        prev_hash,
        hash: String::new(),
        matches: Vec::new(),
    };
    posted.hash = link(
        &posted.prev_hash,
        &content,
        &posted.entry_number(),
        validated_at,
    );
    // Every line in one statement: 13 parameters a line.
    let rows: Vec<String> = (0..b.lines.len())
        .map(|i| {
            let p: Vec<String> = (1..=13).map(|k| format!("${}", i * 13 + k)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let mut insert = sql(format!(
        "INSERT INTO ledger_lines (entry_id, line_no, account, aux_code, aux_name, label, \
         debit, credit, fx_currency, fx_amount, fx_rate, fx_rate_date, fx_rate_source) \
         VALUES {}",
        rows.join(", ")
    ));
    for (i, l) in b.lines.iter().enumerate() {
        let fx = l.foreign.as_ref();
        insert = insert
            .bind(id)
            .bind(i as i64 + 1)
            .bind(l.account.as_str())
            .bind(l.auxiliary.as_ref().map(|a| a.code.as_str()))
            .bind(l.auxiliary.as_ref().map(|a| a.name.as_str()))
            .bind(l.label.as_str())
            .money(Some(l.debit))
            .money(Some(l.credit))
            .bind(fx.map(|f| f.currency.as_str()))
            .money(fx.map(|f| f.amount.normalize()))
            .money(fx.map(|f| f.rate.normalize()))
            .bind(fx.map(|f| f.rate_date))
            .bind(fx.map(|f| f.rate_source.as_str()));
    }
    if !b.lines.is_empty() {
        insert.execute(&mut *tx, "writing the ledger lines").await?;
    }
    sql(
        "INSERT INTO ledger_entries (id, journal, fiscal_year, number, entry_date, label, \
         piece_ref, piece_date, currency, document_id, reverses, posting_key, content_hash, \
         prev_hash, hash, validated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(b.journal.code())
    .bind(i64::from(year))
    .bind(number)
    .bind(Some(b.date))
    .bind(b.label.as_str())
    .bind(b.piece_ref.as_str())
    .bind(Some(b.piece_date))
    .bind(b.currency.as_str())
    .bind(b.document.map(|d| d.0))
    .bind(b.reverses)
    .bind(entry.key())
    .bind(content.as_str())
    .bind(posted.prev_hash.as_str())
    .bind(posted.hash.as_str())
    .bind(validated_at)
    .execute(&mut *tx, "writing a ledger entry")
    .await?;
    Ok(posted)
}

const ENTRY_COLUMNS: &str = "e.id, e.journal, e.fiscal_year, e.number, e.entry_date, e.label, \
     e.piece_ref, e.piece_date, e.currency, e.document_id, e.reverses, e.prev_hash, e.hash, \
     e.validated_at";

/// A line's foreign-currency columns (`l.`).
const FX_COLUMNS: &str = "l.fx_currency, l.fx_amount, l.fx_rate, l.fx_rate_date, l.fx_rate_source";

/// A line's foreign amount, from `FX_COLUMNS`.
fn foreign_of(r: &Row) -> Result<Option<Foreign>, StoreError> {
    let Some(currency) = r.get::<Option<String>>("fx_currency")? else {
        return Ok(None);
    };
    let bad = |e: String| StoreError::Corrupt(format!("a line's foreign amount: {e}"));
    Ok(Some(Foreign {
        currency: currency
            .parse()
            .map_err(|e: crate::domain::MoneyError| bad(e.to_string()))?,
        amount: r.money("fx_amount")?.unwrap_or_default(),
        rate: r.money("fx_rate")?.unwrap_or_default(),
        rate_date: r.get("fx_rate_date")?,
        rate_source: r
            .get::<String>("fx_rate_source")?
            .parse::<RateSource>()
            .map_err(bad)?,
    }))
}

/// Which entries to read; the database does the choosing.
#[derive(Debug, Clone, Copy)]
enum Which {
    All,
    Id(i64),
    /// Dated from/to (inclusive; either may be open).
    Dated(Option<NaiveDate>, Option<NaiveDate>),
    FiscalYear(i32),
    /// One page of the REST API's list: the `limit` entries after entry `after` (posting
    /// order) in the journal, dated from/to (inclusive; any may be open).
    Page {
        after: i64,
        limit: i64,
        journal: Option<Journal>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
}

impl Which {
    /// The WHERE clause on `e` and its parameters, added to `q`.
    fn apply<'q>(self, q: impl FnOnce(&str) -> Sql<'q>) -> Sql<'q> {
        match self {
            Which::All => q(""),
            Which::Id(id) => q("WHERE e.id = $1").bind(id),
            Which::Dated(from, to) => q("WHERE ($1 IS NULL OR e.entry_date >= $1) \
                 AND ($2 IS NULL OR e.entry_date <= $2)")
            .bind(from)
            .bind(to),
            Which::FiscalYear(y) => q("WHERE e.fiscal_year = $1").bind(i64::from(y)),
            Which::Page {
                after,
                limit,
                journal,
                from,
                to,
            } => q(
                "WHERE e.id IN (SELECT p.id FROM ledger_entries p WHERE p.id > $1 \
                 AND (CAST($2 AS TEXT) IS NULL OR p.journal = $2) \
                 AND ($3 IS NULL OR p.entry_date >= $3) AND ($4 IS NULL OR p.entry_date <= $4) \
                 ORDER BY p.id LIMIT $5)",
            )
            .bind(after)
            .bind(journal.map(|j| j.code()))
            .bind(from)
            .bind(to)
            .bind(limit),
        }
    }
}

/// One page of entries in posting order for the REST API: at most `limit` after entry `after`,
/// in `journal` (any when None), dated from/to (inclusive).
pub(crate) async fn entries_page(
    db: &super::db::Db,
    after: i64,
    limit: u32,
    journal: Option<Journal>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<PostedEntry>, StoreError> {
    let which = Which::Page {
        after,
        limit: i64::from(limit),
        journal,
        from,
        to,
    };
    load(db, which).await
}

/// The chosen entries with their lines and matching codes, in posting order.
async fn load<'c>(
    on: impl Into<super::db::On<'c>>,
    which: Which,
) -> Result<Vec<PostedEntry>, StoreError> {
    let mut on: super::db::On = on.into();
    let rows = which
        .apply(|filter| {
            sql(format!(
                "SELECT {ENTRY_COLUMNS}, l.line_no, l.account, l.aux_code, l.aux_name, \
                 l.label AS line_label, l.debit, l.credit, {FX_COLUMNS} \
                 FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id {filter} \
                 ORDER BY e.id, l.line_no"
            ))
        })
        .fetch_all(on.again(), "reading ledger entries")
        .await?;
    let mut out: Vec<PostedEntry> = Vec::new();
    for r in &rows {
        let id: i64 = r.get("id")?;
        if out.last().map(|e| e.id) != Some(id) {
            out.push(entry_from_row(r)?);
        }
        let aux = match (
            r.get::<Option<String>>("aux_code")?,
            r.get::<Option<String>>("aux_name")?,
        ) {
            (Some(code), name) => Some(Auxiliary {
                code,
                name: name.unwrap_or_default(),
            }),
            _ => None,
        };
        let corrupt = |e: String| StoreError::Corrupt(format!("ledger entry {id}: {e}"));
        let line = Line {
            account: AccountNumber::parse(&r.get::<String>("account")?).map_err(corrupt)?,
            auxiliary: aux,
            label: r.get("line_label")?,
            debit: r.money("debit")?.unwrap_or_default(),
            credit: r.money("credit")?.unwrap_or_default(),
            foreign: foreign_of(r)?,
        };
        if let Some(e) = out.last_mut() {
            e.body.lines.push(line);
        }
    }
    let matches = which
        .apply(|filter| {
            sql(format!(
                "SELECT m.entry_id, m.line_no, m.code, m.matched_on FROM ledger_matches m \
                 JOIN ledger_entries e ON e.id = m.entry_id {filter}"
            ))
        })
        .fetch_all(on.again(), "reading matching codes")
        .await?;
    for r in &matches {
        let id: i64 = r.get("entry_id")?;
        let line: i64 = r.get("line_no")?;
        if let Some(e) = out.iter_mut().find(|e| e.id == id) {
            e.matches.push(LineMatch {
                line: (line - 1) as usize,
                code: r.get("code")?,
                on: r.get("matched_on")?,
            });
        }
    }
    Ok(out)
}

fn entry_from_row(r: &Row) -> Result<PostedEntry, StoreError> {
    let id: i64 = r.get("id")?;
    let corrupt = |e: String| StoreError::Corrupt(format!("ledger entry {id}: {e}"));
    let journal: Journal = r
        .get::<String>("journal")?
        .parse()
        .map_err(|e: LedgerError| corrupt(e.to_string()))?;
    Ok(PostedEntry {
        id,
        fiscal_year: r.get("fiscal_year")?,
        number: r.get("number")?,
        validated_at: r.get::<DateTime<Utc>>("validated_at")?,
        body: EntryBody {
            journal,
            date: r.get("entry_date")?,
            label: r.get("label")?,
            piece_ref: r.get("piece_ref")?,
            piece_date: r.get("piece_date")?,
            currency: r
                .get::<String>("currency")?
                .parse()
                .map_err(|e: crate::domain::MoneyError| corrupt(e.to_string()))?,
            document: r.get::<Option<i64>>("document_id")?.map(DocumentId),
            reverses: r.get("reverses")?,
            lines: Vec::new(),
        },
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
        matches: Vec::new(),
    })
}

/// Where the chain first breaks in `entries` (in posting order), if it does.
pub fn check_chain(entries: &[PostedEntry]) -> ChainCheck {
    let mut prev = GENESIS.to_string();
    for e in entries {
        let broken = |why: &str| ChainCheck::Broken {
            id: e.id,
            number: e.entry_number(),
            why: why.to_string(),
        };
        if e.prev_hash != prev {
            return broken("it does not link to the entry before it (one was removed or changed)");
        }
        let debit: Decimal = e.body.lines.iter().map(|l| l.debit).sum();
        let credit: Decimal = e.body.lines.iter().map(|l| l.credit).sum();
        if debit != credit {
            return broken("its lines do not balance");
        }
        let again = link(
            &e.prev_hash,
            &content_hash(&e.body),
            &e.entry_number(),
            e.validated_at,
        );
        if again != e.hash {
            return broken("its content is not what was posted (a stored value was changed)");
        }
        prev = e.hash.clone();
    }
    ChainCheck::Holds {
        entries: entries.len() as u64,
    }
}

#[async_trait]
impl LedgerStore for SqlStore {
    async fn post_entry(
        &self,
        entry: &NewEntry,
        fiscal_start_month: u32,
    ) -> Result<PostedEntry, StoreError> {
        let mut tx = self.db.begin_write("starting a posting").await?;
        let posted = post(&mut tx, entry, fiscal_start_month).await?;
        tx.commit("committing a posting").await?;
        Ok(posted)
    }

    async fn ledger_entries(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<PostedEntry>, StoreError> {
        load(&self.db, Which::Dated(from, to)).await
    }

    async fn fiscal_year_entries(&self, year: i32) -> Result<Vec<PostedEntry>, StoreError> {
        load(&self.db, Which::FiscalYear(year)).await
    }

    async fn trial_balance(&self, to: Option<NaiveDate>) -> Result<Vec<Balance>, StoreError> {
        let mut sums: BTreeMap<(String, Option<String>), (Decimal, Decimal)> = BTreeMap::new();
        for e in self.ledger_entries(None, to).await? {
            for l in e.body.lines {
                let key = (l.account.to_string(), l.auxiliary.map(|a| a.code));
                let s = sums.entry(key).or_default();
                s.0 += l.debit;
                s.1 += l.credit;
            }
        }
        Ok(sums
            .into_iter()
            .map(|((account, auxiliary), (debit, credit))| Balance {
                account,
                auxiliary,
                debit,
                credit,
            })
            .collect())
    }

    async fn verify_chain(&self) -> Result<ChainCheck, StoreError> {
        Ok(check_chain(&load(&self.db, Which::All).await?))
    }

    async fn pay_with(
        &self,
        document: DocumentId,
        amount: Decimal,
        date: NaiveDate,
        options: &PayOptions<'_>,
    ) -> Result<Payment, StoreError> {
        let reference = options.reference;
        let invalid = |s: String| StoreError::Invalid(format!("document {document}: {s}"));
        if amount <= Decimal::ZERO {
            return Err(invalid(format!(
                "{amount} is not an amount to pay: write a positive amount"
            )));
        }
        let key = format!(
            "pay:{}:{date}:{}:{}",
            document.0,
            amount.normalize(),
            reference.unwrap_or("")
        );
        let mut tx = self.db.begin_write("starting a payment").await?;
        lock_ledger(&mut tx).await?;
        let lines = supplier_lines(&mut tx, document).await?;
        let Some(first) = lines.first().cloned() else {
            return Err(invalid(
                "it is not posted to a supplier account: only a posted invoice is paid".into(),
            ));
        };
        let (piece, entry_currency): (String, String) = {
            let r = sql("SELECT piece_ref, currency FROM ledger_entries WHERE id = $1")
                .bind(first.entry)
                .fetch_optional(&mut tx, "reading the invoice's entry")
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("ledger entry {}", first.entry)))?;
            (r.get("piece_ref")?, r.get("currency")?)
        };
        let company: Currency = entry_currency
            .parse()
            .map_err(|e: crate::domain::MoneyError| StoreError::Corrupt(e.to_string()))?;
        let open = owed(document, &lines, company)?;
        let foreign = open.currency != company;
        let replay: Option<i64> = sql("SELECT id FROM ledger_entries WHERE posting_key = $1")
            .bind(key.as_str())
            .scalar(&mut tx, "looking up a payment")
            .await?;
        if let Some(id) = replay {
            let entry = load(&mut tx, Which::Id(id))
                .await?
                .pop()
                .ok_or_else(|| StoreError::Corrupt(format!("ledger entry {id} vanished")))?;
            tx.commit("ending a replayed payment").await?;
            return replayed(document, entry, &open, amount, options.rate);
        }
        let Some(aux) = first.aux.clone() else {
            return Err(invalid(
                "it is not posted to a supplier account: only a posted invoice is paid".into(),
            ));
        };
        let dp = open.currency.minor_unit_digits();
        if amount.round_dp(dp) != amount {
            return Err(invalid(format!(
                "{amount} is not an amount to pay: write a positive amount with at most {dp} \
                 decimals"
            )));
        }
        if open.amount <= Decimal::ZERO {
            return Err(invalid("nothing is open on it".into()));
        }
        // A finding no person has overridden holds the payment: an IBAN the supplier never
        // used, or another supplier's (D6), or a copy found since (the rules ran again).
        let held: Option<Row> = sql(
            "SELECT rule, evidence FROM duplicate_findings WHERE document_id = $1 \
             AND overridden_by IS NULL ORDER BY id LIMIT 1",
        )
        .bind(document.0)
        .fetch_optional(&mut tx, "reading standing findings")
        .await?;
        if let Some(r) = held {
            return Err(invalid(format!(
                "payment held: {} ({}): a person's override of the finding releases it \
                 (for an IBAN, confirm it with the supplier first)",
                r.get::<String>("evidence")?,
                r.get::<String>("rule")?
            )));
        }
        if amount > open.amount {
            let cur = if foreign {
                format!(" {}", open.currency)
            } else {
                String::new()
            };
            return Err(invalid(format!(
                "{amount}{cur} is more than the {}{cur} still open",
                open.amount
            )));
        }
        let label: String = format!("Règlement {} {piece}", aux.name)
            .chars()
            .take(100)
            .collect();
        let account = |n: &str| AccountNumber::parse(n).map_err(StoreError::Invalid);
        use crate::ledger::account::pcg;
        let settles = amount == open.amount;
        let (mut lines_out, paid_rate, company_amount, difference) = if !foreign {
            if options.rate.is_some() {
                return Err(invalid(format!(
                    "the invoice is in {company}, the company's currency: a payment of it has \
                     no rate"
                )));
            }
            (
                vec![
                    Line::debit(account(pcg::SUPPLIERS)?, &label, amount).with_auxiliary(aux),
                    Line::credit(account(pcg::BANK)?, &label, amount),
                ],
                None,
                amount,
                Decimal::ZERO,
            )
        } else {
            let rate = match options.rate {
                Some(r) => {
                    Rate::new(open.currency, date, r, RateSource::Manual).map_err(&invalid)?
                }
                None => crate::store::rates::rate_on(&mut tx, open.currency, date)
                    .await?
                    .ok_or_else(|| {
                        invalid(format!(
                            "no {} rate on {date} or the {} days before: give the bank's \
                             (--rate, {} for 1 {company}) or import the ECB's rates \
                             (facteur rates import)",
                            open.currency,
                            crate::ledger::fx::MAX_STALENESS_DAYS,
                            open.currency
                        ))
                    })?,
            };
            // The supplier line takes off the invoice's own company-currency value of what is
            // paid: its share of what is open, all of it when the payment settles. A part
            // payment always leaves at least a cent, so what is still owed in the invoice's
            // currency is never worth nothing in the company's.
            let cent = Decimal::new(1, company.minor_unit_digits());
            let supplier_c = if settles {
                open.company
            } else {
                round_half_up(
                    open.company * amount / open.amount,
                    company.minor_unit_digits(),
                )
                .min(open.company - cent)
            };
            let bank_c = rate.to_company(amount, company);
            let cur = open.currency;
            if supplier_c <= Decimal::ZERO && settles {
                return Err(invalid(format!(
                    "{} {cur} are open but nothing in {company}: settle it with an entry of \
                     your own",
                    open.amount
                )));
            }
            if supplier_c <= Decimal::ZERO || (bank_c <= Decimal::ZERO && !settles) {
                return Err(invalid(format!(
                    "{amount} {cur} is worth less than a cent of what is still owed: pay all \
                     {} {cur} at once",
                    open.amount
                )));
            }
            let booked = open.booked_at.clone().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "document {document}: a foreign invoice without rate"
                ))
            })?;
            let mut l = vec![Line::debit(account(pcg::SUPPLIERS)?, &label, supplier_c)
                .with_auxiliary(aux)
                .with_foreign(Foreign { amount, ..booked })];
            // The last few units of a currency may be worth less than a cent: no bank line then.
            if bank_c > Decimal::ZERO {
                l.push(
                    Line::credit(account(pcg::BANK)?, &label, bank_c)
                        .with_foreign(Foreign::at(&rate, amount)),
                );
            }
            let difference = bank_c - supplier_c;
            if difference > Decimal::ZERO {
                l.push(Line::debit(
                    account(pcg::EXCHANGE_LOSS)?,
                    &format!("Perte de change {label}"),
                    difference,
                ));
            } else if difference < Decimal::ZERO {
                l.push(Line::credit(
                    account(pcg::EXCHANGE_GAIN)?,
                    &format!("Gain de change {label}"),
                    -difference,
                ));
            }
            (l, Some(rate), bank_c, difference)
        };
        // VAT on receipts: the payment's share of the VAT still waiting on 445668 becomes
        // deductible (all of what waits when it settles the invoice).
        let waiting = pending_vat(&mut tx, document).await?;
        let released = if waiting <= Decimal::ZERO {
            Decimal::ZERO
        } else if settles {
            waiting
        } else {
            round_half_up(waiting * amount / open.amount, company.minor_unit_digits())
        };
        if released > Decimal::ZERO {
            let vat_label = format!("TVA sur encaissements {label}");
            lines_out.push(Line::debit(
                account(pcg::DEDUCTIBLE_VAT)?,
                &vat_label,
                released,
            ));
            lines_out.push(Line::credit(
                account(pcg::VAT_ON_RECEIPTS)?,
                &vat_label,
                released,
            ));
        }
        let entry = NewEntry::new(
            EntryBody {
                journal: Journal::Bank,
                date,
                label: label.clone(),
                piece_ref: reference.unwrap_or(&piece).to_string(),
                piece_date: date,
                currency: company,
                document: Some(document),
                reverses: None,
                lines: lines_out,
            },
            &key,
        )
        .map_err(refused)?;
        let mut posted = post(&mut tx, &entry, options.fiscal_start_month).await?;
        let open_after = open.amount - amount;
        let mut matched = None;
        if open_after.is_zero() {
            let used: i64 = sql("SELECT COUNT(DISTINCT code) FROM ledger_matches")
                .scalar(&mut tx, "counting matching codes")
                .await?
                .unwrap_or(0);
            let code = matching_code(used as u64);
            let settled = supplier_lines(&mut tx, document).await?;
            for l in settled {
                sql(
                    "INSERT INTO ledger_matches (code, entry_id, line_no, matched_on) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(code.as_str())
                .bind(l.entry)
                .bind(l.line_no)
                .bind(Some(date))
                .execute(&mut tx, "matching settled lines")
                .await?;
            }
            super::unit::move_document(
                &mut tx,
                document,
                DocumentState::Posted,
                DocumentState::Paid,
                &format!(
                    "paid in full by {} (matching code {code})",
                    posted.entry_number()
                ),
                now_micros(),
            )
            .await?;
            posted.matches.push(LineMatch {
                line: 0,
                code: code.clone(),
                on: date,
            });
            matched = Some(code);
        }
        tx.commit("committing a payment").await?;
        Ok(Payment {
            entry: posted,
            currency: open.currency,
            open_before: open.amount,
            open_after,
            company_amount,
            rate: paid_rate,
            exchange_difference: difference,
            vat_released: released,
            matched,
            replayed: false,
        })
    }

    async fn open_items_in_currency(&self) -> Result<Vec<OpenItem>, StoreError> {
        let mut tx = self.db.begin_read("reading open items").await?;
        let docs: Vec<(i64, String)> = sql(
            "SELECT DISTINCT e.document_id, e.currency FROM ledger_lines l \
             JOIN ledger_entries e ON e.id = l.entry_id \
             WHERE e.document_id IS NOT NULL AND l.account = $1 ORDER BY e.document_id",
        )
        .bind(crate::ledger::account::pcg::SUPPLIERS)
        .fetch_all(&mut tx, "reading documents with supplier lines")
        .await?
        .iter()
        .map(|r| Ok((r.get("document_id")?, r.get("currency")?)))
        .collect::<Result<_, StoreError>>()?;
        let mut out = Vec::new();
        for (doc, currency) in docs {
            let document = DocumentId(doc);
            let company: Currency = currency
                .parse()
                .map_err(|e: crate::domain::MoneyError| StoreError::Corrupt(e.to_string()))?;
            let lines = supplier_lines(&mut tx, document).await?;
            let Ok(o) = owed(document, &lines, company) else {
                continue;
            };
            if o.amount > Decimal::ZERO {
                out.push(OpenItem {
                    document,
                    currency: o.currency,
                    amount: o.amount,
                    company_amount: o.company,
                });
            }
        }
        tx.rollback("ending a read").await?;
        Ok(out)
    }

    async fn open_items(&self) -> Result<Vec<(DocumentId, Decimal)>, StoreError> {
        let mut open: BTreeMap<i64, Decimal> = BTreeMap::new();
        for r in sql(
            "SELECT e.document_id, l.debit, l.credit FROM ledger_lines l \
             JOIN ledger_entries e ON e.id = l.entry_id \
             WHERE e.document_id IS NOT NULL AND l.account = $1",
        )
        .bind(crate::ledger::account::pcg::SUPPLIERS)
        .fetch_all(&self.db, "reading open items")
        .await?
        {
            let doc: i64 = r.get("document_id")?;
            *open.entry(doc).or_default() +=
                r.money("credit")?.unwrap_or_default() - r.money("debit")?.unwrap_or_default();
        }
        Ok(open
            .into_iter()
            .filter(|(_, o)| *o > Decimal::ZERO)
            .map(|(d, o)| (DocumentId(d), o))
            .collect())
    }

    async fn entries_to_export(
        &self,
        format: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        again: bool,
    ) -> Result<Vec<PostedEntry>, StoreError> {
        let all = self.ledger_entries(from, to).await?;
        if again {
            return Ok(all);
        }
        let done: Vec<i64> = sql("SELECT entry_id FROM exported_entries WHERE format = $1")
            .bind(format)
            .fetch_all(&self.db, "reading exported entries")
            .await?
            .iter()
            .map(|r| r.get("entry_id"))
            .collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|e| !done.contains(&e.id)).collect())
    }

    async fn record_export(
        &self,
        format: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        entries: &[i64],
        path: &str,
        again: bool,
    ) -> Result<i64, StoreError> {
        let mut tx = self.db.begin_write("starting an export batch").await?;
        let id: i64 = sql(
            "INSERT INTO export_batches (format, from_date, to_date, entry_count, path, \
             exported_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(format)
        .bind(from)
        .bind(to)
        .bind(entries.len() as i64)
        .bind(path)
        .bind(now_micros())
        .scalar(&mut tx, "recording an export batch")
        .await?
        .ok_or_else(|| StoreError::Corrupt("an export batch got no id".into()))?;
        for e in entries {
            let written = sql(
                "INSERT INTO exported_entries (format, entry_id, batch_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(format)
            .bind(*e)
            .bind(id)
            .execute(&mut tx, "recording an exported entry")
            .await?;
            if written == 0 && !again {
                return Err(StoreError::Conflict(format!(
                    "ledger entry {e} was exported to {format} meanwhile: export again to see what is left"
                )));
            }
        }
        tx.commit("committing an export batch").await?;
        Ok(id)
    }

    async fn lock_period(&self, date: NaiveDate, by: &str) -> Result<(), StoreError> {
        sql("INSERT INTO ledger_locks (lock_date, locked_by, locked_at) VALUES ($1, $2, $3)")
            .bind(Some(date))
            .bind(by)
            .bind(now_micros())
            .execute(&self.db, "locking a period")
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_codes_run_like_spreadsheet_columns() {
        let codes: Vec<String> = [0, 1, 25, 26, 27, 701, 702].map(matching_code).to_vec();
        assert_eq!(codes, ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]);
    }
}
