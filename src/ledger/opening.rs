//! Opening balances (à-nouveaux) from a trial balance in CSV, for a company whose earlier years
//! were kept elsewhere: one opening entry (journal AN) on the first day of a fiscal year, under
//! the same key as the opening `ledger close` posts (`opening:<date>`), so a year opens once:
//! the same file again returns the entry posted, another one is refused.
//!
//! The file: UTF-8, `;`-separated, a header line `account;auxiliary;name;debit;credit`, then one
//! line per account (or supplier/customer account) with its balance on one side:
//!
//! ```text
//! account;auxiliary;name;debit;credit
//! 101;;Capital;;10000,00
//! 401;FACME;ACME Fournitures;;1200,00
//! 512;;Banque;11200,00;
//! ```
//!
//! Each account must be a number of the chart (itself or under a listed account) in the
//! balance-sheet classes 1 to 5: the income statement (6, 7) closes into the result before a
//! year opens. Amounts take a point or a comma; a line with both sides keeps their difference.
//! The debits and credits of the file must be equal.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{pcg, AccountNumber, Chart};
use super::entry::{Auxiliary, EntryBody, Journal, LedgerError, Line, NewEntry};
use crate::domain::Currency;

pub const HEADER: [&str; 5] = ["account", "auxiliary", "name", "debit", "credit"];
/// More lines than this are refused.
pub const MAX_LINES: usize = 100_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpeningError {
    #[error("line {line}: {why}")]
    Line { line: u64, why: String },
    #[error(
        "the trial balance does not balance: debits {debit}, credits {credit}, a difference of \
         {difference} (the file ends at line {line})"
    )]
    Unbalanced {
        line: u64,
        debit: Decimal,
        credit: Decimal,
        difference: Decimal,
    },
    #[error("the trial balance has no balance to open with")]
    Empty,
    #[error(transparent)]
    Entry(#[from] LedgerError),
}

/// One account's opening balance: positive on the debit side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub account: AccountNumber,
    pub auxiliary: Option<Auxiliary>,
    pub net: Decimal,
}

fn money(s: &str) -> Option<Decimal> {
    let t: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return Some(Decimal::ZERO);
    }
    t.replace(',', ".")
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative() && d.scale() <= 2)
}

/// Reads the trial balance, checking each line against `chart`.
pub fn parse(bytes: &[u8], chart: &Chart) -> Result<Vec<Balance>, OpeningError> {
    let rows = super::semicolon_csv::rows(bytes, &HEADER, MAX_LINES)
        .map_err(|(line, why)| OpeningError::Line { line, why })?;
    let mut out = Vec::new();
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    let last = rows.last().map_or(1, |(line, _)| *line);
    for (line, rec) in rows {
        let err = |why: String| OpeningError::Line { line, why };
        let field = |i: usize| rec.get(i).unwrap_or_default().trim();
        let account = AccountNumber::parse(field(0)).map_err(&err)?;
        if !chart.knows(account.as_str()) {
            return Err(err(format!(
                "account {account} is not in the chart (nor under one of its accounts)"
            )));
        }
        if !pcg::carried_forward(account.as_str()) {
            return Err(err(format!(
                "account {account} is an income-statement account: a year opens with \
                 balance-sheet accounts (classes 1 to 5) only; last year's result goes to {} or {}",
                pcg::PROFIT,
                pcg::LOSS
            )));
        }
        let amount = |i: usize, side: &str| {
            money(field(i)).ok_or_else(|| {
                err(format!(
                    "{side} '{}' is not an amount (positive, at most 2 decimals)",
                    field(i)
                ))
            })
        };
        let (d, c) = (amount(3, "debit")?, amount(4, "credit")?);
        debit += d;
        credit += c;
        let code: String = field(1)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .take(17)
            .collect();
        let auxiliary = (!code.is_empty()).then(|| Auxiliary {
            code,
            name: field(2).to_string(),
        });
        if d != c {
            out.push(Balance {
                account,
                auxiliary,
                net: d - c,
            });
        }
    }
    if debit != credit {
        return Err(OpeningError::Unbalanced {
            line: last,
            debit,
            credit,
            difference: debit - credit,
        });
    }
    if out.is_empty() {
        return Err(OpeningError::Empty);
    }
    Ok(out)
}

/// The opening entry of the year starting on `opens` with `balances`.
pub fn entry(
    balances: &[Balance],
    opens: NaiveDate,
    currency: Currency,
) -> Result<NewEntry, OpeningError> {
    let label = label(opens);
    let lines = balances
        .iter()
        .filter_map(|b| line(b.account.clone(), b.auxiliary.clone(), b.net, &label))
        .collect();
    Ok(posting(lines, opens, currency)?)
}

/// The label of the opening entry of `opens` (its lines' and its PieceRef).
pub fn label(opens: NaiveDate) -> String {
    format!("A-nouveaux {}", opens.format("%Y-%m-%d"))
}

/// A balance as an opening line: a debit when positive, a credit when negative, none at zero.
pub fn line(
    account: AccountNumber,
    auxiliary: Option<Auxiliary>,
    net: Decimal,
    label: &str,
) -> Option<Line> {
    let line = if net > Decimal::ZERO {
        Line::debit(account, label, net)
    } else if net < Decimal::ZERO {
        Line::credit(account, label, -net)
    } else {
        return None;
    };
    Some(match auxiliary {
        Some(a) => line.with_auxiliary(a),
        None => line,
    })
}

/// The opening entry (journal AN) of `opens` with `lines`, under the year's opening key.
pub fn posting(
    lines: Vec<Line>,
    opens: NaiveDate,
    currency: Currency,
) -> Result<NewEntry, LedgerError> {
    let label = label(opens);
    NewEntry::new(
        EntryBody {
            journal: Journal::Opening,
            date: opens,
            label: label.clone(),
            piece_ref: label,
            piece_date: opens,
            currency,
            document: None,
            reverses: None,
            lines,
        },
        &key(opens),
    )
}

/// The key of a year's opening entry (also `close.rs`'s).
pub fn key(opens: NaiveDate) -> String {
    format!("opening:{opens}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const TB: &str = "account;auxiliary;name;debit;credit\n\
                      101;;Capital;;10000,00\n\
                      401;FACME;ACME Fournitures;;1200.00\n\
                      512;;Banque;11200,00;\n\
                      44566;;TVA;5;5\n";

    #[test]
    fn a_balanced_trial_balance_opens_the_year() {
        let b = parse(TB.as_bytes(), &Chart::pcg()).unwrap();
        assert_eq!(b.len(), 3, "a line netting to zero carries nothing");
        assert_eq!(b[1].net, dec!(-1200.00));
        assert_eq!(b[1].auxiliary.as_ref().unwrap().code, "FACME");
        assert_eq!(b[1].auxiliary.as_ref().unwrap().name, "ACME Fournitures");
        let opens = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let e = entry(&b, opens, Currency::EUR).unwrap();
        assert_eq!(e.key(), "opening:2026-01-01");
        assert_eq!(e.body().journal, Journal::Opening);
        assert_eq!(e.body().lines[2].debit, dec!(11200.00));
    }

    #[test]
    fn what_cannot_open_a_year_is_named_with_its_line() {
        let chart = Chart::pcg();
        let short = TB.replace("11200,00", "11199,90");
        assert_eq!(
            parse(short.as_bytes(), &chart),
            Err(OpeningError::Unbalanced {
                line: 5,
                debit: dec!(11204.90),
                credit: dec!(11205.00),
                difference: dec!(-0.10),
            })
        );
        let expense = format!("{TB}606;;Achats;10;\n");
        assert!(
            matches!(parse(expense.as_bytes(), &chart), Err(OpeningError::Line { line: 6, why }) if why.contains("income-statement"))
        );
        let unknown = TB.replace("512;", "9999;");
        assert!(
            matches!(parse(unknown.as_bytes(), &chart), Err(OpeningError::Line { line: 4, why }) if why.contains("9999"))
        );
        let negative = TB.replace("11200,00", "-11200,00");
        assert!(matches!(
            parse(negative.as_bytes(), &chart),
            Err(OpeningError::Line { line: 4, .. })
        ));
    }
}
