//! The Factur-X profile of an issued invoice's XML: EN 16931 (the default), BASIC, BASIC WL or
//! MINIMUM. Each one names its guideline (BT-24) and the XMP ConformanceLevel, and says what it
//! leaves out; `refusal` and `warning` say where a profile is not a full invoice.
//!
//! Why refuse: MINIMUM and BASIC WL carry no invoice lines (BASIC WL) or neither lines nor VAT
//! breakdown (MINIMUM). The Factur-X 1.0 specification states they are not invoices in the
//! legal sense in France, and the French e-invoicing reform accepts BASIC, EN 16931 and
//! EXTENDED only. Between two French companies facteur therefore refuses them; for a buyer
//! abroad it issues them with a warning (the PDF remains the invoice, the XML is an index).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum FacturxProfile {
    #[serde(rename = "MINIMUM", alias = "minimum")]
    #[value(name = "minimum")]
    Minimum,
    #[serde(
        rename = "BASIC WL",
        alias = "basicwl",
        alias = "basic-wl",
        alias = "BASIC-WL"
    )]
    #[value(name = "basic-wl")]
    BasicWl,
    #[serde(rename = "BASIC", alias = "basic")]
    #[value(name = "basic")]
    Basic,
    #[default]
    #[serde(
        rename = "EN 16931",
        alias = "en16931",
        alias = "EN16931",
        alias = "en-16931"
    )]
    #[value(name = "en16931")]
    En16931,
}

impl FacturxProfile {
    /// BT-24, the guideline id the XML declares.
    pub fn guideline(self) -> &'static str {
        match self {
            FacturxProfile::Minimum => "urn:factur-x.eu:1p0:minimum",
            FacturxProfile::BasicWl => "urn:factur-x.eu:1p0:basicwl",
            FacturxProfile::Basic => "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
            FacturxProfile::En16931 => super::cii::EN16931,
        }
    }

    /// `fx:ConformanceLevel` in the XMP metadata.
    pub fn conformance_level(self) -> &'static str {
        match self {
            FacturxProfile::Minimum => "MINIMUM",
            FacturxProfile::BasicWl => "BASIC WL",
            FacturxProfile::Basic => "BASIC",
            FacturxProfile::En16931 => "EN 16931",
        }
    }

    /// Whether the XML lists the invoice lines.
    pub fn has_lines(self) -> bool {
        matches!(self, FacturxProfile::Basic | FacturxProfile::En16931)
    }

    /// Whether the XML carries notes, payment terms, means and the VAT breakdown.
    pub fn has_settlement(self) -> bool {
        self != FacturxProfile::Minimum
    }

    /// True for the profiles that are not a full invoice (no lines).
    pub fn partial(self) -> bool {
        !self.has_lines()
    }

    /// Why this profile may not be used between `seller_country` and `buyer_country`, if so.
    pub fn refusal(self, seller_country: &str, buyer_country: &str) -> Option<String> {
        if !self.partial() || seller_country != "FR" || buyer_country != "FR" {
            return None;
        }
        Some(format!(
            "Factur-X {} carries no invoice lines{}: between two French companies it is not a full invoice \
             (the French e-invoicing reform accepts BASIC, EN 16931 and EXTENDED): use --profile basic or en16931",
            self.conformance_level(),
            if self == FacturxProfile::Minimum {
                " and no VAT breakdown"
            } else {
                ""
            }
        ))
    }

    /// What to tell the person issuing with a partial profile (buyer abroad).
    pub fn warning(self) -> Option<String> {
        self.partial().then(|| {
            format!(
                "warning: Factur-X {} is not a full invoice (no lines in the XML): the PDF is the invoice, \
                 the XML only an index for the buyer's software",
                self.conformance_level()
            )
        })
    }
}

impl fmt::Display for FacturxProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.conformance_level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_profiles_are_refused_between_french_companies_only() {
        assert!(FacturxProfile::Minimum.refusal("FR", "FR").is_some());
        assert!(FacturxProfile::BasicWl.refusal("FR", "FR").is_some());
        assert!(FacturxProfile::Minimum.refusal("FR", "DE").is_none());
        assert!(FacturxProfile::Minimum.warning().is_some());
        assert!(FacturxProfile::Basic.refusal("FR", "FR").is_none());
        assert!(FacturxProfile::En16931.warning().is_none());
    }

    #[test]
    fn the_setting_reads_the_names_people_write() {
        #[derive(Deserialize)]
        struct S {
            p: FacturxProfile,
        }
        for (text, want) in [
            ("BASIC", FacturxProfile::Basic),
            ("basic", FacturxProfile::Basic),
            ("EN 16931", FacturxProfile::En16931),
            ("en16931", FacturxProfile::En16931),
            ("MINIMUM", FacturxProfile::Minimum),
            ("BASIC WL", FacturxProfile::BasicWl),
        ] {
            let s: S = toml::from_str(&format!("p = \"{text}\"")).unwrap();
            assert_eq!(s.p, want, "{text}");
        }
        assert!(toml::from_str::<S>("p = \"EXTENDED\"").is_err());
    }
}
