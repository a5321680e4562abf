//! The 13-week cash forecast: the bank balance today, then week by week what customers owe
//! (open items of 411 by due date) coming in and what the company owes suppliers (open items of
//! 401, plus invoices approved but not yet posted) going out.
//!
//! Method, as the report states it: an item is expected on its due date; items already past due
//! are expected in the first week (and shown apart, since they are the uncertain part); items due
//! after the 13th week are totalled apart and not in the weeks. Opening cash is the balance of
//! the bank accounts (512) in the trial balance at the report date.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

/// Weeks in the forecast.
pub const WEEKS: u64 = 13;

/// One expected movement: an open item of either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub due: NaiveDate,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Week {
    /// 1-based.
    pub number: u64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub receipts: Decimal,
    pub payments: Decimal,
    /// `receipts − payments`.
    pub net: Decimal,
    /// Cash at the end of the week.
    pub cash: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forecast {
    pub at: NaiveDate,
    pub method: &'static str,
    pub opening_cash: Decimal,
    /// Past due at `at`, inside week 1's figures.
    pub overdue_receipts: Decimal,
    pub overdue_payments: Decimal,
    pub weeks: Vec<Week>,
    /// Due after the last week: not in the weeks.
    pub later_receipts: Decimal,
    pub later_payments: Decimal,
}

pub const METHOD: &str =
    "each open item on its due date; past-due items in week 1; opening cash = \
                          balance of 512 in the trial balance at the report date";

/// The forecast from `at` (week 1 is `at` and the 6 days after it).
pub fn forecast(
    at: NaiveDate,
    opening_cash: Decimal,
    receipts: &[Expected],
    payments: &[Expected],
) -> Forecast {
    let last = at + Days::new(WEEKS * 7 - 1);
    let week_of = |due: NaiveDate| -> Option<u64> {
        if due > last {
            None
        } else if due <= at {
            Some(0)
        } else {
            Some((due - at).num_days() as u64 / 7)
        }
    };
    let mut inflow = vec![Decimal::ZERO; WEEKS as usize];
    let mut outflow = vec![Decimal::ZERO; WEEKS as usize];
    let (mut later_receipts, mut later_payments) = (Decimal::ZERO, Decimal::ZERO);
    for (items, per_week, later) in [
        (receipts, &mut inflow, &mut later_receipts),
        (payments, &mut outflow, &mut later_payments),
    ] {
        for e in items {
            match week_of(e.due) {
                Some(w) => per_week[w as usize] += e.amount,
                None => *later += e.amount,
            }
        }
    }
    let overdue = |items: &[Expected]| -> Decimal {
        items.iter().filter(|e| e.due < at).map(|e| e.amount).sum()
    };
    let mut cash = opening_cash;
    let weeks = (0..WEEKS)
        .map(|w| {
            let start = at + Days::new(w * 7);
            let (r, p) = (inflow[w as usize], outflow[w as usize]);
            cash += r - p;
            Week {
                number: w + 1,
                start,
                end: start + Days::new(6),
                receipts: r,
                payments: p,
                net: r - p,
                cash,
            }
        })
        .collect();
    Forecast {
        at,
        method: METHOD,
        opening_cash,
        overdue_receipts: overdue(receipts),
        overdue_payments: overdue(payments),
        weeks,
        later_receipts,
        later_payments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn e(due: NaiveDate, amount: Decimal) -> Expected {
        Expected { due, amount }
    }

    #[test]
    fn items_fall_in_their_week_overdue_in_the_first_and_later_ones_apart() {
        let f = forecast(
            d(6, 30),
            dec!(620),
            &[
                e(d(2, 24), dec!(700)),
                e(d(7, 6), dec!(10)),
                e(d(7, 7), dec!(800)),
                e(d(9, 28), dec!(5)),
                e(d(9, 29), dec!(1000)),
            ],
            &[e(d(6, 20), dec!(60)), e(d(6, 30), dec!(40))],
        );
        assert_eq!(f.weeks.len(), 13);
        assert_eq!((f.weeks[0].start, f.weeks[0].end), (d(6, 30), d(7, 6)));
        assert_eq!(f.weeks[0].receipts, dec!(710));
        assert_eq!(f.weeks[0].payments, dec!(100));
        assert_eq!(f.weeks[0].cash, dec!(1230));
        assert_eq!(f.weeks[1].receipts, dec!(800));
        assert_eq!(f.weeks[12].end, d(9, 28));
        assert_eq!(f.weeks[12].receipts, dec!(5));
        assert_eq!(f.later_receipts, dec!(1000));
        // Due today is not overdue; due before is.
        assert_eq!(
            (f.overdue_receipts, f.overdue_payments),
            (dec!(700), dec!(60))
        );
        assert_eq!(f.weeks[12].cash, dec!(620) + dec!(1515) - dec!(100));
    }
}
