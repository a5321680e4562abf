//! The Fichier des écritures comptables (article A47 A-1 of the Livre des procédures fiscales):
//! the 18 columns in their order under a header line, tab-separated, dates AAAAMMJJ, amounts with
//! a decimal comma and no thousands separator (`0,00` for zero, never negative: credit notes and
//! reversals are already on swapped sides), CRLF between lines and none after the last, labels
//! stripped of separators and line breaks, opening entries first and then the validation order,
//! UTF-8. Named `<SIREN>FEC<AAAAMMJJ>.txt` after the fiscal year's last day. A line booked from
//! an amount in another currency gives that amount (in that currency's decimals) in Montantdevise
//! and its ISO code in Idevise; the others leave both empty.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{Chart, Lang};
use super::entry::{Journal, PostedEntry};

pub const COLUMNS: [&str; 18] = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
];

/// The first and last days of fiscal `year` (the calendar year it starts in) when it starts in
/// month `start_month`; None for a year or month out of range.
pub fn fiscal_bounds(year: i32, start_month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, start_month, 1)?;
    let end = start
        .checked_add_months(chrono::Months::new(12))?
        .pred_opt()?;
    Some((start, end))
}

/// The file name for a fiscal year ending on `year_end`.
pub fn file_name(siren: &str, year_end: NaiveDate) -> String {
    format!("{siren}FEC{}.txt", year_end.format("%Y%m%d"))
}

/// The FEC of `entries` (one fiscal year's, in any order).
pub fn write(entries: &[PostedEntry], chart: &Chart) -> String {
    let mut ordered: Vec<&PostedEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| (e.body.journal != Journal::Opening, e.validated_at, e.id));
    let mut rows = vec![COLUMNS.join("\t")];
    for e in ordered {
        let b = &e.body;
        for (i, l) in b.lines.iter().enumerate() {
            let (let_code, let_date) = e
                .match_of(i)
                .map(|m| (text(&m.code), date(m.on)))
                .unwrap_or_default();
            let (aux_num, aux_lib) = l
                .auxiliary
                .as_ref()
                .map(|a| (text(&a.code), text(&a.name)))
                .unwrap_or_default();
            rows.push(
                [
                    b.journal.code().to_string(),
                    text(b.journal.label()),
                    e.entry_number(),
                    date(b.date),
                    l.account.to_string(),
                    text(&chart.label(l.account.as_str(), Lang::Fr)),
                    aux_num,
                    aux_lib,
                    text(&b.piece_ref),
                    date(b.piece_date),
                    text(&l.label),
                    amount(l.debit),
                    amount(l.credit),
                    let_code,
                    let_date,
                    date(e.validated_at.date_naive()),
                    l.foreign
                        .as_ref()
                        .map(|f| amount_in(f.amount, f.currency.minor_unit_digits()))
                        .unwrap_or_default(),
                    l.foreign
                        .as_ref()
                        .map(|f| f.currency.to_string())
                        .unwrap_or_default(),
                ]
                .join("\t"),
            );
        }
    }
    rows.join("\r\n")
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// `1234,50`, `0,00`.
pub fn amount(d: Decimal) -> String {
    amount_in(d, 2)
}

/// An amount with `dp` decimals (a foreign currency's own: `150000` yen, `12,500` dinars).
pub fn amount_in(d: Decimal, dp: u32) -> String {
    format!("{:.*}", dp as usize, d.round_dp(dp)).replace('.', ",")
}

/// A label as the FEC holds it: no tab, `|`, CR or LF; spaces collapsed.
fn text(s: &str) -> String {
    s.split(|c: char| c == '\t' || c == '|' || c == '\r' || c == '\n' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::{Auxiliary, Line};
    use crate::ledger::AccountNumber;
    use rust_decimal_macros::dec;

    fn entry(id: i64, journal: Journal, lines: Vec<Line>) -> PostedEntry {
        PostedEntry::sample(
            id,
            journal,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            lines,
        )
    }

    #[test]
    fn a_foreign_currency_line_gives_its_amount_and_currency() {
        use crate::domain::Currency;
        use crate::ledger::entry::Foreign;
        use crate::ledger::fx::RateSource;
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        let fx = |currency: Currency, amount| Foreign {
            currency,
            amount,
            rate: dec!(1.0842),
            rate_date: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            rate_source: RateSource::Ecb,
        };
        let yen = Currency::parse("JPY").unwrap();
        let e = entry(
            1,
            Journal::Purchases,
            vec![
                Line::debit(acc("606"), "x", dec!(92.23))
                    .with_foreign(fx(Currency::USD, dec!(100))),
                Line::credit(acc("401"), "x", dec!(92.23)).with_foreign(fx(yen, dec!(15000))),
            ],
        );
        let fec = write(&[e], &Chart::pcg());
        let rows: Vec<Vec<&str>> = fec.split("\r\n").map(|l| l.split('\t').collect()).collect();
        assert_eq!(
            rows[1][11..],
            ["92,23", "0,00", "", "", "20260320", "100,00", "USD"]
        );
        assert_eq!(rows[2][16..], ["15000", "JPY"]);
    }

    #[test]
    fn the_file_follows_the_format_rules() {
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        let purchase = entry(
            2,
            Journal::Purchases,
            vec![
                Line::debit(acc("6064"), "ACME\tFA 1", dec!(1234.5)),
                Line::credit(acc("401"), "ACME\nFA 1", dec!(1234.50))
                    .with_auxiliary(Auxiliary::of('F', "732829320", "ACME | SARL")),
            ],
        );
        let opening = entry(
            9,
            Journal::Opening,
            vec![
                Line::debit(acc("512"), "AN", dec!(10)),
                Line::credit(acc("401"), "AN", dec!(10)),
            ],
        );
        let fec = write(&[purchase, opening], &Chart::pcg());
        assert!(!fec.ends_with('\n'));
        let lines: Vec<&str> = fec.split("\r\n").collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], COLUMNS.join("\t"));
        assert!(
            lines[1].starts_with("AN\tA-nouveaux\tAN2026-000009\t"),
            "opening first"
        );
        let cols: Vec<&str> = lines[3].split('\t').collect();
        assert_eq!(cols.len(), 18);
        assert_eq!(
            cols,
            vec![
                "HA",
                "Achats",
                "HA2026-000002",
                "20260312",
                "6064",
                "Fournitures administratives",
                "",
                "",
                "FA 1",
                "20260312",
                "ACME FA 1",
                "1234,50",
                "0,00",
                "",
                "",
                "20260320",
                "",
                ""
            ]
        );
        let supplier: Vec<&str> = lines[4].split('\t').collect();
        assert_eq!(supplier[6..8], ["F732829320", "ACME SARL"]);
        assert_eq!(supplier[11..13], ["0,00", "1234,50"]);
        assert_eq!(supplier[16..18], ["", ""], "in the company currency");
        assert_eq!(
            file_name("732829320", NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            "732829320FEC20261231.txt"
        );
    }
}
