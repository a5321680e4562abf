//! What happens to an issued invoice until it is paid (migrations/*/0016_reminders.sql): its
//! history, sending it, disputes, reminders and the customer payments that statement lines
//! bring. What is still owed is always read from the ledger (the 411 lines whose piece
//! reference is the invoice's number or one of its credit notes'), never from a copy.
//!
//! Every mail is committed with its cause: sending and each reminder queue their outbox row in
//! the transaction that records them, so a crash leaves both or neither; a reminder step is
//! recorded once per invoice (a unique constraint), so two runs racing or a run repeated after a
//! crash never queue a step twice. A customer payment posts Dr 512 / Cr 411 and claims its
//! statement line in one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::{sql, Row, Tx};
use super::ledger::{matching_code, post};
use super::outbox::{queue_mail, OutgoingMail};
use super::receivables::{load_customer, load_sale};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, ContentHash};
use crate::ledger::bank::matching::OpenSale;
use crate::ledger::PostedEntry;
use crate::receivables::history::{Dispute, Event, EventKind};
use crate::receivables::reminders::StepDays;
use crate::receivables::templates::Template;
use crate::receivables::{Customer, SaleKind, SaleState, SalesInvoice};

/// An issued invoice still owed something, with what the reminders need to know.
#[derive(Debug, Clone, Serialize)]
pub struct Receivable {
    pub sale: SalesInvoice,
    pub customer: Customer,
    /// Owed at the date asked, from the ledger.
    pub open: Decimal,
    pub dispute: Option<Dispute>,
    /// The reminder steps sent already (their days).
    pub reminded: Vec<StepDays>,
}

/// A reminder to record with its mail.
#[derive(Debug, Clone)]
pub struct NewReminder {
    pub sale: i64,
    pub step_days: StepDays,
    pub template: Template,
    /// The day the run is for (the controlled clock of the tests, today otherwise).
    pub run_date: NaiveDate,
}

/// What recording a reminder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reminded {
    /// Recorded and its mail queued (the Message-ID).
    Queued(String),
    /// Not sent, and why: the step was sent already (another run), the invoice was paid or
    /// disputed meanwhile.
    Skipped(String),
}

/// An issued invoice with an open dispute (`facteur report disputed`).
#[derive(Debug, Clone, Serialize)]
pub struct DisputedSale {
    pub sale_id: i64,
    pub number: String,
    pub customer: String,
    pub customer_account: String,
    pub currency: String,
    pub gross: Decimal,
    /// Still owed now, from the ledger (0 when paid meanwhile).
    pub open: Decimal,
    pub due_date: Option<NaiveDate>,
    pub since: DateTime<Utc>,
    pub opened_by: String,
    pub reason: String,
}

/// What a customer payment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerPayment {
    pub entry: PostedEntry,
    pub number: String,
    pub open_before: Decimal,
    pub open_after: Decimal,
}

#[async_trait]
pub trait CollectionStore: Send + Sync {
    /// Sale `id`'s history, oldest first.
    async fn sale_history(&self, id: i64) -> Result<Vec<Event>, StoreError>;

    /// Queues `mail` with the issued invoice's PDF attached (`<number>.pdf`) and records it on
    /// the invoice's history. `Conflict` when it was sent before, unless `again`.
    async fn send_sale(
        &self,
        id: i64,
        mail: &OutgoingMail,
        by: &str,
        again: bool,
    ) -> Result<String, StoreError>;

    /// Marks issued invoice `id` disputed (litige): reminders stop. `Conflict` when it is already.
    async fn dispute_sale(&self, id: i64, reason: &str, by: &str) -> Result<(), StoreError>;

    /// Closes the dispute of invoice `id`: reminders resume. `Invalid` when none is open.
    async fn resolve_dispute(&self, id: i64, by: &str) -> Result<Dispute, StoreError>;

    /// Every open dispute with its invoice and customer, oldest first.
    async fn open_disputes(&self) -> Result<Vec<DisputedSale>, StoreError>;

    /// Every issued invoice still owed something at `at` (entries dated up to it), oldest first.
    async fn receivables(&self, at: NaiveDate) -> Result<Vec<Receivable>, StoreError>;

    /// Records reminder `r` and queues `mail` (the invoice's PDF attached) in one transaction,
    /// after checking again that the invoice is still owed and not disputed.
    async fn record_reminder(
        &self,
        r: &NewReminder,
        mail: &OutgoingMail,
    ) -> Result<Reminded, StoreError>;

    /// The issued invoices still owed something now, as the bank matching sees them.
    async fn open_sales(&self) -> Result<Vec<OpenSale>, StoreError>;

    /// Books statement line `line` (money in) as a payment of issued invoice `sale`: Dr 512 /
    /// Cr 411 (the customer's account), the invoice's number as piece reference, in the same
    /// transaction as the line's claim; the settling payment letters the invoice's lines.
    /// `Invalid` when the line is not money in, pays more than is owed, or is booked already.
    async fn receive_payment(
        &self,
        line: i64,
        sale: i64,
        by: &str,
        fiscal_start_month: u32,
    ) -> Result<CustomerPayment, StoreError>;
}

const EVENT_COLUMNS: &str = "at, actor, kind, detail, message_id";

fn event_from_row(r: &Row) -> Result<Event, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Event {
        at: r.get("at")?,
        actor: r.get("actor")?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("sale event kind '{kind}'")))?,
        detail: r.get("detail")?,
        message_id: r.get("message_id")?,
    })
}

/// Adds an event to sale `id`'s history.
pub(super) async fn record_event(
    tx: &mut Tx,
    id: i64,
    by: &str,
    kind: EventKind,
    detail: &str,
    message_id: Option<&str>,
) -> Result<(), StoreError> {
    sql(
        "INSERT INTO sales_events (sale_id, at, actor, kind, detail, message_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(now_micros())
    .bind(by)
    .bind(kind.as_str())
    .bind(detail)
    .bind(message_id)
    .execute(tx, "recording a sale's history")
    .await?;
    Ok(())
}

/// An issued invoice (not a draft, not a credit note), or why not.
async fn issued_invoice(tx: &mut Tx, id: i64) -> Result<SalesInvoice, StoreError> {
    let sale = load_sale(tx, id).await?;
    if sale.kind != SaleKind::Invoice || sale.state != SaleState::Issued {
        return Err(StoreError::Invalid(format!(
            "sale {id} is a {} {}: only an issued invoice is sent, disputed or reminded",
            sale.state.as_str(),
            sale.kind.as_str()
        )));
    }
    Ok(sale)
}

/// Stores the issued PDF of `sale` as a blob (the outbox attaches blobs); its name and hash.
async fn pdf_attachment(
    tx: &mut Tx,
    sale: &SalesInvoice,
) -> Result<(String, ContentHash), StoreError> {
    let pdf: Vec<u8> = sql("SELECT pdf FROM sales_invoices WHERE id = $1")
        .bind(sale.id)
        .scalar::<Option<Vec<u8>>>(&mut *tx, "reading a sale's PDF")
        .await?
        .flatten()
        .ok_or_else(|| StoreError::Corrupt(format!("issued sale {} has no PDF", sale.id)))?;
    let hash = ContentHash::of(&pdf);
    sql(
        "INSERT INTO blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(hash.as_str())
    .bind(pdf.len() as i64)
    .bind(pdf.as_slice())
    .bind(now_micros())
    .execute(&mut *tx, "storing an invoice PDF to attach")
    .await?;
    let name = format!("{}.pdf", sale.number.as_deref().unwrap_or("invoice"));
    Ok((name, hash))
}

async fn open_dispute(tx: &mut Tx, id: i64) -> Result<Option<Dispute>, StoreError> {
    sql("SELECT reason, opened_by, opened_at FROM sales_disputes \
         WHERE sale_id = $1 AND resolved_at IS NULL")
    .bind(id)
    .fetch_optional(&mut *tx, "reading a dispute")
    .await?
    .map(|r| {
        Ok(Dispute {
            reason: r.get("reason")?,
            opened_by: r.get("opened_by")?,
            opened_at: r.get("opened_at")?,
        })
    })
    .transpose()
}

/// What the ledger's customer lines (411) dated up to `at` add up to, per piece reference.
async fn owed_by_piece(
    tx: &mut Tx,
    at: Option<NaiveDate>,
) -> Result<HashMap<String, Decimal>, StoreError> {
    let text = format!(
        "SELECT e.piece_ref, l.debit, l.credit FROM ledger_lines l \
         JOIN ledger_entries e ON e.id = l.entry_id \
         WHERE l.account LIKE '{}%'",
        crate::ledger::account::pcg::CUSTOMERS
    );
    let query = match at {
        Some(at) => sql(format!("{text} AND e.entry_date <= $1")).bind(Some(at)),
        None => sql(text),
    };
    let rows = query
        .fetch_all(&mut *tx, "reading the customer lines of the ledger")
        .await?;
    let mut owed: HashMap<String, Decimal> = HashMap::new();
    for r in &rows {
        let debit = r.money("debit")?.unwrap_or_default();
        let credit = r.money("credit")?.unwrap_or_default();
        *owed.entry(r.get("piece_ref")?).or_default() += debit - credit;
    }
    Ok(owed)
}

/// Credit note numbers per credited invoice id.
async fn credit_notes(tx: &mut Tx) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let rows = sql("SELECT credits, number FROM sales_invoices \
         WHERE kind = 'credit_note' AND state = 'issued' AND credits IS NOT NULL")
    .fetch_all(&mut *tx, "reading credit notes")
    .await?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &rows {
        if let Some(n) = r.get::<Option<String>>("number")? {
            out.entry(r.get("credits")?).or_default().push(n);
        }
    }
    Ok(out)
}

/// What is owed on `sale`: its own lines and its credit notes', from `owed`.
fn open_of(
    sale: &SalesInvoice,
    owed: &HashMap<String, Decimal>,
    notes: &HashMap<i64, Vec<String>>,
) -> Decimal {
    let Some(number) = &sale.number else {
        return Decimal::ZERO;
    };
    let own = owed.get(number).copied().unwrap_or_default();
    let credited: Decimal = notes
        .get(&sale.id)
        .into_iter()
        .flatten()
        .filter_map(|n| owed.get(n))
        .sum();
    own + credited
}

/// What is owed on `sale` now or at `at`, read inside `tx`.
async fn open_now(
    tx: &mut Tx,
    sale: &SalesInvoice,
    at: Option<NaiveDate>,
) -> Result<Decimal, StoreError> {
    let owed = owed_by_piece(tx, at).await?;
    let notes = credit_notes(tx).await?;
    Ok(open_of(sale, &owed, &notes))
}

async fn issued_invoices(tx: &mut Tx) -> Result<Vec<SalesInvoice>, StoreError> {
    let ids: Vec<Row> = sql("SELECT id FROM sales_invoices \
         WHERE kind = 'invoice' AND state = 'issued' ORDER BY id")
    .fetch_all(&mut *tx, "listing issued invoices")
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for r in &ids {
        out.push(load_sale(tx, r.get("id")?).await?);
    }
    Ok(out)
}

/// Letters (one matching code) the customer lines of `sale` and its credit notes, once settled.
async fn letter_sale(
    tx: &mut Tx,
    sale: &SalesInvoice,
    on: NaiveDate,
) -> Result<String, StoreError> {
    let notes = credit_notes(tx).await?;
    let mut pieces: Vec<String> = sale.number.iter().cloned().collect();
    pieces.extend(notes.get(&sale.id).into_iter().flatten().cloned());
    let used: i64 = sql("SELECT COUNT(DISTINCT code) FROM ledger_matches")
        .scalar(&mut *tx, "counting matching codes")
        .await?
        .unwrap_or(0);
    let code = matching_code(used as u64);
    for piece in &pieces {
        let rows = sql(format!(
            "SELECT l.entry_id, l.line_no FROM ledger_lines l \
             JOIN ledger_entries e ON e.id = l.entry_id \
             WHERE l.account LIKE '{}%' AND e.piece_ref = $1",
            crate::ledger::account::pcg::CUSTOMERS
        ))
        .bind(piece.as_str())
        .fetch_all(&mut *tx, "reading an invoice's customer lines")
        .await?;
        for r in &rows {
            sql(
                "INSERT INTO ledger_matches (code, entry_id, line_no, matched_on) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(code.as_str())
            .bind(r.get::<i64>("entry_id")?)
            .bind(r.get::<i64>("line_no")?)
            .bind(Some(on))
            .execute(&mut *tx, "lettering a settled invoice")
            .await?;
        }
    }
    Ok(code)
}

#[async_trait]
impl CollectionStore for SqlStore {
    async fn sale_history(&self, id: i64) -> Result<Vec<Event>, StoreError> {
        sql(format!(
            "SELECT {EVENT_COLUMNS} FROM sales_events WHERE sale_id = $1 ORDER BY id"
        ))
        .bind(id)
        .fetch_all(&self.db, "reading a sale's history")
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn send_sale(
        &self,
        id: i64,
        mail: &OutgoingMail,
        by: &str,
        again: bool,
    ) -> Result<String, StoreError> {
        let mut tx = self.db.begin_write("starting to send an invoice").await?;
        let sale = issued_invoice(&mut tx, id).await?;
        let number = sale.number.clone().unwrap_or_default();
        let earlier: Option<Row> = sql("SELECT at, detail FROM sales_events \
             WHERE sale_id = $1 AND kind = 'sent' ORDER BY id DESC LIMIT 1")
        .bind(id)
        .fetch_optional(&mut tx, "looking up an earlier sending")
        .await?;
        if let (Some(r), false) = (earlier, again) {
            let at: DateTime<Utc> = r.get("at")?;
            return Err(StoreError::Conflict(format!(
                "invoice {number} was sent on {} ({}): add --again to send it once more",
                at.format("%Y-%m-%d %H:%M UTC"),
                r.get::<String>("detail")?
            )));
        }
        let mut mail = mail.clone();
        mail.attachment = Some(pdf_attachment(&mut tx, &sale).await?);
        let message_id = queue_mail(&mut tx, &mail, now_micros()).await?;
        let detail = format!(
            "to {}{}: {}",
            mail.recipient,
            if again { " (again)" } else { "" },
            mail.subject
        );
        record_event(&mut tx, id, by, EventKind::Sent, &detail, Some(&message_id)).await?;
        tx.commit("committing an invoice's sending").await?;
        Ok(message_id)
    }

    async fn dispute_sale(&self, id: i64, reason: &str, by: &str) -> Result<(), StoreError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "a dispute needs its reason: --reason \"quantities delivered differ\"".into(),
            ));
        }
        let mut tx = self.db.begin_write("starting a dispute").await?;
        let sale = issued_invoice(&mut tx, id).await?;
        if let Some(d) = open_dispute(&mut tx, id).await? {
            return Err(StoreError::Conflict(format!(
                "invoice {} is in dispute already since {} ({}): `facteur sales resolve {id}` closes it",
                sale.number.as_deref().unwrap_or("?"),
                d.opened_at.format("%Y-%m-%d"),
                d.reason
            )));
        }
        sql(
            "INSERT INTO sales_disputes (sale_id, reason, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(reason)
        .bind(by)
        .bind(now_micros())
        .execute(&mut tx, "opening a dispute")
        .await?;
        record_event(&mut tx, id, by, EventKind::Disputed, reason, None).await?;
        tx.commit("committing a dispute").await?;
        Ok(())
    }

    async fn resolve_dispute(&self, id: i64, by: &str) -> Result<Dispute, StoreError> {
        let mut tx = self.db.begin_write("starting to close a dispute").await?;
        let sale = issued_invoice(&mut tx, id).await?;
        let Some(d) = open_dispute(&mut tx, id).await? else {
            return Err(StoreError::Invalid(format!(
                "invoice {} is not in dispute",
                sale.number.as_deref().unwrap_or("?")
            )));
        };
        sql(
            "UPDATE sales_disputes SET resolved_by = $1, resolved_at = $2 \
             WHERE sale_id = $3 AND resolved_at IS NULL",
        )
        .bind(by)
        .bind(now_micros())
        .bind(id)
        .execute(&mut tx, "closing a dispute")
        .await?;
        let detail = format!("dispute of {} closed: {}", d.opened_by, d.reason);
        record_event(&mut tx, id, by, EventKind::Resolved, &detail, None).await?;
        tx.commit("committing a closed dispute").await?;
        Ok(d)
    }

    async fn open_disputes(&self) -> Result<Vec<DisputedSale>, StoreError> {
        let mut tx = self.db.begin_read("reading the open disputes").await?;
        let owed = owed_by_piece(&mut tx, None).await?;
        let notes = credit_notes(&mut tx).await?;
        let rows = sql("SELECT d.sale_id, d.reason, d.opened_by, d.opened_at \
             FROM sales_disputes d WHERE d.resolved_at IS NULL ORDER BY d.opened_at, d.id")
        .fetch_all(&mut tx, "listing the open disputes")
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let sale = load_sale(&mut tx, r.get("sale_id")?).await?;
            let customer = load_customer(&mut tx, sale.customer_id).await?;
            out.push(DisputedSale {
                sale_id: sale.id,
                number: sale.number.clone().unwrap_or_default(),
                customer: customer.details.name,
                customer_account: customer.account,
                currency: sale.currency.as_str().to_string(),
                gross: sale.gross,
                open: open_of(&sale, &owed, &notes).max(Decimal::ZERO),
                due_date: sale.due_date,
                since: r.get("opened_at")?,
                opened_by: r.get("opened_by")?,
                reason: r.get("reason")?,
            });
        }
        tx.rollback("ending a read").await?;
        Ok(out)
    }

    async fn receivables(&self, at: NaiveDate) -> Result<Vec<Receivable>, StoreError> {
        let mut tx = self.db.begin_read("reading receivables").await?;
        let owed = owed_by_piece(&mut tx, Some(at)).await?;
        let notes = credit_notes(&mut tx).await?;
        let mut out = Vec::new();
        for sale in issued_invoices(&mut tx).await? {
            if sale.issue_date.is_none_or(|d| d > at) {
                continue;
            }
            let open = open_of(&sale, &owed, &notes);
            if open <= Decimal::ZERO {
                continue;
            }
            let customer = load_customer(&mut tx, sale.customer_id).await?;
            let dispute = open_dispute(&mut tx, sale.id).await?;
            let reminded = sql("SELECT step_days FROM sales_reminders WHERE sale_id = $1 \
                 ORDER BY step_days")
            .bind(sale.id)
            .fetch_all(&mut tx, "reading the reminders sent")
            .await?
            .iter()
            .map(|r| r.get::<i64>("step_days"))
            .collect::<Result<Vec<_>, _>>()?;
            out.push(Receivable {
                sale,
                customer,
                open,
                dispute,
                reminded,
            });
        }
        tx.rollback("ending a read").await?;
        Ok(out)
    }

    async fn record_reminder(
        &self,
        r: &NewReminder,
        mail: &OutgoingMail,
    ) -> Result<Reminded, StoreError> {
        let mut tx = self.db.begin_write("starting a reminder").await?;
        let sale = issued_invoice(&mut tx, r.sale).await?;
        // Checked again inside the transaction that records it: a payment or a dispute that
        // came after the run read the receivables stops it.
        if let Some(d) = open_dispute(&mut tx, r.sale).await? {
            return Ok(Reminded::Skipped(format!("in dispute: {}", d.reason)));
        }
        let open = open_now(&mut tx, &sale, Some(r.run_date)).await?;
        if open <= Decimal::ZERO {
            return Ok(Reminded::Skipped("paid".into()));
        }
        let mut mail = mail.clone();
        mail.attachment = Some(pdf_attachment(&mut tx, &sale).await?);
        let queued = queue_mail(&mut tx, &mail, now_micros()).await?;
        let inserted = sql(
            "INSERT INTO sales_reminders (sale_id, step_days, template, run_date, open, \
             recipient, message_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (sale_id, step_days) DO NOTHING",
        )
        .bind(r.sale)
        .bind(r.step_days)
        .bind(r.template.as_str())
        .bind(Some(r.run_date))
        .money(Some(open))
        .bind(mail.recipient.as_str())
        .bind(queued.as_str())
        .bind(now_micros())
        .execute(&mut tx, "recording a reminder")
        .await?;
        if inserted == 0 {
            // Another run recorded this step first: its mail is the one that goes out; this
            // transaction's queued copy is rolled back with it.
            tx.rollback("dropping a reminder sent already").await?;
            return Ok(Reminded::Skipped("this step was sent already".into()));
        }
        let label = crate::receivables::reminders::Step {
            days: r.step_days,
            template: r.template,
        }
        .label();
        let detail = format!(
            "{label} {} to {}, {open} open: {}",
            r.template.as_str(),
            mail.recipient,
            mail.subject
        );
        record_event(
            &mut tx,
            r.sale,
            "facteur: reminders",
            EventKind::Reminded,
            &detail,
            Some(&queued),
        )
        .await?;
        tx.commit("committing a reminder").await?;
        Ok(Reminded::Queued(queued))
    }

    async fn open_sales(&self) -> Result<Vec<OpenSale>, StoreError> {
        let mut tx = self.db.begin_read("reading open customer invoices").await?;
        let owed = owed_by_piece(&mut tx, None).await?;
        let notes = credit_notes(&mut tx).await?;
        let mut out = Vec::new();
        for sale in issued_invoices(&mut tx).await? {
            let open = open_of(&sale, &owed, &notes);
            if open <= Decimal::ZERO {
                continue;
            }
            let customer = load_customer(&mut tx, sale.customer_id).await?;
            out.push(OpenSale {
                sale: sale.id,
                number: sale.number.clone().unwrap_or_default(),
                open,
                customer: customer.details.name,
            });
        }
        tx.rollback("ending a read").await?;
        Ok(out)
    }

    async fn receive_payment(
        &self,
        line: i64,
        sale_id: i64,
        by: &str,
        fiscal_start_month: u32,
    ) -> Result<CustomerPayment, StoreError> {
        let mut tx = self.db.begin_write("starting a customer payment").await?;
        let l = sql(
            "SELECT account, line_key, booking_date, amount, currency, reference, \
             bank_ref, entry_id FROM bank_lines WHERE id = $1",
        )
        .bind(line)
        .fetch_optional(&mut tx, "reading a statement line")
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("statement line {line}")))?;
        if let Some(e) = l.get::<Option<i64>>("entry_id")? {
            return Err(StoreError::Conflict(format!(
                "statement line {line} is booked already (entry {e})"
            )));
        }
        let amount = l
            .money("amount")?
            .ok_or_else(|| StoreError::Corrupt(format!("statement line {line} has no amount")))?;
        if amount <= Decimal::ZERO {
            return Err(StoreError::Invalid(format!(
                "statement line {line} is money out ({amount}): it pays a supplier, not a customer invoice"
            )));
        }
        let sale = issued_invoice(&mut tx, sale_id).await?;
        let number = sale.number.clone().unwrap_or_default();
        if l.get::<String>("currency")? != sale.currency.as_str() {
            return Err(StoreError::Invalid(format!(
                "statement line {line} is in {}, invoice {number} in {}",
                l.get::<String>("currency")?,
                sale.currency
            )));
        }
        // The ledger is locked by `post`; take the lock first so the open amount read here is
        // still the truth when the payment lands.
        super::ledger::lock_ledger(&mut tx).await?;
        let open_before = open_now(&mut tx, &sale, None).await?;
        if amount > open_before {
            return Err(StoreError::Invalid(format!(
                "pays {amount} on invoice {number}, which has {open_before} open"
            )));
        }
        let customer = load_customer(&mut tx, sale.customer_id).await?;
        let date: NaiveDate = l.get("booking_date")?;
        let key = format!(
            "ar-pay:{}:{}",
            l.get::<String>("account")?,
            l.get::<String>("line_key")?
        );
        let entry = crate::receivables::posting::receipt_entry(
            &customer,
            &number,
            amount,
            date,
            sale.currency,
            &key,
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let posted = post(&mut tx, &entry, fiscal_start_month).await?;
        let claimed = sql(
            "UPDATE bank_lines SET sale_id = $1, entry_id = $2, matched_by = $3, \
             matched_at = $4, note = NULL WHERE id = $5 AND entry_id IS NULL",
        )
        .bind(sale.id)
        .bind(posted.id)
        .bind(by)
        .bind(now_micros())
        .bind(line)
        .execute(&mut tx, "claiming a statement line for a customer payment")
        .await?;
        if claimed != 1 {
            return Err(StoreError::Conflict(format!(
                "statement line {line} was booked meanwhile"
            )));
        }
        let open_after = open_before - amount;
        let detail = if open_after.is_zero() {
            let code = letter_sale(&mut tx, &sale, date).await?;
            format!(
                "{amount} received on {date} ({}), paid in full (matching code {code})",
                posted.entry_number()
            )
        } else {
            format!(
                "{amount} received on {date} ({}), {open_after} still open",
                posted.entry_number()
            )
        };
        record_event(&mut tx, sale.id, by, EventKind::Paid, &detail, None).await?;
        tx.commit("committing a customer payment").await?;
        Ok(CustomerPayment {
            entry: posted,
            number,
            open_before,
            open_after,
        })
    }
}
