//! The simple statement CSV, for banks that export no CAMT: UTF-8, `;`-separated, a header line
//! `date;amount;reference;counterparty;iban`, then one line per booked movement:
//!
//! ```text
//! date;amount;reference;counterparty;iban
//! 2026-04-01;-1000.00;Facture FA-2026-0042;ACME Fournitures;FR7630006000011234567890189
//! 2026-04-03;7,50;Interets;;
//! ```
//!
//! `date` is `YYYY-MM-DD` or `DD/MM/YYYY`; `amount` is signed (money out negative), with a point
//! or a comma before the decimals and no thousands separator other than spaces; the other three
//! may be empty. Amounts are in the ledger's currency. The file has no bank reference, so each
//! line's key is the hash of the module above.

use chrono::NaiveDate;

use super::{clean, hash_keys, parse_amount, BankError, Statement, StatementLine, MAX_LINES};
use crate::domain::Currency;

pub const HEADER: [&str; 5] = ["date", "amount", "reference", "counterparty", "iban"];

fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// Reads the CSV format.
pub fn parse(bytes: &[u8], currency: Currency) -> Result<Statement, BankError> {
    let rows = super::super::semicolon_csv::rows(bytes, &HEADER, MAX_LINES)
        .map_err(|(line, why)| BankError::Csv { line, why })?;
    let mut lines = Vec::new();
    for (line, rec) in rows {
        let err = |why: String| BankError::Csv { line, why };
        let field = |i: usize| rec.get(i).unwrap_or_default().trim();
        let booking = date(field(0)).ok_or_else(|| {
            err(format!(
                "date '{}' is not YYYY-MM-DD or DD/MM/YYYY",
                field(0)
            ))
        })?;
        let amount = parse_amount(field(1))
            .filter(|a| !a.is_zero())
            .ok_or_else(|| {
                err(format!(
                    "amount '{}' is not a signed decimal other than zero (money out negative)",
                    field(1)
                ))
            })?;
        let opt = |s: &str| (!s.is_empty()).then(|| clean(s));
        lines.push(StatementLine {
            booking_date: booking,
            value_date: None,
            amount,
            currency,
            reference: clean(field(2)),
            counterparty: opt(field(3)),
            counterparty_iban: opt(&field(4).replace(' ', "").to_ascii_uppercase()),
            bank_ref: None,
            end_to_end: None,
            batch_ref: None,
            reversal: false,
            key: String::new(),
        });
    }
    hash_keys(&mut lines);
    Ok(Statement {
        format: "csv",
        iban: None,
        lines,
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_documented_sample_reads() {
        let text = "date;amount;reference;counterparty;iban\n\
                    2026-04-01;-1000.00;Facture FA-2026-0042;ACME Fournitures;FR76 3000 6000 0112 3456 7890 189\n\
                    03/04/2026;7,50;Interets;;\n";
        let s = parse(text.as_bytes(), Currency::EUR).unwrap();
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.lines[0].amount, dec!(-1000.00));
        assert_eq!(
            s.lines[0].counterparty_iban.as_deref(),
            Some("FR7630006000011234567890189")
        );
        assert_eq!(
            s.lines[1].booking_date,
            NaiveDate::from_ymd_opt(2026, 4, 3).unwrap()
        );
        assert_eq!(s.lines[1].counterparty, None);
    }

    #[test]
    fn a_bad_line_is_named() {
        let no_header = "2026-04-01;-1;x;;\n";
        assert!(
            matches!(parse(no_header.as_bytes(), Currency::EUR), Err(BankError::Csv { line: 1, why }) if why.contains("header"))
        );
        let bad = "date;amount;reference;counterparty;iban\n2026-04-01;-1;x;;\n2026-13-01;-1;x;;\n";
        assert!(
            matches!(parse(bad.as_bytes(), Currency::EUR), Err(BankError::Csv { line: 3, why }) if why.contains("2026-13-01"))
        );
        let short = "date;amount;reference;counterparty;iban\n2026-04-01;-1\n";
        assert!(matches!(
            parse(short.as_bytes(), Currency::EUR),
            Err(BankError::Csv { line: 2, .. })
        ));
    }
}
