//! DATEV's import format for bookings, EXTF "Buchungsstapel" (interface version 700, format
//! category 21, format version 13), from posted entries:
//!
//! - Line 1, the batch header (31 fields): `"EXTF";700;21;"Buchungsstapel";13;` then the time it
//!   was made (JJJJMMTThhmmssfff), origin, who exported, the consultant (Beraternummer) and
//!   client (Mandantennummer) numbers, the fiscal year's first day, the account length
//!   (Sachkontenlänge), the period from/to, a label, booking type 1 (financial accounting),
//!   not locked (Festschreibung 0), the currency.
//! - Line 2, the 125 column names of format version 13.
//! - Then one row per pair of accounts: DATEV books one amount from one account (Konto) to one
//!   other (Gegenkonto), so each entry is split into such pairs by taking its debit and credit
//!   lines in order and matching amounts (an invoice of expense + VAT against the supplier gives
//!   two rows; a reverse charge adds 445662 against 4452). Umsatz is positive with a decimal
//!   comma and no thousands separator, Soll/Haben `S` (the debit account is Konto), WKZ the
//!   entry's currency, Belegdatum TTMM (the year is the header's), Belegfeld 1 the piece
//!   reference in DATEV's characters (≤ 36), Buchungstext ≤ 60 characters. The supplier's or
//!   customer's auxiliary account travels as Beleginfo (Art 1 "Compte auxiliaire", Inhalt 1 the
//!   code), since DATEV's personal accounts are numbers facteur does not assign.
//! - BU-Schlüssel stays empty: VAT is on its own lines already, and a key would make DATEV
//!   compute it a second time.
//! - Account numbers are the ledger's (PCG), right-padded with zeros to the account length
//!   (401 → 40100000 at length 8): map them to SKR03/04 in DATEV if the client keeps those.
//! - Windows-1252, `;`-separated, text fields in double quotes, CRLF after every line.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::entry::PostedEntry;

/// The 125 column names of the Buchungsstapel, format version 13.
pub const COLUMNS: [&str; 125] = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basisumsatz",
    "WKZ Basisumsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    "Beleginfo – Art 1",
    "Beleginfo – Inhalt 1",
    "Beleginfo – Art 2",
    "Beleginfo – Inhalt 2",
    "Beleginfo – Art 3",
    "Beleginfo – Inhalt 3",
    "Beleginfo – Art 4",
    "Beleginfo – Inhalt 4",
    "Beleginfo – Art 5",
    "Beleginfo – Inhalt 5",
    "Beleginfo – Art 6",
    "Beleginfo – Inhalt 6",
    "Beleginfo – Art 7",
    "Beleginfo – Inhalt 7",
    "Beleginfo – Art 8",
    "Beleginfo – Inhalt 8",
    "KOST1 – Kostenstelle",
    "KOST2 – Kostenstelle",
    "Kost Menge",
    "EU-Land u. USt-IdNr.",
    "EU-Steuersatz",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
    "Zusatzinformation – Art 1",
    "Zusatzinformation – Inhalt 1",
    "Zusatzinformation – Art 2",
    "Zusatzinformation – Inhalt 2",
    "Zusatzinformation – Art 3",
    "Zusatzinformation – Inhalt 3",
    "Zusatzinformation – Art 4",
    "Zusatzinformation – Inhalt 4",
    "Zusatzinformation – Art 5",
    "Zusatzinformation – Inhalt 5",
    "Zusatzinformation – Art 6",
    "Zusatzinformation – Inhalt 6",
    "Zusatzinformation – Art 7",
    "Zusatzinformation – Inhalt 7",
    "Zusatzinformation – Art 8",
    "Zusatzinformation – Inhalt 8",
    "Zusatzinformation – Art 9",
    "Zusatzinformation – Inhalt 9",
    "Zusatzinformation – Art 10",
    "Zusatzinformation – Inhalt 10",
    "Zusatzinformation – Art 11",
    "Zusatzinformation – Inhalt 11",
    "Zusatzinformation – Art 12",
    "Zusatzinformation – Inhalt 12",
    "Zusatzinformation – Art 13",
    "Zusatzinformation – Inhalt 13",
    "Zusatzinformation – Art 14",
    "Zusatzinformation – Inhalt 14",
    "Zusatzinformation – Art 15",
    "Zusatzinformation – Inhalt 15",
    "Zusatzinformation – Art 16",
    "Zusatzinformation – Inhalt 16",
    "Zusatzinformation – Art 17",
    "Zusatzinformation – Inhalt 17",
    "Zusatzinformation – Art 18",
    "Zusatzinformation – Inhalt 18",
    "Zusatzinformation – Art 19",
    "Zusatzinformation – Inhalt 19",
    "Zusatzinformation – Art 20",
    "Zusatzinformation – Inhalt 20",
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Mitgliedstaat (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Leerfeld",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung",
    "Kennzeichen",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord.",
    "Fälligkeit",
    "Generalumkehr",
    "Steuersatz",
    "Land",
    "Abrechnungsreferent",
    "BVV-Position",
    "EU-Mitgliedstaat u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
];

/// Columns facteur fills (0-based).
mod col {
    pub const UMSATZ: usize = 0;
    pub const SOLL_HABEN: usize = 1;
    pub const WKZ: usize = 2;
    pub const KONTO: usize = 6;
    pub const GEGENKONTO: usize = 7;
    pub const BELEGDATUM: usize = 9;
    pub const BELEGFELD1: usize = 10;
    pub const BUCHUNGSTEXT: usize = 13;
    pub const BELEGINFO_ART1: usize = 20;
    pub const BELEGINFO_INHALT1: usize = 21;
}

/// What the batch header says besides the entries.
#[derive(Debug, Clone)]
pub struct Header {
    /// Beraternummer (1001–9999999).
    pub consultant: u32,
    /// Mandantennummer (1–99999).
    pub client: u32,
    pub fiscal_year_start: NaiveDate,
    /// Sachkontenlänge (4–8): account numbers are padded to it.
    pub account_length: usize,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: String,
    pub created: DateTime<Utc>,
}

impl Header {
    /// Refuses numbers DATEV refuses, and a period outside one fiscal year (Belegdatum has no
    /// year: the header's fiscal year gives it).
    pub fn check(&self) -> Result<(), String> {
        if !(1001..=9_999_999).contains(&self.consultant) {
            return Err(format!(
                "Beraternummer {} is not between 1001 and 9999999",
                self.consultant
            ));
        }
        if !(1..=99_999).contains(&self.client) {
            return Err(format!(
                "Mandantennummer {} is not between 1 and 99999",
                self.client
            ));
        }
        if !(4..=8).contains(&self.account_length) {
            return Err(format!(
                "account length {} is not between 4 and 8",
                self.account_length
            ));
        }
        let next = self
            .fiscal_year_start
            .checked_add_months(chrono::Months::new(12))
            .unwrap_or(self.fiscal_year_start);
        if self.from > self.to || self.from < self.fiscal_year_start || self.to >= next {
            return Err(format!(
                "a DATEV batch stays in one fiscal year ({} to {}): {} to {} is not",
                self.fiscal_year_start,
                next.pred_opt().unwrap_or(next),
                self.from,
                self.to
            ));
        }
        Ok(())
    }
}

/// A quoted text field: no quotes or line breaks inside, at most `max` characters.
fn text(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!("\"{}\"", t.chars().take(max).collect::<String>())
}

/// Belegfeld 1: letters, digits and `$ & % * + - /`, at most 36.
fn piece(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "$&%*+-/".contains(*c))
        .take(36)
        .collect();
    format!("\"{t}\"")
}

/// `1234,50`.
fn amount(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2)).replace('.', ",")
}

fn account(n: &str, len: usize) -> String {
    format!("{n:0<len$}")
}

/// One DATEV row: an amount from `debit` to `credit`.
struct Pair<'a> {
    amount: Decimal,
    debit: &'a super::entry::Line,
    credit: &'a super::entry::Line,
}

/// Splits an entry into pairs of accounts: debit and credit lines in order, amounts matched.
fn pairs(e: &PostedEntry) -> Vec<Pair<'_>> {
    let debits: Vec<_> = e.body.lines.iter().filter(|l| !l.debit.is_zero()).collect();
    let credits: Vec<_> = e
        .body
        .lines
        .iter()
        .filter(|l| !l.credit.is_zero())
        .collect();
    let (mut i, mut j) = (0, 0);
    let (mut left_d, mut left_c) = (
        debits.first().map_or(Decimal::ZERO, |l| l.debit),
        credits.first().map_or(Decimal::ZERO, |l| l.credit),
    );
    let mut out = Vec::new();
    while i < debits.len() && j < credits.len() {
        let a = left_d.min(left_c);
        out.push(Pair {
            amount: a,
            debit: debits[i],
            credit: credits[j],
        });
        left_d -= a;
        left_c -= a;
        if left_d.is_zero() {
            i += 1;
            left_d = debits.get(i).map_or(Decimal::ZERO, |l| l.debit);
        }
        if left_c.is_zero() {
            j += 1;
            left_c = credits.get(j).map_or(Decimal::ZERO, |l| l.credit);
        }
    }
    out
}

/// Characters Windows-1252 lacks become `?`.
fn windows_1252(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// The file's bytes.
pub fn write(entries: &[PostedEntry], h: &Header) -> Vec<u8> {
    let d = |d: NaiveDate| d.format("%Y%m%d").to_string();
    let mut head = vec![String::new(); 31];
    head[0] = "\"EXTF\"".into();
    head[1] = "700".into();
    head[2] = "21".into();
    head[3] = "\"Buchungsstapel\"".into();
    head[4] = "13".into();
    head[5] = h.created.format("%Y%m%d%H%M%S%3f").to_string();
    head[7] = "\"FA\"".into();
    head[8] = text("facteur", 25);
    head[10] = h.consultant.to_string();
    head[11] = h.client.to_string();
    head[12] = d(h.fiscal_year_start);
    head[13] = h.account_length.to_string();
    head[14] = d(h.from);
    head[15] = d(h.to);
    head[16] = text(&format!("facteur {} {}", d(h.from), d(h.to)), 30);
    head[18] = "1".into();
    head[19] = "0".into();
    head[20] = "0".into();
    head[21] = text(&h.currency, 3);
    let mut out = head.join(";");
    out.push_str("\r\n");
    out.push_str(&COLUMNS.join(";"));
    out.push_str("\r\n");
    for e in entries {
        let b = &e.body;
        for p in pairs(e) {
            let mut row = vec![String::new(); COLUMNS.len()];
            row[col::UMSATZ] = amount(p.amount);
            row[col::SOLL_HABEN] = "\"S\"".into();
            row[col::WKZ] = text(&b.currency.to_string(), 3);
            row[col::KONTO] = account(p.debit.account.as_str(), h.account_length);
            row[col::GEGENKONTO] = account(p.credit.account.as_str(), h.account_length);
            row[col::BELEGDATUM] = b.date.format("%d%m").to_string();
            row[col::BELEGFELD1] = piece(&b.piece_ref);
            row[col::BUCHUNGSTEXT] = text(&p.debit.label, 60);
            if let Some(aux) = p.debit.auxiliary.as_ref().or(p.credit.auxiliary.as_ref()) {
                row[col::BELEGINFO_ART1] = text("Compte auxiliaire", 20);
                row[col::BELEGINFO_INHALT1] = text(&format!("{} {}", aux.code, aux.name), 210);
            }
            out.push_str(&row.join(";"));
            out.push_str("\r\n");
        }
    }
    windows_1252(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::entry::{Auxiliary, Journal, Line};
    use crate::ledger::AccountNumber;
    use rust_decimal_macros::dec;

    fn header() -> Header {
        Header {
            consultant: 29098,
            client: 55003,
            fiscal_year_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            account_length: 8,
            from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            currency: "EUR".into(),
            created: NaiveDate::from_ymd_opt(2026, 4, 2)
                .unwrap()
                .and_hms_milli_opt(9, 30, 5, 42)
                .unwrap()
                .and_utc(),
        }
    }

    /// A reverse-charge purchase: expense and VAT against the supplier, 445662 against 4452.
    fn entry() -> PostedEntry {
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        let acme = Auxiliary::of('F', "DE123456789", "Müller GmbH «Köln»");
        PostedEntry::sample(
            7,
            Journal::Purchases,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            vec![
                Line::debit(acc("6064"), "Müller GmbH \"RE-17\"", dec!(1000)),
                Line::credit(acc("401"), "Müller GmbH RE-17", dec!(1000)).with_auxiliary(acme),
                Line::debit(acc("445662"), "Autoliquidation RE-17", dec!(200)),
                Line::credit(acc("4452"), "Autoliquidation RE-17", dec!(200)),
            ],
        )
    }

    #[test]
    fn the_batch_follows_extf_700() {
        let bytes = write(&[entry()], &header());
        let (text, _, bad) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!bad);
        assert!(text.ends_with("\r\n"));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 5, "header, columns, 2 rows, and the end");
        let head: Vec<&str> = lines[0].split(';').collect();
        assert_eq!(head.len(), 31);
        assert_eq!(
            head[..16],
            [
                "\"EXTF\"",
                "700",
                "21",
                "\"Buchungsstapel\"",
                "13",
                "20260402093005042",
                "",
                "\"FA\"",
                "\"facteur\"",
                "",
                "29098",
                "55003",
                "20260101",
                "8",
                "20260301",
                "20260331"
            ]
        );
        assert_eq!(head[21], "\"EUR\"");
        assert_eq!(lines[1].split(';').count(), 125);
        let row: Vec<&str> = lines[2].split(';').collect();
        assert_eq!(row.len(), 125);
        assert_eq!(
            row[..14],
            [
                "1000,00",
                "\"S\"",
                "\"EUR\"",
                "",
                "",
                "",
                "60640000",
                "40100000",
                "",
                "1203",
                "\"FA1\"",
                "",
                "",
                "\"Müller GmbH 'RE-17'\""
            ]
        );
        assert_eq!(
            row[20..22],
            [
                "\"Compte auxiliaire\"",
                "\"FDE123456789 Müller GmbH «Köln»\""
            ]
        );
        let rc: Vec<&str> = lines[3].split(';').collect();
        assert_eq!(
            rc[..8],
            ["200,00", "\"S\"", "\"EUR\"", "", "", "", "44566200", "44520000"]
        );
        // Windows-1252: ü is one byte, and the column names' dash too.
        assert!(bytes.windows(2).any(|w| w == [b'M', 0xFC]));
        assert!(bytes.contains(&0x96));
    }

    #[test]
    fn entries_split_into_pairs_whatever_their_shape() {
        let acc = |n: &str| AccountNumber::parse(n).unwrap();
        let e = PostedEntry::sample(
            1,
            Journal::Misc,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            vec![
                Line::debit(acc("606"), "x", dec!(70)),
                Line::debit(acc("44566"), "x", dec!(30)),
                Line::credit(acc("401"), "x", dec!(40)),
                Line::credit(acc("512"), "x", dec!(60)),
            ],
        );
        let p: Vec<(String, String, Decimal)> = pairs(&e)
            .iter()
            .map(|p| {
                (
                    p.debit.account.to_string(),
                    p.credit.account.to_string(),
                    p.amount,
                )
            })
            .collect();
        assert_eq!(
            p,
            vec![
                ("606".into(), "401".into(), dec!(40)),
                ("606".into(), "512".into(), dec!(30)),
                ("44566".into(), "512".into(), dec!(30)),
            ]
        );
    }

    #[test]
    fn a_batch_stays_in_one_fiscal_year_and_takes_datev_numbers() {
        assert!(header().check().is_ok());
        let mut h = header();
        h.to = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert!(h.check().unwrap_err().contains("one fiscal year"));
        let mut h = header();
        h.consultant = 12;
        assert!(h.check().is_err());
    }
}
