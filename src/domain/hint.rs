//! Supplier hints: what a person taught facteur about a supplier while correcting a reading, so
//! the next invoice of that supplier reads right by itself. Today a hint carries the supplier's
//! name (the field a generic reader gets wrong most, and the one a page cannot confirm). A hint
//! is keyed by an identifier the reader validated on the page (VAT id, SIRET, IBAN), never by a
//! name; a reading that shows none of them is not recognised, and cannot teach either.

use serde::Serialize;

use super::correction::Correction;
use super::{Extraction, Field, Party};

/// An identifier a supplier is recognised by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SupplierKey {
    VatId(String),
    Siret(String),
    Iban(String),
}

impl SupplierKey {
    /// Every validated identifier of `seller`, strongest first.
    pub fn of(seller: &Party) -> Vec<SupplierKey> {
        let mut keys = Vec::new();
        if let Some(v) = &seller.vat_id {
            keys.push(SupplierKey::VatId(v.as_str().to_string()));
        }
        if let Some(s) = &seller.siret {
            keys.push(SupplierKey::Siret(s.as_str().to_string()));
        }
        if let Some(i) = &seller.iban {
            keys.push(SupplierKey::Iban(i.as_str().to_string()));
        }
        keys
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SupplierKey::VatId(_) => "vat_id",
            SupplierKey::Siret(_) => "siret",
            SupplierKey::Iban(_) => "iban",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            SupplierKey::VatId(v) | SupplierKey::Siret(v) | SupplierKey::Iban(v) => v,
        }
    }
}

/// One thing to remember about the supplier known by `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplierHint {
    pub key: SupplierKey,
    pub field: Field,
    pub value: String,
}

/// What a person's corrections of `corrected` teach about its supplier: its name, under each of
/// the identifiers the reading carries. An error for people when there is nothing to remember,
/// or nothing to recognise the supplier by.
pub fn remembered(
    corrected: &Extraction,
    corrections: &[(Field, Correction)],
) -> Result<Vec<SupplierHint>, String> {
    let name = corrections.iter().rev().find_map(|(_, c)| match c {
        Correction::SupplierName(n) => Some(n.clone()),
        _ => None,
    });
    let Some(name) = name else {
        return Err("only a supplier_name correction can be remembered".into());
    };
    let keys = SupplierKey::of(&corrected.invoice.seller);
    if keys.is_empty() {
        return Err(
            "cannot remember: the reading has no VAT id, SIRET or IBAN to recognise the \
                    supplier by; correct one of supplier_vat_id, supplier_siret, supplier_iban too"
                .into(),
        );
    }
    Ok(keys
        .into_iter()
        .map(|key| SupplierHint {
            key,
            field: Field::SupplierName,
            value: name.clone(),
        })
        .collect())
}

/// Applies stored hints to a fresh reading (the first hint per field wins: the caller orders
/// them strongest key first). The supplier's name a person gave is certain.
pub fn apply(mut x: Extraction, hints: &[SupplierHint]) -> Extraction {
    if let Some(h) = hints.iter().find(|h| h.field == Field::SupplierName) {
        if x.invoice.seller.name.as_deref() != Some(h.value.as_str()) {
            x.warnings.push(format!(
                "supplier name from a person's earlier correction (recognised by {} {})",
                h.key.kind(),
                h.key.value()
            ));
        }
        x.invoice.seller.name = Some(h.value.clone());
        x.confidence.insert(Field::SupplierName, 1.0);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Invoice, Method, VatId};

    fn reading(vat: Option<&str>) -> Extraction {
        let mut inv = Invoice::default();
        inv.seller.name = Some("Facture".into());
        inv.seller.vat_id = vat.map(|v| VatId::parse(v).unwrap());
        let mut x = Extraction::certain(inv, Method::Text);
        x.confidence.insert(Field::SupplierName, 0.4);
        x
    }

    #[test]
    fn a_name_is_remembered_under_the_validated_ids_only() {
        let fix = [(
            Field::SupplierName,
            Correction::SupplierName("ACME SARL".into()),
        )];
        let hints = remembered(&reading(Some("FR44732829320")), &fix).unwrap();
        assert_eq!(
            hints,
            vec![SupplierHint {
                key: SupplierKey::VatId("FR44732829320".into()),
                field: Field::SupplierName,
                value: "ACME SARL".into()
            }]
        );
        assert!(remembered(&reading(None), &fix)
            .unwrap_err()
            .contains("no VAT id, SIRET or IBAN"));
        assert!(remembered(&reading(Some("FR44732829320")), &[]).is_err());
    }

    #[test]
    fn a_hint_makes_the_name_certain_and_says_where_it_came_from() {
        let hint = SupplierHint {
            key: SupplierKey::VatId("FR44732829320".into()),
            field: Field::SupplierName,
            value: "ACME SARL".into(),
        };
        let x = apply(reading(Some("FR44732829320")), &[hint]);
        assert_eq!(x.invoice.seller.name.as_deref(), Some("ACME SARL"));
        assert_eq!(x.confidence_of(Field::SupplierName), 1.0);
        assert!(x.warnings[0].contains("vat_id FR44732829320"));
    }
}
