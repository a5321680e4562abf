//! The company's own checks on a supplier invoice before it can reach the ledger: it must be
//! addressed to us. When the invoice names its buyer by a VAT id or a SIREN (directly, through a
//! SIRET, or inside a French VAT id) and that is not the company's, the document waits for a
//! person instead of going on to approval and posting.

use crate::config::CompanySettings;
use crate::domain::Party;

/// The SIREN inside a French VAT id (`FR` + 2-digit key + SIREN).
fn siren_in_vat(vat: &str) -> Option<&str> {
    let v = vat.strip_prefix("FR")?;
    (v.len() == 11).then(|| &v[2..])
}

/// Why the invoice is not addressed to `company`, if it is not.
pub fn not_addressed_to_us(buyer: &Party, company: &CompanySettings) -> Option<String> {
    let buyer_siren = buyer
        .siren
        .as_ref()
        .map(|s| s.as_str().to_string())
        .or_else(|| buyer.siret.as_ref().map(|s| s.siren().as_str().to_string()))
        .or_else(|| {
            buyer
                .vat_id
                .as_ref()
                .and_then(|v| siren_in_vat(v.as_str()).map(str::to_string))
        });
    let our_siren = company
        .siren
        .as_ref()
        .map(|s| s.as_str().to_string())
        .or_else(|| {
            company
                .vat_id
                .as_ref()
                .and_then(|v| siren_in_vat(v.as_str()).map(str::to_string))
        });
    let named = buyer.name.as_deref().unwrap_or("another company");
    if let (Some(theirs), Some(ours)) = (&buyer_siren, &our_siren) {
        if theirs != ours {
            return Some(format!(
                "addressed to {named} (SIREN {theirs}), not to the company (SIREN {ours})"
            ));
        }
        return None;
    }
    match (&buyer.vat_id, &company.vat_id) {
        (Some(theirs), Some(ours)) if theirs != ours => Some(format!(
            "addressed to {named} (VAT id {}), not to the company (VAT id {})",
            theirs.as_str(),
            ours.as_str()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Siret, VatId};

    fn company() -> CompanySettings {
        CompanySettings {
            vat_id: Some(VatId::parse("FR44732829320").unwrap()),
            ..CompanySettings::default()
        }
    }

    #[test]
    fn a_buyer_with_another_siren_or_vat_id_is_not_us() {
        let mut buyer = Party::default();
        assert_eq!(not_addressed_to_us(&buyer, &company()), None, "no id: ours");
        buyer.siret = Some(Siret::parse("73282932000074").unwrap());
        assert_eq!(
            not_addressed_to_us(&buyer, &company()),
            None,
            "the SIREN in our VAT id"
        );
        buyer.siret = Some(Siret::parse("40483304800022").unwrap());
        buyer.name = Some("Voisin SA".into());
        let why = not_addressed_to_us(&buyer, &company()).unwrap();
        assert!(why.contains("Voisin SA (SIREN 404833048)"), "{why}");
        let foreign = Party {
            vat_id: Some(VatId::parse("DE123456788").unwrap()),
            ..Party::default()
        };
        assert!(not_addressed_to_us(&foreign, &company()).is_some());
        assert_eq!(
            not_addressed_to_us(&foreign, &CompanySettings::default()),
            None
        );
    }
}
