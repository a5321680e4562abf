//! What CII and UBL share once their paths are walked: typed values from text, parties from ids.
//!
//! Both syntaxes carry the same EN 16931 terms, and the XRechnung test suite checks that a UBL file
//! and its CII twin read to the same `Invoice`; so the rules that turn raw strings into domain values
//! (dates, decimals, scheme 0002/0009 ids, the VAT id, the BT-110 currency choice) live here once.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;

use super::xml::Element;
use super::EinvoiceError;
use crate::domain::{Bic, Currency, Iban, Party, Siren, Siret, VatBreakdown, VatId};

/// A party as written, before its ids go through the domain types.
#[derive(Debug, Default)]
pub struct RawParty {
    pub name: Option<String>,
    /// BT-29 / BT-46 identifiers with their scheme.
    pub ids: Vec<(Option<String>, String)>,
    /// BT-30 / BT-47 legal registration id with its scheme.
    pub legal: Option<(Option<String>, String)>,
    /// BT-31 / BT-48.
    pub vat: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
}

impl RawParty {
    /// Typed party: an id that fails its check stays out of the typed field; `legal_id` keeps the
    /// printed value whatever its scheme.
    pub fn build(self) -> Party {
        let mut party = Party {
            name: self.name,
            vat_id: self.vat.as_deref().and_then(|v| VatId::parse(v).ok()),
            legal_id: self.legal.as_ref().map(|(_, v)| v.clone()),
            country: self.country,
            email: self.email,
            ..Party::default()
        };
        for (scheme, value) in self.legal.iter().chain(self.ids.iter()) {
            match scheme.as_deref().map(str::trim) {
                Some("0002") if party.siren.is_none() => party.siren = Siren::parse(value).ok(),
                Some("0009") if party.siret.is_none() => party.siret = Siret::parse(value).ok(),
                _ => {}
            }
        }
        if party.siren.is_none() {
            party.siren = party.siret.as_ref().map(Siret::siren);
        }
        party
    }
}

/// Sets BT-84/BT-86 on the seller from the first account that parses as an IBAN.
pub fn set_account(seller: &mut Party, accounts: &[(String, Option<String>)]) {
    for (account, bic) in accounts {
        if let Ok(iban) = Iban::parse(account) {
            seller.iban = Some(iban);
            seller.bic = bic.as_deref().and_then(|b| Bic::parse(b).ok());
            return;
        }
    }
}

/// A decimal term; `what` names the business term and element for the error.
pub fn decimal(
    el: Option<Element<'_>>,
    what: &'static str,
) -> Result<Option<Decimal>, EinvoiceError> {
    let Some(text) = el.and_then(Element::trimmed) else {
        return Ok(None);
    };
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map(Some)
        .map_err(|_| EinvoiceError::BadValue {
            term: what,
            value: text.to_string(),
            expected: "a decimal number such as 1234.56",
        })
}

/// The first of `amounts` in the invoice currency: a total may be given twice, once in the
/// invoice currency (BT-110) and once in the VAT accounting currency (BT-111).
pub fn amount_in<'a>(
    amounts: impl Iterator<Item = Element<'a>>,
    currency: Option<Currency>,
    what: &'static str,
) -> Result<Option<Decimal>, EinvoiceError> {
    let amounts: Vec<Element<'a>> = amounts.collect();
    let matching = amounts
        .iter()
        .find(|a| match (a.attr("currencyID"), currency) {
            (Some(c), Some(cur)) => c.trim().eq_ignore_ascii_case(cur.as_str()),
            _ => false,
        });
    let unlabelled = amounts.iter().find(|a| a.attr("currencyID").is_none());
    let chosen = match (matching, unlabelled, currency) {
        (Some(a), _, _) => Some(*a),
        (None, Some(a), _) => Some(*a),
        // No invoice currency to compare with: the only amount given is the one.
        (None, None, None) if amounts.len() == 1 => amounts.first().copied(),
        _ => None,
    };
    decimal(chosen, what)
}

/// BT-107, BT-108 and BT-113 may be left out when they are zero (UBL writers usually do, CII
/// writers usually print 0.00); EN 16931's own sums (BR-CO-13, BR-CO-16) read an absent one as zero.
pub fn zero_if_absent(v: Option<Decimal>) -> Option<Decimal> {
    Some(v.unwrap_or(Decimal::ZERO))
}

/// BT-110 as given, else the sum of the BG-23 VAT amounts it must equal (BR-CO-14), so that a
/// document that leaves BT-110 out (it is optional in CII) still states its VAT.
pub fn tax_total(given: Option<Decimal>, breakdown: &[VatBreakdown]) -> Option<Decimal> {
    given.or_else(|| (!breakdown.is_empty()).then(|| breakdown.iter().map(|b| b.tax_amount).sum()))
}

pub fn currency(text: Option<String>) -> Result<Option<Currency>, EinvoiceError> {
    text.map(|t| {
        Currency::parse(&t).map_err(|_| EinvoiceError::BadValue {
            term: "BT-5 currency",
            value: t,
            expected: "an ISO 4217 code such as EUR",
        })
    })
    .transpose()
}

/// A CII date: the wrapper's (first) child carries the text and its UNTDID 2379 format.
pub fn cii_date(
    wrapper: Option<Element<'_>>,
    what: &'static str,
) -> Result<Option<NaiveDate>, EinvoiceError> {
    let Some(wrapper) = wrapper else {
        return Ok(None);
    };
    let inner = wrapper.first_child().unwrap_or(wrapper);
    let Some(text) = inner.trimmed() else {
        return Ok(None);
    };
    let bad = |expected: &'static str| EinvoiceError::BadValue {
        term: what,
        value: text.to_string(),
        expected,
    };
    let digits = |n: usize| text.len() >= n && text.bytes().take(n).all(|b| b.is_ascii_digit());
    let num = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
    let date = match inner.attr("format").map(str::trim) {
        Some("610") if digits(6) => {
            let (y, m) = (num(0..4), num(4..6));
            y.zip(m)
                .and_then(|(y, m)| NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, 1))
                .ok_or_else(|| bad("format 610: YYYYMM"))?
        }
        Some("616") if digits(6) => {
            let (y, w) = (num(0..4), num(4..6));
            y.zip(w)
                .and_then(|(y, w)| {
                    NaiveDate::from_isoywd_opt(i32::try_from(y).ok()?, w, Weekday::Mon)
                })
                .ok_or_else(|| bad("format 616: YYYYWW (ISO week)"))?
        }
        _ => iso_or_compact(text).ok_or_else(|| bad("format 102: YYYYMMDD"))?,
    };
    Ok(Some(date))
}

/// A UBL date (`xsd:date`, maybe with a time zone).
pub fn ubl_date(
    el: Option<Element<'_>>,
    what: &'static str,
) -> Result<Option<NaiveDate>, EinvoiceError> {
    let Some(text) = el.and_then(Element::trimmed) else {
        return Ok(None);
    };
    iso_or_compact(text)
        .map(Some)
        .ok_or_else(|| EinvoiceError::BadValue {
            term: what,
            value: text.to_string(),
            expected: "an ISO date YYYY-MM-DD",
        })
}

fn iso_or_compact(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if let Some(head) = t.get(..10) {
        if let Ok(d) = NaiveDate::parse_from_str(head, "%Y-%m-%d") {
            return Some(d);
        }
    }
    let head = t.get(..8)?;
    let d = NaiveDate::parse_from_str(head, "%Y%m%d").ok()?;
    // Guard against e.g. a 12-digit number read as a date.
    (d.year() > 1900).then_some(d)
}

/// Non-empty texts of `els`, joined by newlines.
pub fn joined<'a>(els: impl Iterator<Item = Element<'a>>) -> Option<String> {
    let parts: Vec<&str> = els.filter_map(Element::trimmed).collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;
    use rust_decimal_macros::dec;

    fn tree(s: &str) -> super::super::xml::Tree<'_> {
        parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn cii_dates_by_format() {
        let d = |s: &str| cii_date(Some(tree(s).root()), "BT-2").unwrap();
        assert_eq!(
            d(r#"<w><s format="102">20180305</s></w>"#),
            NaiveDate::from_ymd_opt(2018, 3, 5)
        );
        assert_eq!(
            d(r#"<w><s format="610">201803</s></w>"#),
            NaiveDate::from_ymd_opt(2018, 3, 1)
        );
        assert_eq!(
            d(r#"<w><s format="616">201802</s></w>"#),
            NaiveDate::from_ymd_opt(2018, 1, 8)
        );
        assert_eq!(
            d(r#"<w><s>2018-03-05</s></w>"#),
            NaiveDate::from_ymd_opt(2018, 3, 5)
        );
        let bad = tree(r#"<w><s format="102">20181305</s></w>"#);
        assert!(cii_date(Some(bad.root()), "BT-2").is_err());
    }

    #[test]
    fn amount_in_invoice_currency_wins() {
        let t = tree(r#"<m><T currencyID="SEK">100</T><T currencyID="EUR">9.5</T></m>"#);
        let doc = t.root();
        let got = amount_in(doc.all("T"), Some(Currency::EUR), "BT-110").unwrap();
        assert_eq!(got, Some(dec!(9.5)));
        let got = amount_in(doc.all("T"), Some(Currency::USD), "BT-110").unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn party_ids_through_domain_types() {
        let raw = RawParty {
            legal: Some((Some("0002".into()), "12345678900014".into())),
            ids: vec![(Some("0009".into()), "732 829 320 00074".into())],
            vat: Some("FR33123456789".into()),
            ..RawParty::default()
        };
        let p = raw.build();
        assert_eq!(p.legal_id.as_deref(), Some("12345678900014"));
        assert_eq!(p.siret.as_ref().map(|s| s.as_str()), Some("73282932000074"));
        assert_eq!(p.siren.as_ref().map(|s| s.as_str()), Some("732829320"));
        assert!(p.vat_id.is_none(), "bad French VAT key must stay out");
    }
}
