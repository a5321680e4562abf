//! DSO and DPO, pure, by the average method stated in every result:
//! days = (balance of the control account at the date / net credit flow over the period) ×
//! days in the period. For DSO the flow is the sales journal's net debits to 411 (invoices
//! minus credit notes); for DPO the purchases journal's net credits to 401. Days are rounded
//! to one decimal; with no flow in the period there is no figure, and the result says why.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::Side;
use crate::ledger::entry::Journal;
use crate::ledger::PostedEntry;

/// DSO (AR) or DPO (AP) at one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Days {
    pub side: Side,
    /// `DSO` or `DPO`.
    pub name: &'static str,
    pub at: NaiveDate,
    /// The first day of the period (the period ends at `at`, inclusive).
    pub from: NaiveDate,
    pub period_days: u32,
    pub method: String,
    /// The control account's balance at `at`.
    pub balance: Decimal,
    /// Net credit sales (DSO) or purchases (DPO) over the period.
    pub flow: Decimal,
    /// None when nothing was sold (bought) in the period.
    pub days: Option<Decimal>,
}

/// DSO or DPO of `side` at `at` from `entries` (those dated after `at` are ignored) and the
/// control account's `balance` at `at`.
pub fn days(
    side: Side,
    at: NaiveDate,
    entries: &[PostedEntry],
    period_days: u32,
    balance: Decimal,
) -> Days {
    let period_days = period_days.max(1);
    let from = at - Duration::days(i64::from(period_days) - 1);
    let journal = match side {
        Side::Ar => Journal::Sales,
        Side::Ap => Journal::Purchases,
    };
    let flow: Decimal = entries
        .iter()
        .filter(|e| e.body.journal == journal && e.body.date >= from && e.body.date <= at)
        .flat_map(|e| e.body.lines.iter())
        .filter(|l| side.holds(l.account.as_str()))
        .map(|l| side.owed(l.debit, l.credit))
        .sum();
    let (name, what, account) = match side {
        Side::Ar => (
            "DSO",
            "net credit sales (sales journal VE, invoices minus credit notes, on 411)",
            "receivables (411)",
        ),
        Side::Ap => (
            "DPO",
            "net credit purchases (purchases journal HA, on 401)",
            "payables (401)",
        ),
    };
    let days = (flow > Decimal::ZERO).then(|| {
        let mut d = (balance * Decimal::from(period_days) / flow).round_dp(1);
        d.rescale(1);
        d
    });
    Days {
        side,
        name,
        at,
        from,
        period_days,
        method: format!(
            "{name} = {account} balance at {at} / {what} from {from} to {at} × {period_days} days"
        ),
        balance,
        flow,
        days,
    }
}
