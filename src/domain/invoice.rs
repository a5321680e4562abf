//! The invoice as facteur understands it, whatever it was read from.
//!
//! The fields follow EN 16931 business terms (BT-x noted on each) so that structured e-invoices map
//! straight in and visual reading fills the same shape. One currency per invoice (BT-5) applies to
//! every amount, as in EN 16931; `Invoice::amount` pairs a total with it. Everything is optional
//! because a visual reading may miss a field; `read::fields` says how sure it is of each.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{Bic, Iban, Siren, Siret, VatId};
use super::money::Currency;

/// Invoice or credit note (BT-3 type codes 380/384/386/389/… vs 381/261/…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    #[default]
    Invoice,
    CreditNote,
}

impl DocType {
    /// From an UNTDID 1001 code (BT-3).
    pub fn from_type_code(code: &str) -> DocType {
        match code.trim() {
            "381" | "261" | "262" | "296" | "308" | "396" | "420" | "458" | "532" => {
                DocType::CreditNote
            }
            _ => DocType::Invoice,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DocType::Invoice => "invoice",
            DocType::CreditNote => "credit_note",
        }
    }
}

/// A seller, buyer or payee (BG-4, BG-7, BG-10).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// BT-27 / BT-44.
    pub name: Option<String>,
    /// BT-31 / BT-48.
    pub vat_id: Option<VatId>,
    /// French establishment number (scheme 0009), when given.
    pub siret: Option<Siret>,
    /// French company number (scheme 0002), when given or derived from the SIRET.
    pub siren: Option<Siren>,
    /// BT-30 / BT-47 legal registration id as printed, whatever the scheme.
    pub legal_id: Option<String>,
    /// BT-84 payment account (seller only).
    pub iban: Option<Iban>,
    /// BT-86.
    pub bic: Option<Bic>,
    pub email: Option<String>,
    pub country: Option<String>,
}

/// Folds a party key (VAT id, SIREN, name) for comparison: letters and digits only, lower case,
/// so "FR 44 732 829 320" and "fr44732829320" are one key.
pub fn fold_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Party {
    /// The keys a configuration may name this party by (VAT id, SIREN, name), folded
    /// (`fold_key`), most specific first.
    pub fn keys(&self) -> Vec<String> {
        [
            self.vat_id.as_ref().map(|v| v.as_str().to_string()),
            self.siren.as_ref().map(|v| v.as_str().to_string()),
            self.siret.as_ref().map(|v| v.siren().as_str().to_string()),
            self.name.clone(),
        ]
        .into_iter()
        .flatten()
        .map(|k| fold_key(&k))
        .filter(|k| !k.is_empty())
        .collect()
    }

    /// Whether one of `names` (VAT ids, SIRENs or names as a person wrote them) is this party.
    pub fn is_one_of<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> bool {
        let keys = self.keys();
        names.into_iter().any(|n| keys.contains(&fold_key(n)))
    }
}

/// One VAT rate's subtotal (BG-23).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VatBreakdown {
    /// BT-118 category code (S, Z, E, AE, K, G, O, L, M).
    pub category: Option<String>,
    /// BT-119 rate in percent.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
    /// BT-116.
    #[serde(with = "rust_decimal::serde::str")]
    pub taxable_amount: Decimal,
    /// BT-117.
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_amount: Decimal,
    /// BT-120.
    pub exemption_reason: Option<String>,
}

/// One invoice line (BG-25).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// BT-126.
    pub id: Option<String>,
    /// BT-153 item name (and BT-154 description when there is no name).
    pub description: String,
    /// BT-129.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub quantity: Option<Decimal>,
    /// BT-130 (UN/ECE rec 20).
    pub unit: Option<String>,
    /// BT-146 net price.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub unit_price: Option<Decimal>,
    /// BT-131 line net amount.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub net_amount: Option<Decimal>,
    /// BT-151.
    pub vat_category: Option<String>,
    /// BT-152.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub vat_rate: Option<Decimal>,
}

/// A preceding invoice a credit note refers to (BG-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecedingInvoice {
    /// BT-25.
    pub number: String,
    /// BT-26.
    pub issue_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub doc_type: DocType,
    /// BT-3 as written, when the source gives one.
    pub type_code: Option<String>,
    /// BT-1.
    pub number: Option<String>,
    /// BT-2.
    pub issue_date: Option<NaiveDate>,
    /// BT-9 (or resolved from the payment terms).
    pub due_date: Option<NaiveDate>,
    /// BT-5.
    pub currency: Option<Currency>,
    /// BT-10.
    pub buyer_reference: Option<String>,
    /// BT-13.
    pub purchase_order: Option<String>,
    /// BT-12.
    pub contract_reference: Option<String>,
    /// BT-20.
    pub payment_terms: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    /// BT-106 sum of line net amounts.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub line_total: Option<Decimal>,
    /// BT-107.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub allowance_total: Option<Decimal>,
    /// BT-108.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub charge_total: Option<Decimal>,
    /// BT-109 total without VAT.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_net: Option<Decimal>,
    /// BT-110 total VAT.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_tax: Option<Decimal>,
    /// BT-112 total with VAT.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_gross: Option<Decimal>,
    /// BT-113 paid amount.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub prepaid: Option<Decimal>,
    /// BT-115 amount due for payment.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_due: Option<Decimal>,
    pub vat_breakdown: Vec<VatBreakdown>,
    pub lines: Vec<LineItem>,
    pub preceding: Vec<PrecedingInvoice>,
}
