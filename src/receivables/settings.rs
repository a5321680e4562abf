//! `[sales]` in facteur.toml: how issued invoices are numbered and what they say about the
//! seller besides `[company]` (its address, legal form, registry). Patterns are parsed when the
//! file is loaded, so a wrong one is a config error with its line.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{FacturxProfile, NumberPattern};
use crate::ledger::AccountNumber;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesSettings {
    /// Invoice numbers: `{YYYY}`/`{YY}` the fiscal year, `{seq:05}` the counter (gap-free per
    /// pattern and fiscal year, restarting at 1).
    #[serde(default = "default_number_pattern")]
    pub number_pattern: NumberPattern,
    /// Credit note numbers, a series of their own.
    #[serde(default = "default_credit_note_pattern")]
    pub credit_note_pattern: NumberPattern,
    /// Quote (devis) numbers, a series of their own, taken when a quote's PDF is first made.
    #[serde(default = "default_quote_pattern")]
    pub quote_pattern: NumberPattern,
    /// Days a quote stays valid from its date, unless its file says `validity_days`.
    #[serde(default = "default_quote_validity_days")]
    pub quote_validity_days: u32,
    /// The Factur-X profile of issued invoices' XML: "EN 16931" (default), "BASIC", "BASIC WL"
    /// or "MINIMUM". The last two carry no lines: refused between French companies, where
    /// they are not a full invoice. `sales issue --profile` overrides it for one invoice.
    #[serde(default)]
    pub facturx_profile: FacturxProfile,
    /// Revenue account of issued invoices (PCG 706, services).
    #[serde(default = "default_revenue_account")]
    pub revenue_account: AccountNumber,
    /// The seller's street address, as printed on invoices (required to issue).
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub city: String,
    /// Contact mailbox printed in the footer.
    #[serde(default)]
    pub email: Option<String>,
    /// Legal form and share capital ("SARL au capital de 10 000 €").
    #[serde(default)]
    pub legal_form: Option<String>,
    /// Trade registry ("RCS Paris").
    #[serde(default)]
    pub registry: Option<String>,
    /// Late-payment penalty rate, percent a year. Unset: the legal default is printed (the ECB's
    /// refinancing rate plus 10 points, C. com. L441-10).
    #[serde(default)]
    pub late_penalty_percent: Option<Decimal>,
}

fn default_number_pattern() -> NumberPattern {
    NumberPattern::parse("FA-{YYYY}-{seq:05}").unwrap_or_else(|e| unreachable!("{e}"))
}
fn default_credit_note_pattern() -> NumberPattern {
    NumberPattern::parse("AV-{YYYY}-{seq:05}").unwrap_or_else(|e| unreachable!("{e}"))
}
fn default_quote_pattern() -> NumberPattern {
    NumberPattern::parse("DE-{YYYY}-{seq:05}").unwrap_or_else(|e| unreachable!("{e}"))
}
fn default_quote_validity_days() -> u32 {
    30
}
fn default_revenue_account() -> AccountNumber {
    AccountNumber::parse("706").unwrap_or_else(|e| unreachable!("{e}"))
}

impl Default for SalesSettings {
    fn default() -> Self {
        SalesSettings {
            number_pattern: default_number_pattern(),
            credit_note_pattern: default_credit_note_pattern(),
            quote_pattern: default_quote_pattern(),
            quote_validity_days: default_quote_validity_days(),
            facturx_profile: FacturxProfile::default(),
            revenue_account: default_revenue_account(),
            address: String::new(),
            postcode: String::new(),
            city: String::new(),
            email: None,
            legal_form: None,
            registry: None,
            late_penalty_percent: None,
        }
    }
}

impl SalesSettings {
    pub fn series(&self) -> crate::store::receivables::Series {
        crate::store::receivables::Series {
            invoice: self.number_pattern.clone(),
            credit_note: self.credit_note_pattern.clone(),
        }
    }
}
