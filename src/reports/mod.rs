//! Reports read from the ledger (issue 13): the aged balance of customers (411) and suppliers
//! (401), DSO / DPO, and the 13-week cash forecast. This module owns gathering what they need from the store (ledger
//! lines dated up to the report date, the due dates of issued sales and of extracted supplier
//! invoices, the trial balance they must reconcile with); the arithmetic lives in `aged`,
//! `days` and `forecast` and is pure.

pub mod aged;
pub mod days;
pub mod forecast;

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::PostedEntry;
use crate::receivables::{SaleKind, SaleState};
use crate::store::{Store, StoreError};

pub use aged::{Aged, Item, OpenLine};
pub use days::Days;
pub use forecast::Forecast;

/// Which side of the books a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Receivables: customers, account 411.
    Ar,
    /// Payables: suppliers, account 401.
    Ap,
}

impl Side {
    /// The control account (its sub-accounts count too).
    pub fn account(self) -> &'static str {
        match self {
            Side::Ar => crate::ledger::account::pcg::CUSTOMERS,
            Side::Ap => crate::ledger::account::pcg::SUPPLIERS,
        }
    }

    /// Whether a line's account belongs to this side.
    pub fn holds(self, account: &str) -> bool {
        account.starts_with(self.account())
    }

    /// What a line adds to what is owed (to us for AR: debit − credit; by us for AP: credit −
    /// debit).
    pub fn owed(self, debit: Decimal, credit: Decimal) -> Decimal {
        match self {
            Side::Ar => debit - credit,
            Side::Ap => credit - debit,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ar => "ar",
            Side::Ap => "ap",
        }
    }
}

/// The lines of `side` dated up to `at`, each tied to its open item: a supplier invoice by
/// its document, a customer invoice by its number (its credit notes and the payments whose
/// piece reference is that number join it), else by matching code, else by piece reference.
pub fn open_lines(
    side: Side,
    entries: &[PostedEntry],
    sale_of_number: &HashMap<String, (String, Option<NaiveDate>)>,
    due_of_document: &HashMap<i64, NaiveDate>,
) -> Vec<OpenLine> {
    let mut out = Vec::new();
    for e in entries {
        for (i, l) in e.body.lines.iter().enumerate() {
            if !side.holds(l.account.as_str()) {
                continue;
            }
            let (party, name) = l
                .auxiliary
                .as_ref()
                .map(|a| (a.code.clone(), a.name.clone()))
                .unwrap_or_else(|| (l.account.to_string(), String::new()));
            let code = e.matches.iter().find(|m| m.line == i).map(|m| &m.code);
            let (item, reference, due) = match (side, e.body.document) {
                (Side::Ap, Some(doc)) => (
                    format!("doc:{}", doc.0),
                    e.body.piece_ref.clone(),
                    due_of_document.get(&doc.0).copied(),
                ),
                _ => match sale_of_number.get(&e.body.piece_ref) {
                    Some((invoice, due)) if side == Side::Ar => {
                        // Only the invoice's own entry carries its due date.
                        let own = *invoice == e.body.piece_ref;
                        (
                            format!("sale:{invoice}"),
                            invoice.clone(),
                            if own { *due } else { None },
                        )
                    }
                    _ => match code {
                        Some(c) => (format!("match:{c}"), e.body.piece_ref.clone(), None),
                        None => (
                            format!("piece:{}", e.body.piece_ref),
                            e.body.piece_ref.clone(),
                            None,
                        ),
                    },
                },
            };
            out.push(OpenLine {
                party,
                name,
                item,
                reference,
                date: e.body.date,
                due,
                amount: side.owed(l.debit, l.credit),
            });
        }
    }
    out
}

/// The balance of `side`'s control accounts in the trial balance at `at`.
pub async fn ledger_balance(
    store: &dyn Store,
    side: Side,
    at: NaiveDate,
) -> Result<Decimal, StoreError> {
    Ok(store
        .trial_balance(Some(at))
        .await?
        .iter()
        .filter(|b| side.holds(&b.account))
        .map(|b| side.owed(b.debit, b.credit))
        .sum())
}

/// The aged balance of `side` at `at`, reconciled with the trial balance.
pub async fn aged_balance(
    store: &dyn Store,
    side: Side,
    at: NaiveDate,
) -> Result<Aged, StoreError> {
    let entries = store.ledger_entries(None, Some(at)).await?;
    let mut sales = HashMap::new();
    let mut due_of_document = HashMap::new();
    match side {
        Side::Ar => {
            let all = store.sales().await?;
            let number_of: HashMap<i64, String> = all
                .iter()
                .filter_map(|s| Some((s.id, s.number.clone()?)))
                .collect();
            for s in all.iter().filter(|s| s.state == SaleState::Issued) {
                let Some(number) = s.number.clone() else {
                    continue;
                };
                match (s.kind, s.credits.and_then(|c| number_of.get(&c))) {
                    (SaleKind::CreditNote, Some(invoice)) => {
                        sales.insert(number, (invoice.clone(), None));
                    }
                    _ => {
                        sales.insert(number.clone(), (number, s.due_date));
                    }
                }
            }
        }
        Side::Ap => {
            let docs: std::collections::BTreeSet<i64> = entries
                .iter()
                .filter(|e| e.body.lines.iter().any(|l| side.holds(l.account.as_str())))
                .filter_map(|e| e.body.document.map(|d| d.0))
                .collect();
            for d in docs {
                let record = store.document(crate::domain::DocumentId(d)).await?;
                if let Some(due) = record.extraction.and_then(|x| x.invoice.due_date) {
                    due_of_document.insert(d, due);
                }
            }
        }
    }
    let lines = open_lines(side, &entries, &sales, &due_of_document);
    let balance = ledger_balance(store, side, at).await?;
    Ok(aged::aged(side, at, aged::items(&lines), balance))
}

/// DSO (AR) or DPO (AP) at `at` over the `period_days` before it.
pub async fn days_outstanding(
    store: &dyn Store,
    side: Side,
    at: NaiveDate,
    period_days: u32,
) -> Result<Days, StoreError> {
    let entries = store.ledger_entries(None, Some(at)).await?;
    let balance = ledger_balance(store, side, at).await?;
    Ok(days::days(side, at, &entries, period_days, balance))
}

/// The 13-week cash forecast at `at`: open items of both sides from the aged balances, supplier
/// invoices approved but not posted yet (in `currency`, the company's: others wait for their
/// rate), and the bank balance (512) as opening cash.
pub async fn cash_forecast(
    store: &dyn Store,
    at: NaiveDate,
    currency: &crate::domain::Currency,
) -> Result<Forecast, StoreError> {
    let expected = |a: Aged| -> Vec<forecast::Expected> {
        a.items
            .into_iter()
            .map(|i| forecast::Expected {
                due: i.due,
                amount: i.open,
            })
            .collect()
    };
    let receipts = expected(aged_balance(store, Side::Ar, at).await?);
    let mut payments = expected(aged_balance(store, Side::Ap, at).await?);
    for d in store
        .list_documents(Some(crate::domain::DocumentState::Approved), 100_000)
        .await?
    {
        let Some(x) = store.document_extraction(d.id).await? else {
            continue;
        };
        let inv = &x.invoice;
        if inv.currency.as_ref() != Some(currency) {
            continue;
        }
        if let (Some(gross), Some(due)) = (inv.total_gross, inv.due_date.or(inv.issue_date)) {
            payments.push(forecast::Expected { due, amount: gross });
        }
    }
    let cash: Decimal = store
        .trial_balance(Some(at))
        .await?
        .iter()
        .filter(|b| b.account.starts_with(crate::ledger::account::pcg::BANK))
        .map(|b| b.net())
        .sum();
    Ok(forecast::forecast(at, cash, &receipts, &payments))
}
