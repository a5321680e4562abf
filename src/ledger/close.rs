//! Year-end: the opening entry (à-nouveaux, journal AN) of the next fiscal year, carrying every
//! balance-sheet account's balance (supplier and customer accounts one by one) and the year's
//! result (classes 6 and 7) into 120 (profit) or 129 (loss). Its key is the year, so closing twice
//! posts it once; the caller locks the closed year.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{pcg, AccountNumber};
use super::entry::{Auxiliary, LedgerError, Line, NewEntry, PostedEntry};
use crate::domain::Currency;

/// The opening entry of the year that starts on `opens`, from the closed year's `entries`.
/// None when nothing carries forward.
pub fn opening_entry(
    entries: &[PostedEntry],
    opens: NaiveDate,
    currency: Currency,
) -> Result<Option<NewEntry>, LedgerError> {
    let mut carried: BTreeMap<(AccountNumber, Option<String>), (Decimal, Option<Auxiliary>)> =
        BTreeMap::new();
    let mut result = Decimal::ZERO;
    for e in entries {
        for l in &e.body.lines {
            let net = l.debit - l.credit;
            if pcg::carried_forward(l.account.as_str()) {
                let key = (
                    l.account.clone(),
                    l.auxiliary.as_ref().map(|a| a.code.clone()),
                );
                let slot = carried
                    .entry(key)
                    .or_insert((Decimal::ZERO, l.auxiliary.clone()));
                slot.0 += net;
            } else {
                result += net;
            }
        }
    }
    let label = super::opening::label(opens);
    let mut lines: Vec<Line> = carried
        .into_iter()
        .filter_map(|((account, _), (net, aux))| super::opening::line(account, aux, net, &label))
        .collect();
    // Expenses exceed income: a loss, carried as a debit.
    let parse = |n: &str| AccountNumber::parse(n).map_err(LedgerError::Invalid);
    let result_account = if result > Decimal::ZERO {
        pcg::LOSS
    } else {
        pcg::PROFIT
    };
    lines.extend(super::opening::line(
        parse(result_account)?,
        None,
        result,
        &label,
    ));
    if lines.is_empty() {
        return Ok(None);
    }
    super::opening::posting(lines, opens, currency).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Journal;
    use rust_decimal_macros::dec;

    fn posted(lines: Vec<Line>) -> PostedEntry {
        let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        PostedEntry::sample(1, Journal::Purchases, d, lines)
    }

    #[test]
    fn balances_carry_forward_and_the_result_closes_into_120_or_129() {
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        let acme = Auxiliary::of('F', "732829320", "ACME");
        let year = [
            posted(vec![
                Line::debit(acc("606"), "x", dec!(100)),
                Line::debit(acc("44566"), "x", dec!(20)),
                Line::credit(acc("401"), "x", dec!(120)).with_auxiliary(acme.clone()),
            ]),
            posted(vec![
                Line::debit(acc("401"), "x", dec!(50)).with_auxiliary(acme.clone()),
                Line::credit(acc("512"), "x", dec!(50)),
            ]),
        ];
        let opens = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let e = opening_entry(&year, opens, Currency::EUR).unwrap().unwrap();
        let lines: Vec<(String, Decimal, Decimal)> = e
            .body()
            .lines
            .iter()
            .map(|l| (l.account.to_string(), l.debit, l.credit))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("401".into(), dec!(0), dec!(70)),
                ("44566".into(), dec!(20), dec!(0)),
                ("512".into(), dec!(0), dec!(50)),
                ("129".into(), dec!(100), dec!(0)),
            ]
        );
        assert_eq!(e.body().lines[0].auxiliary, Some(acme));
        assert_eq!(e.key(), "opening:2027-01-01");
        assert_eq!(e.body().journal, Journal::Opening);
        assert!(opening_entry(&[], opens, Currency::EUR).unwrap().is_none());
    }
}
