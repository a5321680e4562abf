//! Bank statements in: CAMT.053 (ISO 20022 camt.053.001.02, `camt.rs`) and a simple CSV
//! (`simple_csv.rs`) read into one shape, `StatementLine`, and the rules that match a line to
//! the supplier invoice it pays (`matching.rs`). Pure: the store records the lines
//! (store/bank.rs) and the payment goes through the ledger's ordinary `pay`.
//!
//! Each line carries a key that names it across imports, so the same file (or two statements
//! that overlap) records each line once: the bank's own reference for it (CAMT's
//! AcctSvcrRef of the transaction, else of the entry, else the entry's NtryRef), else a hash of
//! its date, amount, reference and rank among the file's lines with that same date, amount and
//! reference (two equal payments on one day stay two lines; the same payment in two overlapping
//! files stays one).

pub mod camt;
pub mod matching;
pub mod simple_csv;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::Currency;

/// Statement files larger than this are refused before parsing (a year of a busy account in
/// CAMT is a few MiB).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// More lines than this in one file are refused.
pub const MAX_LINES: usize = 100_000;
/// Longest text kept from one field (SEPA remittance information is 140 characters).
pub const MAX_TEXT: usize = 500;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BankError {
    #[error("the file is {0} bytes; statements larger than {MAX_BYTES} bytes are refused")]
    TooLarge(usize),
    #[error("the file has more than {MAX_LINES} lines; split it")]
    TooManyLines,
    #[error("not a CAMT.053 statement: {0}")]
    Camt(String),
    #[error("line {line}: {why}")]
    Csv { line: u64, why: String },
}

/// One booked line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed: money out of the account is negative.
    pub amount: Decimal,
    pub currency: Currency,
    /// Remittance information (what the payer wrote: an invoice number, a reference).
    pub reference: String,
    pub counterparty: Option<String>,
    pub counterparty_iban: Option<String>,
    /// The bank's reference of the line (AcctSvcrRef).
    pub bank_ref: Option<String>,
    /// The payer's end-to-end id (a pain.001 transfer's EndToEndId comes back here).
    pub end_to_end: Option<String>,
    /// The batch it belongs to (PmtInfId or MsgId of a payment order).
    pub batch_ref: Option<String>,
    /// The bank reverses an earlier entry.
    pub reversal: bool,
    /// Names the line across imports (see the module's doc).
    pub key: String,
}

impl StatementLine {
    /// Every reference the line carries, for finding an invoice number or a run id in it.
    pub fn all_references(&self) -> String {
        [
            Some(self.reference.as_str()),
            self.end_to_end.as_deref(),
            self.batch_ref.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// A statement read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `camt.053` or `csv`.
    pub format: &'static str,
    /// The account the statement is for, when the file says (CAMT).
    pub iban: Option<String>,
    pub lines: Vec<StatementLine>,
    /// What was left out and why (entries not booked yet).
    pub skipped: Vec<String>,
}

/// Reads a statement: CAMT.053 when the file is XML, else the CSV format. `currency` is the
/// CSV's (the ledger's); CAMT says its own.
pub fn parse(bytes: &[u8], currency: Currency) -> Result<Statement, BankError> {
    if bytes.len() > MAX_BYTES {
        return Err(BankError::TooLarge(bytes.len()));
    }
    let start = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if start == Some(&b'<') {
        camt::parse(bytes)
    } else {
        simple_csv::parse(bytes, currency)
    }
}

/// Text as kept: whitespace collapsed, at most `MAX_TEXT` characters.
pub(crate) fn clean(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TEXT)
        .collect()
}

/// Gives each line without a bank reference its hash key: date, amount, reference and its rank
/// among the earlier lines of `lines` with the same three.
pub(crate) fn hash_keys(lines: &mut [StatementLine]) {
    let mut seen: std::collections::HashMap<(NaiveDate, Decimal, String), u32> =
        std::collections::HashMap::new();
    for l in lines.iter_mut().filter(|l| l.key.is_empty()) {
        let rank = seen
            .entry((l.booking_date, l.amount.normalize(), l.reference.clone()))
            .or_default();
        let text = format!(
            "{}|{}|{}|{rank}",
            l.booking_date,
            l.amount.normalize(),
            l.reference
        );
        *rank += 1;
        l.key = format!("h:{}", &hex::encode(Sha256::digest(text.as_bytes()))[..32]);
    }
}

/// Amounts as banks write them: `-1481.40`, `-1 481,40`, `+12`.
pub(crate) fn parse_amount(s: &str) -> Option<Decimal> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    let t = t.strip_prefix('+').unwrap_or(&t);
    let t = if t.contains(',') && !t.contains('.') {
        t.replace(',', ".")
    } else {
        t.to_string()
    };
    t.parse::<Decimal>().ok().filter(|d| d.scale() <= 4)
}

/// A statement line for the tests: booked on 1 April 2026, in euros, nothing but its amount and
/// reference.
#[cfg(test)]
pub(crate) fn sample(amount: Decimal, reference: &str) -> StatementLine {
    StatementLine {
        booking_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        value_date: None,
        amount,
        currency: Currency::EUR,
        reference: reference.into(),
        counterparty: None,
        counterparty_iban: None,
        bank_ref: None,
        end_to_end: None,
        batch_ref: None,
        reversal: false,
        key: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn line(amount: Decimal, reference: &str) -> StatementLine {
        sample(amount, reference)
    }

    #[test]
    fn equal_lines_of_one_day_keep_apart_and_the_same_line_keeps_its_key() {
        let mut a = vec![
            line(dec!(-10), "X"),
            line(dec!(-10.00), "X"),
            line(dec!(-10), "Y"),
        ];
        hash_keys(&mut a);
        assert_ne!(
            a[0].key, a[1].key,
            "two equal payments of one day are two lines"
        );
        assert_ne!(a[0].key, a[2].key);
        // Another file that starts with the same payment gives it the same key.
        let mut b = vec![line(dec!(-10), "X"), line(dec!(-99), "Z")];
        hash_keys(&mut b);
        assert_eq!(a[0].key, b[0].key);
        assert!(a[0].key.starts_with("h:"));
    }

    #[test]
    fn amounts_as_banks_write_them() {
        assert_eq!(parse_amount("-1 481,40"), Some(dec!(-1481.40)));
        assert_eq!(parse_amount("+12"), Some(dec!(12)));
        assert_eq!(parse_amount("1481.40"), Some(dec!(1481.40)));
        assert_eq!(parse_amount("12abc"), None);
        assert_eq!(parse_amount("1,234.5"), None);
    }
}
