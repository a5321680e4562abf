//! The aged balance, pure: ledger lines grouped into open items (an invoice's unmatched
//! remainder), each put in a bucket by how many days past its due date it is at the report
//! date, summed per customer or supplier, with the totals set against the trial balance.
//!
//! Buckets: not due (due on or after the report date), 0–30 (1 to 30 days past due), 31–60,
//! 61–90, > 90. An item without a due date is due on its first entry's date.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Side;

/// The buckets' names, in order.
pub const BUCKETS: [&str; 5] = ["not due", "0-30", "31-60", "61-90", "> 90"];

/// One ledger line of the side's control account, tied to the item it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLine {
    /// The auxiliary account (`C…`, `F…`), or the account itself when the line has none.
    pub party: String,
    pub name: String,
    /// What groups lines into one item (a document, an invoice number, a matching code…).
    pub item: String,
    pub reference: String,
    pub date: NaiveDate,
    /// The item's due date, when this line is the one that knows it.
    pub due: Option<NaiveDate>,
    /// What the line adds to what is owed (negative: a payment, a credit note).
    pub amount: Decimal,
}

/// What is still open on one invoice (or payment on account) at the report date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub party: String,
    pub name: String,
    pub reference: String,
    pub date: NaiveDate,
    pub due: NaiveDate,
    pub days_past_due: i64,
    pub bucket: usize,
    pub open: Decimal,
}

/// One customer's or supplier's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyRow {
    pub party: String,
    pub name: String,
    /// Per bucket, in the order of `BUCKETS`.
    pub buckets: [Decimal; 5],
    pub total: Decimal,
}

/// The aged balance of one side at one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aged {
    pub side: Side,
    pub at: NaiveDate,
    pub account: &'static str,
    pub buckets: [&'static str; 5],
    pub parties: Vec<PartyRow>,
    pub totals: [Decimal; 5],
    pub total: Decimal,
    /// The control account's balance in the trial balance at the same date.
    pub ledger_balance: Decimal,
    /// `total − ledger_balance`: zero when the report reconciles.
    pub difference: Decimal,
    pub items: Vec<Item>,
}

/// Which bucket an item due on `due` falls in at `at`, and how many days past due it is.
pub fn bucket(due: NaiveDate, at: NaiveDate) -> (usize, i64) {
    let days = (at - due).num_days();
    let b = match days {
        d if d <= 0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    };
    (b, days)
}

/// Open items from lines: lines of one party and item are summed; an item that nets to zero is
/// closed and left out. Its date is its earliest line's; its due date the one a line gives,
/// else its date. Unbucketed (`days_past_due` and `bucket` are set by `aged`).
pub fn items(lines: &[OpenLine]) -> Vec<Item> {
    let mut groups: BTreeMap<(&str, &str), Vec<&OpenLine>> = BTreeMap::new();
    for l in lines {
        groups.entry((&l.party, &l.item)).or_default().push(l);
    }
    groups
        .into_values()
        .filter_map(|ls| {
            let open: Decimal = ls.iter().map(|l| l.amount).sum();
            if open.is_zero() {
                return None;
            }
            let first = ls.iter().min_by_key(|l| l.date)?;
            let own = ls.iter().find(|l| l.due.is_some()).unwrap_or(first);
            Some(Item {
                party: first.party.clone(),
                name: ls
                    .iter()
                    .map(|l| l.name.clone())
                    .find(|n| !n.is_empty())
                    .unwrap_or_default(),
                reference: own.reference.clone(),
                date: first.date,
                due: own.due.unwrap_or(first.date),
                days_past_due: 0,
                bucket: 0,
                open,
            })
        })
        .collect()
}

/// Buckets `items` at `at`, sums them per party and sets the total against `ledger_balance`.
pub fn aged(side: Side, at: NaiveDate, mut items: Vec<Item>, ledger_balance: Decimal) -> Aged {
    let mut parties: BTreeMap<String, PartyRow> = BTreeMap::new();
    let mut totals = [Decimal::ZERO; 5];
    for it in &mut items {
        let (b, days) = bucket(it.due, at);
        it.bucket = b;
        it.days_past_due = days.max(0);
        let row = parties.entry(it.party.clone()).or_insert_with(|| PartyRow {
            party: it.party.clone(),
            name: it.name.clone(),
            buckets: [Decimal::ZERO; 5],
            total: Decimal::ZERO,
        });
        row.buckets[b] += it.open;
        row.total += it.open;
        totals[b] += it.open;
    }
    items.sort_by(|a, b| (&a.party, a.due, &a.reference).cmp(&(&b.party, b.due, &b.reference)));
    let total: Decimal = totals.iter().sum();
    Aged {
        side,
        at,
        account: side.account(),
        buckets: BUCKETS,
        parties: parties.into_values().collect(),
        totals,
        total,
        ledger_balance,
        difference: total - ledger_balance,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn buckets_edges() {
        let at = d(6, 30);
        assert_eq!(bucket(d(7, 1), at), (0, -1));
        assert_eq!(bucket(at, at), (0, 0));
        assert_eq!(bucket(d(6, 29), at), (1, 1));
        assert_eq!(bucket(d(5, 31), at), (1, 30));
        assert_eq!(bucket(d(5, 30), at), (2, 31));
        assert_eq!(bucket(d(4, 1), at), (3, 90));
        assert_eq!(bucket(d(3, 31), at), (4, 91));
    }

    #[test]
    fn lines_net_into_items_and_closed_ones_drop() {
        let line = |item: &str, day: u32, due: Option<NaiveDate>, amount| OpenLine {
            party: "C1".into(),
            name: "Client".into(),
            item: item.into(),
            reference: item.into(),
            date: d(3, day),
            due,
            amount,
        };
        let lines = [
            line("A", 1, Some(d(4, 15)), dec!(100)),
            line("A", 20, None, dec!(-40)),
            line("B", 2, None, dec!(50)),
            line("B", 3, None, dec!(-50)),
        ];
        let it = items(&lines);
        assert_eq!(it.len(), 1);
        assert_eq!((it[0].open, it[0].due), (dec!(60), d(4, 15)));
        let a = aged(Side::Ar, d(5, 10), it, dec!(60));
        assert_eq!(a.totals, [dec!(0), dec!(60), dec!(0), dec!(0), dec!(0)]);
        assert_eq!(a.difference, Decimal::ZERO);
    }
}
