//! Account numbers and the chart of accounts. A general account is digits (PCG: the class first,
//! 401, 44566); a supplier's or customer's auxiliary account is letters and digits under its
//! control account (401 → `F` + a code). The chart is data, not code: the default French PCG is
//! built in from models/chart/pcg.toml, with French and English labels.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A general ledger account number: 2 to 12 digits, not starting with 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let ok = (2..=12).contains(&t.len())
            && t.chars().all(|c| c.is_ascii_digit())
            && !t.starts_with('0');
        if ok {
            Ok(AccountNumber(t.to_string()))
        } else {
            Err(format!(
                "'{s}' is not an account number: write 2 to 12 digits, the class first (401, 44566, 6064)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AccountNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AccountNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The well-known accounts facteur posts to by itself.
pub mod pcg {
    pub const SUPPLIERS: &str = "401";
    pub const CUSTOMERS: &str = "411";
    pub const DEDUCTIBLE_VAT: &str = "44566";
    /// VAT on receipts (services): deductible once the invoice is paid, waiting here until then
    /// (a sub-account of 4456 of its own: not 445660, which six-digit charts use for 44566).
    pub const VAT_ON_RECEIPTS: &str = "445668";
    /// Reverse charge: the VAT the company owes on a purchase and deducts at once.
    pub const INTRA_EU_DEDUCTIBLE_VAT: &str = "445662";
    pub const INTRA_EU_VAT_DUE: &str = "4452";
    pub const COLLECTED_VAT: &str = "44571";
    pub const BANK: &str = "512";
    /// Exchange differences on paying an invoice in another currency: loss, gain.
    pub const EXCHANGE_LOSS: &str = "666";
    pub const EXCHANGE_GAIN: &str = "766";
    /// Non-stocked purchases: the expense of a supplier invoice nothing else classifies.
    pub const DEFAULT_EXPENSE: &str = "606";
    /// The year's result carried forward: profit, loss.
    pub const PROFIT: &str = "120";
    pub const LOSS: &str = "129";

    /// Balance-sheet accounts (classes 1–5) carry their balance into the next year; income
    /// statement accounts (6, 7) close into the result.
    pub fn carried_forward(account: &str) -> bool {
        matches!(account.as_bytes().first(), Some(b'1'..=b'5'))
    }
}

/// Labels in the languages facteur speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChart {
    account: Vec<RawAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    number: String,
    fr: String,
    en: String,
}

/// A chart of accounts: numbers with their labels.
#[derive(Debug, Clone)]
pub struct Chart {
    accounts: Vec<(AccountNumber, String, String)>,
}

const PCG: &str = include_str!("../../models/chart/pcg.toml");

impl Chart {
    /// The built-in French PCG.
    pub fn pcg() -> Chart {
        // The built-in file is tested below; a failure here is a build defect, not input.
        Chart::parse("models/chart/pcg.toml", PCG).expect("the built-in chart parses")
    }

    pub fn parse(path: &str, text: &str) -> Result<Chart, String> {
        let raw: RawChart = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        let mut accounts = Vec::new();
        for a in raw.account {
            let n = AccountNumber::parse(&a.number).map_err(|e| format!("{path}: {e}"))?;
            accounts.push((n, a.fr, a.en));
        }
        // Longest first, so the first prefix found is the most precise.
        accounts.sort_by(|a, b| b.0 .0.len().cmp(&a.0 .0.len()).then(a.0.cmp(&b.0)));
        Ok(Chart { accounts })
    }

    /// Whether `number` is in the chart: listed, or under a listed account.
    pub fn knows(&self, number: &str) -> bool {
        self.accounts
            .iter()
            .any(|(n, _, _)| number.starts_with(n.as_str()))
    }

    /// The label of `number`: its own, or that of its longest listed prefix; the number itself
    /// when the chart has nothing for it.
    pub fn label(&self, number: &str, lang: Lang) -> String {
        self.accounts
            .iter()
            .find(|(n, _, _)| number.starts_with(n.as_str()))
            .map(|(_, fr, en)| match lang {
                Lang::Fr => fr.clone(),
                Lang::En => en.clone(),
            })
            .unwrap_or_else(|| number.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_chart_labels_by_longest_prefix_in_both_languages() {
        let c = Chart::pcg();
        assert_eq!(
            c.label("44566", Lang::Fr),
            "TVA déductible sur autres biens et services"
        );
        assert_eq!(c.label("6064", Lang::En), "Office supplies");
        assert_eq!(
            c.label("60611", Lang::Fr),
            "Achats non stockés de matières et fournitures"
        );
        assert_eq!(c.label("9999", Lang::En), "9999");
        assert_eq!(
            c.label(pcg::VAT_ON_RECEIPTS, Lang::Fr),
            "TVA déductible à régulariser (TVA sur les encaissements)"
        );
        assert_eq!(
            c.label(pcg::VAT_ON_RECEIPTS, Lang::En),
            "Deductible VAT awaiting payment (VAT on receipts)"
        );
        assert!(c.knows("1013") && c.knows("512") && !c.knows("9999"));
        assert_eq!(c.label("1013", Lang::En), "Capital");
    }

    #[test]
    fn account_numbers_are_digits_class_first() {
        assert!(AccountNumber::parse("401").is_ok());
        assert!(AccountNumber::parse("0401").is_err());
        assert!(AccountNumber::parse("40A").is_err());
        assert!(AccountNumber::parse("4").is_err());
    }
}
