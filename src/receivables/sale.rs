//! A sale: the lines of a draft, checked, and its totals. A draft is free to change and never
//! holds a number; issuing numbers it and makes it immutable (the store refuses any change).
//!
//! Rounding rule (EN 16931 BR-CO-10, BR-CO-17), stated once here and printed nowhere else:
//! a line's net is quantity × unit price rounded half away from zero to the cent; the VAT of a
//! rate is computed once, on the sum of that rate's line nets, and rounded the same way; the
//! invoice's totals are sums of those rounded figures (net + VAT = gross exactly).

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::domain::Currency;

/// Invoice or credit note (EN 16931 type codes 380 and 381).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleKind {
    Invoice,
    CreditNote,
}

impl SaleKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SaleKind::Invoice => "invoice",
            SaleKind::CreditNote => "credit_note",
        }
    }

    pub fn parse(s: &str) -> Option<SaleKind> {
        [SaleKind::Invoice, SaleKind::CreditNote]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    /// Editable, no number.
    Draft,
    /// Numbered, posted, immutable.
    Issued,
}

impl SaleState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SaleState::Draft => "draft",
            SaleState::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<SaleState> {
        [SaleState::Draft, SaleState::Issued]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One line of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleLine {
    pub description: String,
    #[serde(deserialize_with = "decimal")]
    pub quantity: Decimal,
    /// Net of VAT, in the invoice currency.
    #[serde(deserialize_with = "decimal")]
    pub unit_price: Decimal,
    /// Percent: 20, 10, 5.5, 2.1 or 0 (then the draft states its exemption).
    #[serde(deserialize_with = "decimal")]
    pub vat_rate: Decimal,
    /// UN/ECE rec. 20 unit code (C62 one, HUR hour, DAY day…); C62 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Reads a decimal written as a TOML string, integer or float (`"450.00"`, `3`, `5.5`).
fn decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        S(String),
        I(i64),
        F(f64),
    }
    let text = match Num::deserialize(d)? {
        Num::S(s) => s,
        Num::I(i) => i.to_string(),
        Num::F(f) => f.to_string(),
    };
    text.trim()
        .parse::<Decimal>()
        .map_err(|_| serde::de::Error::custom(format!("'{text}' is not a number")))
}

/// A draft as written in `facteur sales draft FILE.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftFile {
    /// The customer's account (`C732829320`) or id.
    pub customer: String,
    /// The ledger's currency when absent.
    #[serde(default)]
    pub currency: Option<String>,
    /// A free note printed under the lines (order reference, period…).
    #[serde(default)]
    pub note: Option<String>,
    /// Why no VAT is charged, required when a line is at 0 % ("TVA non applicable, art. 293 B
    /// du CGI", "Autoliquidation", "Exonération de TVA, article 262 ter I du CGI").
    #[serde(default)]
    pub vat_exemption: Option<String>,
    #[serde(rename = "line", default)]
    pub lines: Vec<SaleLine>,
}

/// The largest quantity, price or line facteur accepts (a typo guard, not a business limit).
const MAX_AMOUNT: i64 = 1_000_000_000;

/// Checks the lines of a sale; the first problem found, with the line and what to write.
pub fn check_lines(lines: &[SaleLine], vat_exemption: Option<&str>) -> Result<(), String> {
    if lines.is_empty() {
        return Err("a sale has at least one [[line]]".into());
    }
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let bad = |why: String| Err(format!("line {n} ({}): {why}", l.description));
        if l.description.trim().is_empty() {
            return Err(format!("line {n}: a line needs a description"));
        }
        if l.quantity <= Decimal::ZERO || l.quantity > Decimal::from(MAX_AMOUNT) {
            return bad(format!(
                "quantity {} must be positive (a credit note corrects an invoice)",
                l.quantity
            ));
        }
        if l.unit_price.is_sign_negative() || l.unit_price > Decimal::from(MAX_AMOUNT) {
            return bad(format!("unit price {} must be 0 or more", l.unit_price));
        }
        if l.vat_rate.is_sign_negative()
            || l.vat_rate >= Decimal::ONE_HUNDRED
            || l.vat_rate.round_dp(2) != l.vat_rate
        {
            return bad(format!(
                "VAT rate {} is not a percentage: write 20, 10, 5.5, 2.1 or 0",
                l.vat_rate
            ));
        }
        if l.vat_rate.is_zero() && vat_exemption.is_none_or(|m| m.trim().is_empty()) {
            return bad("a line without VAT needs the draft's vat_exemption mention (\"TVA non applicable, art. 293 B du CGI\")".into());
        }
        if let Some(u) = &l.unit {
            if u.is_empty() || u.len() > 3 || !u.chars().all(|c| c.is_ascii_alphanumeric()) {
                return bad(format!(
                    "unit '{u}' is not a UN/ECE unit code (C62, HUR, DAY, KGM)"
                ));
            }
        }
    }
    Ok(())
}

/// One VAT rate's share of the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateTotal {
    pub rate: Decimal,
    pub base: Decimal,
    pub tax: Decimal,
}

/// A sale's figures, by the rounding rule above.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Each line's net, in line order.
    pub lines: Vec<Decimal>,
    /// Per rate, highest rate first.
    pub by_rate: Vec<RateTotal>,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// Half away from zero to the cent.
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl Totals {
    pub fn of(lines: &[SaleLine]) -> Totals {
        let nets: Vec<Decimal> = lines
            .iter()
            .map(|l| cents(l.quantity * l.unit_price))
            .collect();
        let mut bases: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        for (l, net) in lines.iter().zip(&nets) {
            *bases.entry(l.vat_rate.normalize()).or_default() += net;
        }
        let by_rate: Vec<RateTotal> = bases
            .into_iter()
            .rev()
            .map(|(rate, base)| RateTotal {
                rate,
                base,
                tax: cents(base * rate / Decimal::ONE_HUNDRED),
            })
            .collect();
        let net = by_rate.iter().map(|r| r.base).sum();
        let tax = by_rate.iter().map(|r| r.tax).sum();
        Totals {
            lines: nets,
            by_rate,
            net,
            tax,
            gross: net + tax,
        }
    }
}

/// A sale in the store: a draft, or an issued invoice or credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesInvoice {
    pub id: i64,
    pub kind: SaleKind,
    pub state: SaleState,
    pub customer_id: i64,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    pub note: Option<String>,
    pub vat_exemption: Option<String>,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
    /// Set when issued.
    pub number: Option<String>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub due_date: Option<chrono::NaiveDate>,
    /// The ledger entry it posted.
    pub entry_id: Option<i64>,
    /// A credit note's invoice.
    pub credits: Option<i64>,
}

impl SalesInvoice {
    pub fn totals(&self) -> Totals {
        Totals::of(&self.lines)
    }
}

/// A draft to save: lines checked, totals computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSale {
    pub kind: SaleKind,
    pub customer_id: i64,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    pub note: Option<String>,
    pub vat_exemption: Option<String>,
    pub credits: Option<i64>,
    pub totals: Totals,
}

impl NewSale {
    pub fn draft(customer_id: i64, currency: Currency, file: DraftFile) -> Result<NewSale, String> {
        let exemption = file
            .vat_exemption
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        check_lines(&file.lines, exemption.as_deref())?;
        let totals = Totals::of(&file.lines);
        Ok(NewSale {
            kind: SaleKind::Invoice,
            customer_id,
            currency,
            lines: file.lines,
            note: file.note.filter(|n| !n.trim().is_empty()),
            vat_exemption: exemption,
            credits: None,
            totals,
        })
    }

    /// The credit note that cancels `invoice` whole.
    pub fn credit_note(invoice: &SalesInvoice) -> NewSale {
        NewSale {
            kind: SaleKind::CreditNote,
            customer_id: invoice.customer_id,
            currency: invoice.currency,
            lines: invoice.lines.clone(),
            note: invoice
                .number
                .as_ref()
                .map(|n| format!("Avoir sur facture {n}")),
            vat_exemption: invoice.vat_exemption.clone(),
            credits: Some(invoice.id),
            totals: invoice.totals(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn line(q: Decimal, p: Decimal, r: Decimal) -> SaleLine {
        SaleLine {
            description: "x".into(),
            quantity: q,
            unit_price: p,
            vat_rate: r,
            unit: None,
        }
    }

    #[test]
    fn vat_is_computed_once_per_rate_on_rounded_line_nets() {
        // 3 × 0.335 = 1.005 → 1.01 (half away from zero); three such lines at 5.5 %:
        // 3.03 × 5.5 % = 0.16665 → 0.17, where per-line VAT would give 3 × 0.06 = 0.18.
        let lines = vec![
            line(dec!(3), dec!(0.335), dec!(5.5)),
            line(dec!(3), dec!(0.335), dec!(5.5)),
            line(dec!(3), dec!(0.335), dec!(5.5)),
            line(dec!(2), dec!(450), dec!(20)),
        ];
        let t = Totals::of(&lines);
        assert_eq!(t.lines, vec![dec!(1.01), dec!(1.01), dec!(1.01), dec!(900)]);
        assert_eq!(
            t.by_rate,
            vec![
                RateTotal {
                    rate: dec!(20),
                    base: dec!(900),
                    tax: dec!(180.00)
                },
                RateTotal {
                    rate: dec!(5.5),
                    base: dec!(3.03),
                    tax: dec!(0.17)
                },
            ]
        );
        assert_eq!(
            (t.net, t.tax, t.gross),
            (dec!(903.03), dec!(180.17), dec!(1083.20))
        );
    }

    #[test]
    fn a_draft_file_parses_numbers_written_any_way_and_checks_its_lines() {
        let f: DraftFile = toml::from_str(
            "customer = \"C732829320\"\n[[line]]\ndescription = \"Conseil\"\nquantity = 3\n\
             unit_price = \"450.00\"\nvat_rate = 5.5\n",
        )
        .unwrap();
        let s = NewSale::draft(1, Currency::EUR, f.clone()).unwrap();
        assert_eq!(s.totals.gross, dec!(1424.25));
        let mut zero = f.clone();
        zero.lines[0].vat_rate = dec!(0);
        assert!(NewSale::draft(1, Currency::EUR, zero.clone())
            .unwrap_err()
            .contains("vat_exemption"));
        zero.vat_exemption = Some("TVA non applicable, art. 293 B du CGI".into());
        assert!(NewSale::draft(1, Currency::EUR, zero).is_ok());
        let mut neg = f;
        neg.lines[0].quantity = dec!(-1);
        assert!(NewSale::draft(1, Currency::EUR, neg)
            .unwrap_err()
            .contains("credit note"));
    }
}
