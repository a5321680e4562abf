//! Journal exports for accounting software, each a CSV written with the `csv` crate from posted
//! entries (in posting order):
//!
//! | format | columns | amounts |
//! |---|---|---|
//! | `csv` | Journal, EntryNumber, Date (ISO), Account, AccountLabel, Auxiliary, AuxiliaryName, PieceRef, Label, Debit, Credit, Currency, MatchingCode | `1234.50`, debit and credit columns |
//! | `xero` | Narration, Date (dd/mm/yyyy), Description, AccountCode, TaxRate, Amount, TrackingName1, TrackingOption1 | signed: debit positive, credit negative (Xero's manual journal import) |
//! | `quickbooks` | JournalNo, JournalDate (yyyy-mm-dd), Currency, Memo, AccountName, Debits, Credits, Description, Name | debit and credit columns (QuickBooks Online journal import) |
//!
//! VAT is already on its own lines (44566, 44571), so Xero's tax rate is one "no tax" name for
//! every line (`--tax-rate`, default `No VAT`). Account codes are the ledger's: map them to the
//! target's chart there.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::account::{Chart, Lang};
use super::entry::PostedEntry;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xero,
    QuickBooks,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xero => "xero",
            Format::QuickBooks => "quickbooks",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Format::Csv, Format::Xero, Format::QuickBooks]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown export format '{s}': csv, xero or quickbooks"))
    }
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn blank_if_zero(d: Decimal) -> String {
    if d.is_zero() {
        String::new()
    } else {
        money(d)
    }
}

/// The file's bytes (UTF-8, comma-separated, a header row).
pub fn write(
    format: Format,
    entries: &[PostedEntry],
    chart: &Chart,
    xero_tax_rate: &str,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    match format {
        Format::Csv => {
            w.write_record([
                "Journal",
                "EntryNumber",
                "Date",
                "Account",
                "AccountLabel",
                "Auxiliary",
                "AuxiliaryName",
                "PieceRef",
                "Label",
                "Debit",
                "Credit",
                "Currency",
                "MatchingCode",
            ])?;
            for e in entries {
                for (i, l) in e.body.lines.iter().enumerate() {
                    let aux = l.auxiliary.as_ref();
                    w.write_record([
                        e.body.journal.code().to_string(),
                        e.entry_number(),
                        e.body.date.to_string(),
                        l.account.to_string(),
                        chart.label(l.account.as_str(), Lang::En),
                        aux.map(|a| a.code.clone()).unwrap_or_default(),
                        aux.map(|a| a.name.clone()).unwrap_or_default(),
                        e.body.piece_ref.clone(),
                        l.label.clone(),
                        money(l.debit),
                        money(l.credit),
                        e.body.currency.to_string(),
                        e.match_of(i).map(|m| m.code.clone()).unwrap_or_default(),
                    ])?;
                }
            }
        }
        Format::Xero => {
            w.write_record([
                "Narration",
                "Date",
                "Description",
                "AccountCode",
                "TaxRate",
                "Amount",
                "TrackingName1",
                "TrackingOption1",
            ])?;
            for e in entries {
                // Xero groups lines into one journal by narration and date: the entry number
                // keeps two entries of one day apart.
                let narration = format!("{} {}", e.entry_number(), e.body.label);
                for l in &e.body.lines {
                    w.write_record([
                        narration.clone(),
                        e.body.date.format("%d/%m/%Y").to_string(),
                        l.label.clone(),
                        l.account.to_string(),
                        xero_tax_rate.to_string(),
                        money(l.debit - l.credit),
                        String::new(),
                        String::new(),
                    ])?;
                }
            }
        }
        Format::QuickBooks => {
            w.write_record([
                "JournalNo",
                "JournalDate",
                "Currency",
                "Memo",
                "AccountName",
                "Debits",
                "Credits",
                "Description",
                "Name",
            ])?;
            for e in entries {
                for l in &e.body.lines {
                    w.write_record([
                        e.entry_number(),
                        e.body.date.to_string(),
                        e.body.currency.to_string(),
                        e.body.label.clone(),
                        l.account.to_string(),
                        blank_if_zero(l.debit),
                        blank_if_zero(l.credit),
                        l.label.clone(),
                        l.auxiliary
                            .as_ref()
                            .map(|a| a.name.clone())
                            .unwrap_or_default(),
                    ])?;
                }
            }
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::{Auxiliary, Journal, Line};
    use crate::ledger::AccountNumber;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn entry() -> PostedEntry {
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        PostedEntry::sample(
            7,
            Journal::Purchases,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            vec![
                Line::debit(acc("606"), "ACME FA-1", dec!(100)),
                Line::debit(acc("44566"), "TVA ACME FA-1", dec!(20)),
                Line::credit(acc("401"), "ACME FA-1", dec!(120)).with_auxiliary(Auxiliary::of(
                    'F',
                    "732829320",
                    "ACME",
                )),
            ],
        )
    }

    fn rows(f: Format) -> Vec<Vec<String>> {
        let bytes = write(f, &[entry()], &Chart::pcg(), "No VAT").unwrap();
        csv::Reader::from_reader(bytes.as_slice())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn xero_amounts_are_signed_and_balance_per_journal() {
        let r = rows(Format::Xero);
        assert_eq!(
            r[0][..6],
            [
                "HA2026-000007 ACME, FA-1",
                "12/03/2026",
                "ACME FA-1",
                "606",
                "No VAT",
                "100.00"
            ]
        );
        assert_eq!(r[2][5], "-120.00");
        let sum: Decimal = r.iter().map(|x| x[5].parse::<Decimal>().unwrap()).sum();
        assert_eq!(sum, Decimal::ZERO);
    }

    #[test]
    fn quickbooks_and_generic_csv_keep_debit_and_credit_apart() {
        let q = rows(Format::QuickBooks);
        assert_eq!(
            q[2][..7],
            [
                "HA2026-000007",
                "2026-03-12",
                "EUR",
                "ACME, FA-1",
                "401",
                "",
                "120.00"
            ]
        );
        assert_eq!(q[2][8], "ACME");
        let c = rows(Format::Csv);
        assert_eq!(c[1][4], "Deductible VAT on other goods and services");
        assert_eq!(c[2][5..7], ["F732829320", "ACME"]);
        assert_eq!(c[2][9..12], ["0.00", "120.00", "EUR"]);
    }
}
