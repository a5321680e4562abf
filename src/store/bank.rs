//! Bank statement lines (migrations/*/0010_bank.sql): recorded once per bank account and key,
//! then matched to the invoice they pay and linked to the payment entry that books them. The
//! payment itself is the ledger's (`LedgerStore::pay`): matching claims the line for an invoice
//! first, then pays, then links, so a run cut short between the two finds the claim again and
//! `pay` returns the payment already booked under the same key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::{sql, Row};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, DocumentId};
use crate::ledger::bank::matching::{BookedPayment, OpenInvoice};
use crate::ledger::bank::StatementLine;

/// A statement line as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankLine {
    pub id: i64,
    /// The ledger's bank account it belongs to.
    pub account: String,
    pub statement_iban: Option<String>,
    #[serde(flatten)]
    pub line: StatementLine,
    /// The invoice it pays, once matched.
    pub document: Option<DocumentId>,
    /// The issued customer invoice it pays (money in), once booked.
    pub sale: Option<i64>,
    pub matched_by: Option<String>,
    pub matched_at: Option<DateTime<Utc>>,
    /// The payment entry that books it.
    pub entry: Option<i64>,
    /// Why it waits for a person.
    pub note: Option<String>,
}

/// What recording a statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub import: i64,
    /// Lines seen for the first time.
    pub new: u64,
    /// Lines recorded by an earlier import.
    pub known: u64,
}

/// A statement file being recorded.
#[derive(Debug, Clone)]
pub struct StatementFile<'a> {
    pub account: &'a str,
    pub format: &'a str,
    pub source: &'a str,
    pub sha256: &'a str,
    pub iban: Option<&'a str>,
}

#[async_trait]
pub trait BankStore: Send + Sync {
    /// Records the lines of a statement; a line already recorded for the account is left as is.
    async fn record_statement(
        &self,
        file: &StatementFile<'_>,
        lines: &[StatementLine],
    ) -> Result<Recorded, StoreError>;

    /// The lines of every account, in the order recorded; only those no payment books yet when
    /// `waiting`.
    async fn bank_lines(&self, waiting: bool) -> Result<Vec<BankLine>, StoreError>;

    async fn bank_line(&self, id: i64) -> Result<BankLine, StoreError>;

    /// Claims line `id` for `document` (facteur's rule or a person, `by`). A line already booked
    /// is a conflict; a claim not booked yet may be changed.
    async fn claim_bank_line(
        &self,
        id: i64,
        document: DocumentId,
        by: &str,
    ) -> Result<(), StoreError>;

    /// Links line `id` to the payment entry that books it.
    async fn link_bank_line(&self, id: i64, entry: i64) -> Result<(), StoreError>;

    /// Notes why line `id` waits for a person.
    async fn note_bank_line(&self, id: i64, note: &str) -> Result<(), StoreError>;

    /// The posted invoices something is still owed on, with their number.
    async fn open_invoices(&self) -> Result<Vec<OpenInvoice>, StoreError>;

    /// Payments in the bank journal no statement line is linked to.
    async fn unlinked_payments(&self) -> Result<Vec<BookedPayment>, StoreError>;
}

const LINE_COLUMNS: &str = "id, account, statement_iban, line_key, booking_date, value_date, \
     amount, currency, reference, counterparty, counterparty_iban, bank_ref, end_to_end, \
     batch_ref, reversal, document_id, sale_id, matched_by, matched_at, entry_id, note";

fn line_from_row(r: &Row) -> Result<BankLine, StoreError> {
    let id: i64 = r.get("id")?;
    Ok(BankLine {
        id,
        account: r.get("account")?,
        statement_iban: r.get("statement_iban")?,
        line: StatementLine {
            booking_date: r.get("booking_date")?,
            value_date: r.get("value_date")?,
            amount: r
                .money("amount")?
                .ok_or_else(|| StoreError::Corrupt(format!("bank line {id} has no amount")))?,
            currency: r
                .get::<String>("currency")?
                .parse()
                .map_err(|e: crate::domain::MoneyError| StoreError::Corrupt(e.to_string()))?,
            reference: r.get("reference")?,
            counterparty: r.get("counterparty")?,
            counterparty_iban: r.get("counterparty_iban")?,
            bank_ref: r.get("bank_ref")?,
            end_to_end: r.get("end_to_end")?,
            batch_ref: r.get("batch_ref")?,
            reversal: r.get("reversal")?,
            key: r.get("line_key")?,
        },
        document: r.get::<Option<i64>>("document_id")?.map(DocumentId),
        sale: r.get("sale_id")?,
        matched_by: r.get("matched_by")?,
        matched_at: r.get("matched_at")?,
        entry: r.get("entry_id")?,
        note: r.get("note")?,
    })
}

#[async_trait]
impl BankStore for SqlStore {
    async fn record_statement(
        &self,
        file: &StatementFile<'_>,
        lines: &[StatementLine],
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.db.begin_write("starting a statement import").await?;
        let import: i64 = sql(
            "INSERT INTO bank_imports (account, format, source, sha256, line_count, new_lines, \
             imported_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(file.account)
        .bind(file.format)
        .bind(file.source)
        .bind(file.sha256)
        .bind(lines.len() as i64)
        .bind(now_micros())
        .scalar(&mut tx, "recording a statement import")
        .await?
        .ok_or_else(|| StoreError::Corrupt("a statement import got no id".into()))?;
        let mut new = 0u64;
        for l in lines {
            new += sql(
                "INSERT INTO bank_lines (account, line_key, import_id, statement_iban, \
                 booking_date, value_date, amount, currency, reference, counterparty, \
                 counterparty_iban, bank_ref, end_to_end, batch_ref, reversal) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (account, line_key) DO NOTHING",
            )
            .bind(file.account)
            .bind(l.key.as_str())
            .bind(import)
            .bind(file.iban)
            .bind(Some(l.booking_date))
            .bind(l.value_date)
            .money(Some(l.amount))
            .bind(l.currency.to_string())
            .bind(l.reference.as_str())
            .bind(l.counterparty.as_deref())
            .bind(l.counterparty_iban.as_deref())
            .bind(l.bank_ref.as_deref())
            .bind(l.end_to_end.as_deref())
            .bind(l.batch_ref.as_deref())
            .bind(l.reversal)
            .execute(&mut tx, "recording a statement line")
            .await?;
        }
        sql("UPDATE bank_imports SET new_lines = $1 WHERE id = $2")
            .bind(new as i64)
            .bind(import)
            .execute(&mut tx, "counting new statement lines")
            .await?;
        tx.commit("committing a statement import").await?;
        Ok(Recorded {
            import,
            new,
            known: lines.len() as u64 - new,
        })
    }

    async fn bank_lines(&self, waiting: bool) -> Result<Vec<BankLine>, StoreError> {
        sql(format!(
            "SELECT {LINE_COLUMNS} FROM bank_lines WHERE ($1 = FALSE OR entry_id IS NULL) \
             ORDER BY id"
        ))
        .bind(waiting)
        .fetch_all(&self.db, "reading statement lines")
        .await?
        .iter()
        .map(line_from_row)
        .collect()
    }

    async fn bank_line(&self, id: i64) -> Result<BankLine, StoreError> {
        let row = sql(format!(
            "SELECT {LINE_COLUMNS} FROM bank_lines WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.db, "reading a statement line")
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("statement line {id}")))?;
        line_from_row(&row)
    }

    async fn claim_bank_line(
        &self,
        id: i64,
        document: DocumentId,
        by: &str,
    ) -> Result<(), StoreError> {
        let n = sql(
            "UPDATE bank_lines SET document_id = $1, matched_by = $2, matched_at = $3, \
             note = NULL WHERE id = $4 AND entry_id IS NULL",
        )
        .bind(document.0)
        .bind(by)
        .bind(now_micros())
        .bind(id)
        .execute(&self.db, "claiming a statement line")
        .await?;
        if n == 0 {
            let line = self.bank_line(id).await?;
            return Err(StoreError::Conflict(format!(
                "statement line {id} is booked already (entry {})",
                line.entry.unwrap_or_default()
            )));
        }
        Ok(())
    }

    async fn link_bank_line(&self, id: i64, entry: i64) -> Result<(), StoreError> {
        sql("UPDATE bank_lines SET entry_id = $1, note = NULL WHERE id = $2")
            .bind(entry)
            .bind(id)
            .execute(&self.db, "linking a statement line to its payment")
            .await?;
        Ok(())
    }

    async fn note_bank_line(&self, id: i64, note: &str) -> Result<(), StoreError> {
        sql("UPDATE bank_lines SET note = $1 WHERE id = $2")
            .bind(note)
            .bind(id)
            .execute(&self.db, "noting why a statement line waits")
            .await?;
        Ok(())
    }

    async fn open_invoices(&self) -> Result<Vec<OpenInvoice>, StoreError> {
        let open = crate::store::LedgerStore::open_items(self).await?;
        let mut out = Vec::with_capacity(open.len());
        for (document, owed) in open {
            let number: Option<String> = sql(
                "SELECT piece_ref FROM ledger_entries WHERE document_id = $1 AND journal = $2 \
                 ORDER BY id LIMIT 1",
            )
            .bind(document.0)
            .bind(crate::ledger::Journal::Purchases.code())
            .scalar(&self.db, "reading an invoice's number")
            .await?;
            out.push(OpenInvoice {
                document,
                number: number.unwrap_or_default(),
                open: owed,
                iban: None,
            });
        }
        Ok(out)
    }

    async fn unlinked_payments(&self) -> Result<Vec<BookedPayment>, StoreError> {
        let rows = sql("SELECT e.id, e.document_id, e.piece_ref, l.debit, \
             (SELECT i.piece_ref FROM ledger_entries i WHERE i.document_id = e.document_id \
              AND i.journal = $2 ORDER BY i.id LIMIT 1) AS number \
             FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id \
             WHERE e.journal = $1 AND e.document_id IS NOT NULL AND l.account = $3 \
             AND NOT EXISTS (SELECT 1 FROM bank_lines b WHERE b.entry_id = e.id) \
             AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses = e.id) \
             ORDER BY e.id, l.line_no")
        .bind(crate::ledger::Journal::Bank.code())
        .bind(crate::ledger::Journal::Purchases.code())
        .bind(crate::ledger::account::pcg::SUPPLIERS)
        .fetch_all(&self.db, "reading payments not on a statement")
        .await?;
        let mut out: Vec<BookedPayment> = Vec::new();
        for r in &rows {
            let entry: i64 = r.get("id")?;
            let debit: Decimal = r.money("debit")?.unwrap_or_default();
            if debit.is_zero() {
                continue;
            }
            match out.last_mut() {
                Some(b) if b.entry == entry => b.amount += debit,
                _ => out.push(BookedPayment {
                    entry,
                    document: DocumentId(r.get("document_id")?),
                    piece_ref: r.get("piece_ref")?,
                    number: r.get::<Option<String>>("number")?.unwrap_or_default(),
                    amount: debit,
                }),
            }
        }
        Ok(out)
    }
}
