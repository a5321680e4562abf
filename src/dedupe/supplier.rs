//! Who an invoice is from, as duplicate detection compares it: the legal entity behind the
//! supplier, by SIREN (from a SIRET, a SIREN or a French VAT id), VAT id, then IBAN; failing
//! those, the folded legal name with the country, which is weaker evidence.

use serde::{Deserialize, Serialize};

use super::keys::name_key;
use crate::domain::Party;

/// The keys of one supplier as printed on one invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierKeys {
    pub siren: Option<String>,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
    /// `keys::name_key` of the name; None when the name folds to nothing.
    pub name: Option<String>,
    pub country: Option<String>,
}

/// How sure two invoices are from one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SameEntity {
    /// Nothing ties them, or a registration id tells them apart.
    No,
    /// The same folded name (and country where both print one), no id on one side at least.
    ByName,
    /// A shared SIREN, VAT id or IBAN.
    ById,
}

impl SupplierKeys {
    pub fn of(p: &Party) -> SupplierKeys {
        let siren = p
            .siret
            .as_ref()
            .map(|s| s.siren().as_str().to_string())
            .or_else(|| p.siren.as_ref().map(|s| s.as_str().to_string()))
            .or_else(|| {
                // A French VAT id is FR + 2 key characters + the SIREN.
                let v = p.vat_id.as_ref()?.as_str();
                (v.starts_with("FR") && v.len() == 13).then(|| v[4..].to_string())
            });
        SupplierKeys {
            siren,
            vat_id: p.vat_id.as_ref().map(|v| v.as_str().to_string()),
            iban: p.iban.as_ref().map(|i| i.as_str().to_string()),
            name: p.name.as_deref().map(name_key).filter(|n| !n.is_empty()),
            country: p.country.clone(),
        }
    }

    fn ids(&self) -> [Option<&str>; 3] {
        [
            self.siren.as_deref(),
            self.vat_id.as_deref(),
            self.iban.as_deref(),
        ]
    }

    pub fn same_entity(&self, other: &SupplierKeys) -> SameEntity {
        let shared = self
            .ids()
            .iter()
            .zip(other.ids())
            .any(|(a, b)| a.is_some() && *a == b);
        if shared {
            return SameEntity::ById;
        }
        // Two different registration ids are two entities, whatever their names say.
        let conflict = [(&self.siren, &other.siren), (&self.vat_id, &other.vat_id)]
            .iter()
            .any(|(a, b)| a.is_some() && b.is_some() && a != b);
        let same_country = match (&self.country, &other.country) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        if !conflict && same_country && self.name.is_some() && self.name == other.name {
            SameEntity::ByName
        } else {
            SameEntity::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Siret, VatId};

    fn party(name: &str, vat: Option<&str>, siret: Option<&str>) -> Party {
        Party {
            name: Some(name.into()),
            vat_id: vat.map(|v| VatId::parse(v).unwrap()),
            siret: siret.map(|s| Siret::parse(s).unwrap()),
            ..Party::default()
        }
    }

    #[test]
    fn entity_by_siren_across_vat_and_siret() {
        let a = SupplierKeys::of(&party("ACME", Some("FR44732829320"), None));
        let b = SupplierKeys::of(&party("Acme Fournitures", None, Some("73282932000074")));
        assert_eq!(a.siren.as_deref(), Some("732829320"));
        assert_eq!(a.same_entity(&b), SameEntity::ById);
    }

    #[test]
    fn names_alone_are_weaker_and_ids_overrule_them() {
        let a = SupplierKeys::of(&party("Dupont S.A.R.L.", None, None));
        let b = SupplierKeys::of(&party("DUPONT SARL", None, None));
        assert_eq!(a.same_entity(&b), SameEntity::ByName);
        let c = SupplierKeys::of(&party("Dupont SARL", Some("FR44732829320"), None));
        let d = SupplierKeys::of(&party("Dupont SARL", Some("FR40303265045"), None));
        assert_eq!(c.same_entity(&d), SameEntity::No);
    }
}
