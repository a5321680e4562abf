//! Foreign currency: exchange rates and what an amount in another currency is in the company's.
//!
//! A `Rate` is quoted as the ECB quotes its reference rates: units of the foreign currency for
//! one unit of the company's currency (`1 EUR = 1.0842 USD` is a USD rate of `1.0842`). An
//! amount converts by division and is rounded **half away from zero** to the company currency's
//! minor unit (cents): `100.00 USD / 1.0842 = 92.2339… → 92.23 EUR`, `0.125 → 0.13`.
//!
//! Rates come from the ECB's reference-rate CSV (`facteur rates import`, the daily `eurofxref.csv`
//! or the history `eurofxref-hist.csv`, zipped or not), from a person (`facteur rates set`), or
//! from the invoice that prints one. The store keeps the first two in its rates table
//! (`store::rates`); the rate used for a posting is written on its lines.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::money::round_half_up;
use crate::domain::Currency;

/// How old a table rate may be and still apply: the ECB publishes on TARGET working days only
/// (no weekends, no 25–26 December, 1 January, Good Friday, Easter Monday, 1 May), so the
/// longest gap between two publications is 4 days; a week leaves room and no more.
pub const MAX_STALENESS_DAYS: i64 = 7;

/// Where a rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// The ECB's euro foreign exchange reference rates (imported).
    Ecb,
    /// Set by a person (`facteur rates set`); on the same day it wins over the ECB's.
    Manual,
    /// Printed on the invoice itself (it applies to that invoice only).
    Invoice,
}

impl RateSource {
    pub const ALL: [RateSource; 3] = [RateSource::Ecb, RateSource::Manual, RateSource::Invoice];

    pub fn as_str(&self) -> &'static str {
        match self {
            RateSource::Ecb => "ecb",
            RateSource::Manual => "manual",
            RateSource::Invoice => "invoice",
        }
    }
}

impl fmt::Display for RateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RateSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RateSource::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rate source '{s}': ecb, manual or invoice"))
    }
}

/// One exchange rate: `per_unit` units of `currency` for one unit of the company's currency,
/// on `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub currency: Currency,
    pub date: NaiveDate,
    /// Units of `currency` per 1 company-currency unit (always positive).
    #[serde(with = "rust_decimal::serde::str")]
    pub per_unit: Decimal,
    pub source: RateSource,
}

/// The largest rate accepted (guards against a value typed in the wrong unit, and keeps every
/// conversion far from `Decimal`'s limits).
const MAX_RATE: i64 = 1_000_000_000;

impl Rate {
    /// A rate, checked: positive, at most 10 decimals, below a billion.
    pub fn new(
        currency: Currency,
        date: NaiveDate,
        per_unit: Decimal,
        source: RateSource,
    ) -> Result<Rate, String> {
        if per_unit <= Decimal::ZERO || per_unit >= Decimal::from(MAX_RATE) {
            return Err(format!(
                "{per_unit} is not a {currency} rate: write the units of {currency} for one unit \
                 of the company currency, a positive number (the ECB quotes 1 EUR = 1.0842 USD \
                 as 1.0842)"
            ));
        }
        if per_unit.round_dp(10) != per_unit {
            return Err(format!(
                "{currency} rate {per_unit} has more than 10 decimals"
            ));
        }
        Ok(Rate {
            currency,
            date,
            per_unit: per_unit.normalize(),
            source,
        })
    }

    /// `amount` (in `self.currency`) in the company's currency `company`: divided by the rate,
    /// rounded half away from zero to `company`'s minor unit.
    pub fn to_company(&self, amount: Decimal, company: Currency) -> Decimal {
        // per_unit is in (0, 1e9) with at most 10 decimals, so the quotient of any invoice
        // amount is representable; checked all the same.
        let q = amount
            .checked_div(self.per_unit)
            .unwrap_or_else(|| amount / self.per_unit.max(Decimal::new(1, 10)));
        round_half_up(q, company.minor_unit_digits())
    }

    /// The rate as a person reads it: `1 EUR = 1.0842 USD (ECB, 2026-03-12)`.
    pub fn describe(&self, company: Currency) -> String {
        format!(
            "1 {company} = {} {} ({}, {})",
            self.per_unit, self.currency, self.source, self.date
        )
    }
}

/// Parses a rate as people type it: `1.0842` or `1,0842`.
pub fn parse_rate(s: &str) -> Result<Decimal, String> {
    s.trim()
        .replace(',', ".")
        .parse::<Decimal>()
        .map_err(|_| format!("'{s}' is not a rate; write a decimal such as 1.0842"))
}

/// What an ECB file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcbFile {
    /// Every rate, per company-currency unit, source `Ecb`.
    pub rates: Vec<Rate>,
    /// Days (rows) read.
    pub days: usize,
    /// First and last day.
    pub span: Option<(NaiveDate, NaiveDate)>,
}

/// Reads the ECB's euro reference-rate CSV, in either of its layouts: the daily `eurofxref.csv`
/// (`Date, USD, JPY, …, ` then `12 March 2026, 1.0842, …, `) or the history
/// `eurofxref-hist.csv` (`Date,USD,JPY,…,` then one `2026-03-12,1.0842,…,` line per day). Both
/// end each line with an empty column and write `N/A` where a currency has no rate (one no longer
/// quoted, or not yet); those are skipped. A zip of one such file (as the ECB serves them) is read
/// too.
///
/// The ECB quotes against the euro. For a company whose currency is not the euro, each rate is
/// crossed through the euro (`USD per CHF = USD per EUR / CHF per EUR`, rounded to 10 decimals)
/// and the euro gets its rate (`1 / CHF per EUR`); days without a rate for the company's
/// currency are skipped.
pub fn parse_ecb(bytes: &[u8], company: Currency) -> Result<EcbFile, String> {
    let text = ecb_text(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(r) => r.map_err(|e| format!("line 1: {e}"))?,
        None => {
            return Err("the file is empty: expected the ECB's `Date, USD, JPY, …` header".into())
        }
    };
    if !header
        .get(0)
        .is_some_and(|h| h.eq_ignore_ascii_case("date"))
    {
        return Err(format!(
            "line 1: expected the ECB header `Date, USD, JPY, …`, found `{}`",
            header.iter().take(4).collect::<Vec<_>>().join(", ")
        ));
    }
    // Column index → currency; empty names (the trailing column) carry nothing.
    let mut columns: Vec<(usize, Currency)> = Vec::new();
    for (i, name) in header.iter().enumerate().skip(1) {
        if name.is_empty() {
            continue;
        }
        let c = Currency::parse(name).map_err(|e| format!("line 1, column {}: {e}", i + 1))?;
        columns.push((i, c));
    }
    if columns.is_empty() {
        return Err("line 1: the header names no currency".into());
    }
    let eur = Currency::EUR;
    let mut rates = Vec::new();
    let mut days = 0;
    let mut span: Option<(NaiveDate, NaiveDate)> = None;
    let mut seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (n, record) in records.enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        let first = record.get(0).unwrap_or("");
        if record.iter().all(str::is_empty) {
            continue;
        }
        let date = ecb_date(first).ok_or_else(|| {
            format!("line {line}: '{first}' is not a date (2026-03-12 or 12 March 2026)")
        })?;
        if let Some(earlier) = seen.insert(date, line) {
            return Err(format!(
                "line {line}: {date} was already given on line {earlier}"
            ));
        }
        let mut per_eur: Vec<(Currency, Decimal)> = Vec::new();
        for (i, c) in &columns {
            let v = record.get(*i).unwrap_or("");
            if v.is_empty() || v.eq_ignore_ascii_case("N/A") {
                continue;
            }
            let d = v.parse::<Decimal>().ok().filter(|d| *d > Decimal::ZERO);
            let d = d.ok_or_else(|| {
                format!("line {line}, {c}: '{v}' is not a rate (a positive decimal, or N/A)")
            })?;
            per_eur.push((*c, d));
        }
        let day_rates: Vec<(Currency, Decimal)> = if company == eur {
            per_eur.into_iter().filter(|(c, _)| *c != eur).collect()
        } else {
            let Some(base) = per_eur.iter().find(|(c, _)| *c == company).map(|p| p.1) else {
                continue;
            };
            let mut crossed: Vec<(Currency, Decimal)> = per_eur
                .into_iter()
                .filter(|(c, _)| *c != company && *c != eur)
                .map(|(c, r)| (c, (r / base).round_dp(10)))
                .collect();
            crossed.push((eur, (Decimal::ONE / base).round_dp(10)));
            crossed
        };
        for (c, r) in day_rates {
            rates.push(
                Rate::new(c, date, r, RateSource::Ecb).map_err(|e| format!("line {line}: {e}"))?,
            );
        }
        days += 1;
        span = Some(match span {
            None => (date, date),
            Some((a, b)) => (a.min(date), b.max(date)),
        });
    }
    Ok(EcbFile { rates, days, span })
}

/// The CSV text of the file, or of the one CSV inside a zip.
fn ecb_text(bytes: &[u8]) -> Result<String, String> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return String::from_utf8(bytes.to_vec())
            .map_err(|_| "the file is not UTF-8 text: expected the ECB's CSV".to_string());
    }
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("the zip cannot be read: {e}"))?;
    let mut csvs = Vec::new();
    for i in 0..zip.len() {
        let name = zip
            .by_index(i)
            .map_err(|e| e.to_string())?
            .name()
            .to_string();
        if name.to_ascii_lowercase().ends_with(".csv") {
            csvs.push(i);
        }
    }
    let [one] = csvs[..] else {
        return Err(format!(
            "the zip holds {} CSV files: expected one (eurofxref.csv or eurofxref-hist.csv)",
            csvs.len()
        ));
    };
    let entry = zip.by_index(one).map_err(|e| e.to_string())?;
    // The history file is a few megabytes; anything far larger is not the ECB's.
    let mut text = String::new();
    entry
        .take(64 << 20)
        .read_to_string(&mut text)
        .map_err(|e| format!("the CSV in the zip cannot be read: {e}"))?;
    Ok(text)
}

fn ecb_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d %B %Y"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn usd() -> Currency {
        Currency::USD
    }

    #[test]
    fn an_amount_converts_by_division_rounded_half_away_from_zero() {
        let r = Rate::new(usd(), day(12), dec!(1.0842), RateSource::Ecb).unwrap();
        assert_eq!(r.to_company(dec!(100.00), Currency::EUR), dec!(92.23));
        assert_eq!(r.to_company(dec!(-100.00), Currency::EUR), dec!(-92.23));
        // Exactly half a cent goes away from zero: 0.0125 / 0.5 = 0.025 → 0.03.
        let half = Rate::new(usd(), day(12), dec!(0.5), RateSource::Manual).unwrap();
        assert_eq!(half.to_company(dec!(0.0125), Currency::EUR), dec!(0.03));
        assert_eq!(half.to_company(dec!(-0.0125), Currency::EUR), dec!(-0.03));
        // Into a currency without cents.
        let jpy = Rate::new(Currency::EUR, day(12), dec!(0.0062), RateSource::Ecb).unwrap();
        assert_eq!(
            jpy.to_company(dec!(10.00), Currency::parse("JPY").unwrap()),
            dec!(1613)
        );
    }

    #[test]
    fn a_rate_is_positive_and_sane() {
        assert!(Rate::new(usd(), day(1), dec!(0), RateSource::Manual).is_err());
        assert!(Rate::new(usd(), day(1), dec!(-1.1), RateSource::Manual).is_err());
        assert!(Rate::new(usd(), day(1), dec!(1000000000), RateSource::Manual).is_err());
        assert!(Rate::new(usd(), day(1), dec!(1.00000000001), RateSource::Manual).is_err());
        let r = Rate::new(usd(), day(1), dec!(1.08420), RateSource::Manual).unwrap();
        assert_eq!(r.per_unit.to_string(), "1.0842");
        assert_eq!(parse_rate("1,0842").unwrap(), dec!(1.0842));
        assert!(parse_rate("abc").is_err());
    }

    const DAILY: &str = "Date, USD, JPY, BGN, CZK, GBP, CHF, \n\
        12 March 2026, 1.0842, 161.37, 1.9558, 25.123, 0.84210, 0.9512, \n";

    const HIST: &str = "Date,USD,JPY,BGN,CYP,GBP,CHF,\n\
        2026-03-12,1.0842,161.37,1.9558,N/A,0.8421,0.9512,\n\
        2026-03-11,1.0811,160.9,1.9558,N/A,0.8433,0.9498,\n";

    #[test]
    fn both_ecb_layouts_are_read_with_their_trailing_column_and_gaps() {
        let d = parse_ecb(DAILY.as_bytes(), Currency::EUR).unwrap();
        assert_eq!(d.days, 1);
        assert_eq!(d.rates.len(), 6);
        assert_eq!(d.rates[0].currency, usd());
        assert_eq!(d.rates[0].date, day(12));
        assert_eq!(d.rates[0].per_unit, dec!(1.0842));
        assert_eq!(d.rates[4].per_unit, dec!(0.8421), "trailing zero dropped");
        let h = parse_ecb(HIST.as_bytes(), Currency::EUR).unwrap();
        assert_eq!(h.days, 2);
        assert_eq!(h.rates.len(), 10, "CYP is N/A on both days");
        assert_eq!(h.span, Some((day(11), day(12))));
        assert!(h.rates.iter().all(|r| r.source == RateSource::Ecb));
    }

    #[test]
    fn a_company_in_another_currency_gets_rates_crossed_through_the_euro() {
        let chf = Currency::parse("CHF").unwrap();
        let h = parse_ecb(HIST.as_bytes(), chf).unwrap();
        let on12: Vec<&Rate> = h.rates.iter().filter(|r| r.date == day(12)).collect();
        let usd12 = on12.iter().find(|r| r.currency == usd()).unwrap();
        assert_eq!(usd12.per_unit, (dec!(1.0842) / dec!(0.9512)).round_dp(10));
        let eur12 = on12.iter().find(|r| r.currency == Currency::EUR).unwrap();
        assert_eq!(eur12.per_unit, (dec!(1) / dec!(0.9512)).round_dp(10));
        assert!(on12.iter().all(|r| r.currency != chf));
        // 100 EUR in CHF: 100 / (1 / 0.9512) = 95.12.
        assert_eq!(eur12.to_company(dec!(100), chf), dec!(95.12));
    }

    #[test]
    fn a_file_that_is_not_the_ecbs_says_what_is_wrong_and_where() {
        let e = parse_ecb(b"", Currency::EUR).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = parse_ecb(b"Currency,Rate\nUSD,1.1\n", Currency::EUR).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_ecb(b"Date,USD,\n2026-03-12,abc,\n", Currency::EUR).unwrap_err();
        assert!(e.contains("line 2, USD: 'abc'"), "{e}");
        let e = parse_ecb(b"Date,USD,\n12/03/2026,1.1,\n", Currency::EUR).unwrap_err();
        assert!(e.contains("line 2") && e.contains("not a date"), "{e}");
        let e = parse_ecb(
            b"Date,USD,\n2026-03-12,1.1,\n2026-03-12,1.2,\n",
            Currency::EUR,
        )
        .unwrap_err();
        assert!(e.contains("already given on line 2"), "{e}");
        let e = parse_ecb(b"Date,USD,\n2026-03-12,-1.1,\n", Currency::EUR).unwrap_err();
        assert!(e.contains("not a rate"), "{e}");
    }

    #[test]
    fn a_zipped_file_is_read_as_the_ecb_serves_it() {
        use std::io::Write as _;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file(
            "eurofxref-hist.csv",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        w.write_all(HIST.as_bytes()).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let h = parse_ecb(&bytes, Currency::EUR).unwrap();
        assert_eq!(h.rates.len(), 10);
    }
}
