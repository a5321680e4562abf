//! Journal entries. A `NewEntry` can only be built balanced (at least two lines, each one-sided
//! and positive, Σ debit = Σ credit, amounts in the currency's minor unit); the store numbers it,
//! links it into the hash chain and never changes it again. A correction is another entry.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::account::AccountNumber;
use super::fx::{Rate, RateSource};
use crate::domain::{Currency, DocumentId};

/// The journals (codes as French accounting software writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Journal {
    /// Achats: supplier invoices and credit notes.
    Purchases,
    /// Ventes: customer invoices.
    Sales,
    /// Banque: payments and receipts.
    Bank,
    /// Opérations diverses: reversals, adjustments.
    Misc,
    /// À-nouveaux: opening balances of a fiscal year.
    Opening,
}

impl Journal {
    pub const ALL: [Journal; 5] = [
        Journal::Purchases,
        Journal::Sales,
        Journal::Bank,
        Journal::Misc,
        Journal::Opening,
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Journal::Purchases => "HA",
            Journal::Sales => "VE",
            Journal::Bank => "BQ",
            Journal::Misc => "OD",
            Journal::Opening => "AN",
        }
    }

    /// JournalLib of the FEC.
    pub fn label(&self) -> &'static str {
        match self {
            Journal::Purchases => "Achats",
            Journal::Sales => "Ventes",
            Journal::Bank => "Banque",
            Journal::Misc => "Opérations diverses",
            Journal::Opening => "A-nouveaux",
        }
    }
}

impl fmt::Display for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Journal {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Journal::ALL
            .into_iter()
            .find(|j| j.code() == s)
            .ok_or_else(|| LedgerError::Invalid(format!("unknown journal '{s}'")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry is refused: {0}")]
    Invalid(String),
    #[error("debits {debit} and credits {credit} differ: an entry must balance")]
    Unbalanced { debit: Decimal, credit: Decimal },
    #[error("the period up to {lock} is locked: nothing can be posted on {date}")]
    Locked { lock: NaiveDate, date: NaiveDate },
    #[error("posting key '{0}' was used for a different entry: a retry must send the same entry")]
    KeyReused(String),
}

/// A supplier's or customer's own account under its control account (401, 411).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Auxiliary {
    /// Letters and digits (CompAuxNum).
    pub code: String,
    /// The party's name (CompAuxLib).
    pub name: String,
}

impl Auxiliary {
    /// An auxiliary account code from a stable identifier of the party (its VAT id, SIREN…):
    /// `prefix` then its letters and digits, upper case, at most 17 characters.
    pub fn of(prefix: char, id: &str, name: &str) -> Auxiliary {
        let mut code: String = std::iter::once(prefix)
            .chain(id.chars().filter(char::is_ascii_alphanumeric))
            .collect::<String>()
            .to_ascii_uppercase();
        code.truncate(17);
        Auxiliary {
            code,
            name: name.to_string(),
        }
    }
}

/// One side of one amount on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub account: AccountNumber,
    pub auxiliary: Option<Auxiliary>,
    pub label: String,
    /// In the entry's (the company's) currency.
    pub debit: Decimal,
    pub credit: Decimal,
    /// The line's amount in the currency of the invoice or payment it books, when that is not the
    /// company's (the FEC's Montantdevise and Idevise), with the rate that converted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign: Option<Foreign>,
}

/// A line's amount in a foreign currency, and the rate that made its company-currency amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Foreign {
    pub currency: Currency,
    /// Positive, on the line's side.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Units of `currency` per company-currency unit (as the ECB quotes).
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    pub rate_date: NaiveDate,
    pub rate_source: RateSource,
}

impl Foreign {
    /// `amount` of `rate`'s currency, converted at `rate`.
    pub fn at(rate: &Rate, amount: Decimal) -> Foreign {
        Foreign {
            currency: rate.currency,
            amount,
            rate: rate.per_unit,
            rate_date: rate.date,
            rate_source: rate.source,
        }
    }
}

impl Line {
    pub fn debit(account: AccountNumber, label: &str, amount: Decimal) -> Line {
        Line {
            account,
            auxiliary: None,
            label: label.to_string(),
            debit: amount,
            credit: Decimal::ZERO,
            foreign: None,
        }
    }

    pub fn credit(account: AccountNumber, label: &str, amount: Decimal) -> Line {
        Line {
            account,
            auxiliary: None,
            label: label.to_string(),
            debit: Decimal::ZERO,
            credit: amount,
            foreign: None,
        }
    }

    pub fn with_auxiliary(mut self, aux: Auxiliary) -> Line {
        self.auxiliary = Some(aux);
        self
    }

    /// The same line, saying what it is in a foreign currency.
    pub fn with_foreign(mut self, foreign: Foreign) -> Line {
        self.foreign = Some(foreign);
        self
    }

    /// The same amount on the other side (a reversal, a credit note).
    pub fn swapped(&self) -> Line {
        Line {
            debit: self.credit,
            credit: self.debit,
            ..self.clone()
        }
    }
}

/// What an entry says, whoever built it: hashed, stored, exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryBody {
    pub journal: Journal,
    pub date: NaiveDate,
    pub label: String,
    /// PieceRef: the invoice number, the payment reference.
    pub piece_ref: String,
    pub piece_date: NaiveDate,
    pub currency: Currency,
    pub document: Option<DocumentId>,
    /// The entry this one reverses.
    pub reverses: Option<i64>,
    pub lines: Vec<Line>,
}

/// An entry to post: balanced by construction, with its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    body: EntryBody,
    key: String,
}

impl NewEntry {
    /// Checks the rules of double entry; `key` makes a retried posting return the first one.
    pub fn new(body: EntryBody, key: &str) -> Result<NewEntry, LedgerError> {
        let invalid = |s: String| Err(LedgerError::Invalid(s));
        if key.trim().is_empty() {
            return invalid("a posting needs an idempotency key".into());
        }
        if body.lines.len() < 2 {
            return invalid(format!(
                "an entry has at least two lines, this one {}",
                body.lines.len()
            ));
        }
        let dp = body.currency.minor_unit_digits();
        for (i, l) in body.lines.iter().enumerate() {
            let n = i + 1;
            if l.debit.is_sign_negative() || l.credit.is_sign_negative() {
                return invalid(format!("line {n}: amounts are never negative"));
            }
            if (l.debit.is_zero()) == (l.credit.is_zero()) {
                return invalid(format!(
                    "line {n} on {}: exactly one of debit and credit is non-zero",
                    l.account
                ));
            }
            if l.debit.round_dp(dp) != l.debit || l.credit.round_dp(dp) != l.credit {
                return invalid(format!(
                    "line {n}: {} has more than {dp} decimals",
                    body.currency
                ));
            }
            if let Some(f) = &l.foreign {
                let fdp = f.currency.minor_unit_digits();
                if f.currency == body.currency {
                    return invalid(format!(
                        "line {n}: {} is the entry's own currency, not a foreign one",
                        f.currency
                    ));
                }
                if f.amount <= Decimal::ZERO || f.amount.round_dp(fdp) != f.amount {
                    return invalid(format!(
                        "line {n}: its {} amount {} is not positive with at most {fdp} decimals",
                        f.currency, f.amount
                    ));
                }
                if f.rate <= Decimal::ZERO {
                    return invalid(format!("line {n}: a {} rate must be positive", f.currency));
                }
            }
        }
        let debit: Decimal = body.lines.iter().map(|l| l.debit).sum();
        let credit: Decimal = body.lines.iter().map(|l| l.credit).sum();
        if debit != credit {
            return Err(LedgerError::Unbalanced { debit, credit });
        }
        Ok(NewEntry {
            body,
            key: key.to_string(),
        })
    }

    pub fn body(&self) -> &EntryBody {
        &self.body
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The entry that cancels `posted`, dated `date` (in the miscellaneous journal).
    pub fn reversal(posted: &PostedEntry, date: NaiveDate) -> Result<NewEntry, LedgerError> {
        let b = &posted.body;
        NewEntry::new(
            EntryBody {
                journal: Journal::Misc,
                date,
                label: format!("Extourne {}", posted.entry_number()),
                piece_ref: b.piece_ref.clone(),
                piece_date: b.piece_date,
                currency: b.currency,
                document: b.document,
                reverses: Some(posted.id),
                lines: b.lines.iter().map(Line::swapped).collect(),
            },
            &format!("reversal:{}", posted.id),
        )
    }
}

/// An entry in the book: numbered, validated, chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostedEntry {
    pub id: i64,
    /// The fiscal year it belongs to (the calendar year the fiscal year starts in).
    pub fiscal_year: i32,
    /// Continuous per journal and fiscal year, from 1.
    pub number: i64,
    pub validated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: EntryBody,
    pub prev_hash: String,
    pub hash: String,
    /// Lettrage of its lines (not part of the content: given later, when lines settle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<LineMatch>,
}

/// A line's matching code (EcritureLet) and the day it was given (DateLet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineMatch {
    /// 0-based index in the entry's lines.
    pub line: usize,
    pub code: String,
    pub on: NaiveDate,
}

impl PostedEntry {
    /// The matching code of line `i`, if it is settled.
    pub fn match_of(&self, i: usize) -> Option<&LineMatch> {
        self.matches.iter().find(|m| m.line == i)
    }

    /// EcritureNum: `HA2026-000042`.
    pub fn entry_number(&self) -> String {
        format!(
            "{}{}-{:06}",
            self.body.journal.code(),
            self.fiscal_year,
            self.number
        )
    }
}

#[cfg(test)]
impl PostedEntry {
    /// A posted entry for the tests of what reads the book: numbered `id`, validated 8 days
    /// after `date`, labelled "ACME, FA-1" with piece "FA|1".
    pub(crate) fn sample(id: i64, journal: Journal, date: NaiveDate, lines: Vec<Line>) -> Self {
        let validated = date + chrono::Duration::days(8);
        PostedEntry {
            id,
            fiscal_year: 2026,
            number: id,
            validated_at: validated
                .and_hms_opt(12, 0, 0)
                .unwrap_or_default()
                .and_utc(),
            body: EntryBody {
                journal,
                date,
                label: "ACME, FA-1".into(),
                piece_ref: "FA|1".into(),
                piece_date: date,
                currency: Currency::EUR,
                document: None,
                reverses: None,
                lines,
            },
            prev_hash: String::new(),
            hash: String::new(),
            matches: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn acc(n: &str) -> AccountNumber {
        AccountNumber::parse(n).unwrap()
    }

    fn body(lines: Vec<Line>) -> EntryBody {
        EntryBody {
            journal: Journal::Purchases,
            date: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            label: "Facture".into(),
            piece_ref: "F-1".into(),
            piece_date: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            currency: Currency::EUR,
            document: None,
            reverses: None,
            lines,
        }
    }

    #[test]
    fn only_a_balanced_entry_of_one_sided_positive_lines_is_built() {
        let ok = vec![
            Line::debit(acc("606"), "x", dec!(100.00)),
            Line::debit(acc("44566"), "x", dec!(20.00)),
            Line::credit(acc("401"), "x", dec!(120.00)),
        ];
        assert!(NewEntry::new(body(ok.clone()), "k").is_ok());
        let mut short = ok.clone();
        short[2].credit = dec!(119.99);
        assert_eq!(
            NewEntry::new(body(short), "k"),
            Err(LedgerError::Unbalanced {
                debit: dec!(120.00),
                credit: dec!(119.99)
            })
        );
        assert!(NewEntry::new(body(ok[..1].to_vec()), "k").is_err());
        let mut both = ok.clone();
        both[0].credit = dec!(1);
        assert!(NewEntry::new(body(both), "k").is_err());
        let mut neg = ok.clone();
        neg[0].debit = dec!(-100.00);
        assert!(NewEntry::new(body(neg), "k").is_err());
        let mut fine = ok.clone();
        fine[0].debit = dec!(100.001);
        assert!(NewEntry::new(body(fine), "k").is_err());
        assert!(NewEntry::new(body(ok), " ").is_err());
    }

    #[test]
    fn auxiliary_codes_are_letters_and_digits() {
        let a = Auxiliary::of('F', "FR44 732 829 320", "ACME");
        assert_eq!(a.code, "FFR44732829320");
    }
}
