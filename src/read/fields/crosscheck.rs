//! Cross-checks between fields read apart, which raise or lower their raw confidence before it is
//! calibrated (`calibrate.rs`).
//!
//! Two readings that agree by a rule of the world are rarely both wrong: a French VAT id carries
//! the SIREN that starts the SIRET, and a printed due date is what the printed terms give from the
//! issue date. Disagreement is said in a warning and costs confidence; totals are cross-checked
//! where they are chosen (`totals.rs`).

use std::collections::BTreeMap;

use crate::domain::{DueDateSource, Field, Invoice};

use super::terms::Terms;

/// Raised confidence for a value another field vouches for.
const AGREED: f32 = 0.97;
/// Factor on a value another field contradicts.
const CONTRADICTED: f32 = 0.6;

fn scale(conf: &mut BTreeMap<Field, f32>, field: Field, by: impl Fn(f32) -> f32) {
    if let Some(c) = conf.get_mut(&field) {
        *c = by(*c);
    }
}

/// The seller's French VAT id against its SIRET: the VAT id's last nine digits are the SIREN.
pub fn seller_ids(inv: &Invoice, conf: &mut BTreeMap<Field, f32>, warnings: &mut Vec<String>) {
    let (Some(vat), Some(siret)) = (&inv.seller.vat_id, &inv.seller.siret) else {
        return;
    };
    if vat.country() != "FR" {
        return;
    }
    let siren = siret.siren();
    if vat.as_str().ends_with(siren.as_str()) {
        for f in [
            Field::SupplierVatId,
            Field::SupplierSiret,
            Field::SupplierSiren,
        ] {
            scale(conf, f, |c| c.max(AGREED));
        }
    } else {
        warnings.push(format!(
            "the seller's VAT id {} does not carry the SIREN of its SIRET {}",
            vat.as_str(),
            siret.as_str()
        ));
        for f in [Field::SupplierVatId, Field::SupplierSiret] {
            scale(conf, f, |c| c * CONTRADICTED);
        }
    }
}

/// A printed due date against the printed terms: the date the terms give from the issue date.
pub fn due_date(
    inv: &Invoice,
    source: Option<DueDateSource>,
    terms: Option<&Terms>,
    conf: &mut BTreeMap<Field, f32>,
    warnings: &mut Vec<String>,
) {
    let (Some(due), Some(issue), Some(t), Some(DueDateSource::Printed)) =
        (inv.due_date, inv.issue_date, terms, source)
    else {
        return;
    };
    match t.resolve(issue) {
        Some(d) if d == due => scale(conf, Field::DueDate, |c| c.max(AGREED)),
        Some(d) => {
            // Terms are read in more than one way ("30 jours fin de mois"), so a mismatch is a
            // doubt, not a verdict.
            warnings.push(format!(
                "due date {due} is not what the terms '{}' give ({d})",
                t.text
            ));
            scale(conf, Field::DueDate, |c| c * 0.85);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Siret, VatId};
    use chrono::NaiveDate;

    #[test]
    fn a_vat_id_carrying_the_sirets_siren_is_vouched_for() {
        let mut inv = Invoice::default();
        inv.seller.vat_id = VatId::parse("FR44732829320").ok();
        inv.seller.siret = Siret::parse("73282932000074").ok();
        let mut conf = BTreeMap::from([(Field::SupplierVatId, 0.8), (Field::SupplierSiret, 0.9)]);
        let mut w = Vec::new();
        seller_ids(&inv, &mut conf, &mut w);
        assert_eq!(conf[&Field::SupplierVatId], AGREED);
        assert!(w.is_empty());
        inv.seller.siret = Siret::parse("40483304800022").ok();
        seller_ids(&inv, &mut conf, &mut w);
        assert!(conf[&Field::SupplierVatId] < 0.8);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn a_due_date_the_terms_give_is_vouched_for() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day);
        let inv = Invoice {
            issue_date: d(1, 15),
            due_date: d(2, 28),
            ..Invoice::default()
        };
        let t = Terms {
            text: "30 jours fin de mois".into(),
            days: 30,
            end_of_month: true,
        };
        let mut conf = BTreeMap::from([(Field::DueDate, 0.8)]);
        let mut w = Vec::new();
        due_date(
            &inv,
            Some(DueDateSource::Printed),
            Some(&t),
            &mut conf,
            &mut w,
        );
        assert_eq!(conf[&Field::DueDate], AGREED);
        let net45 = Terms {
            text: "Net 45".into(),
            days: 45,
            end_of_month: false,
        };
        due_date(
            &inv,
            Some(DueDateSource::Printed),
            Some(&net45),
            &mut conf,
            &mut w,
        );
        assert!(conf[&Field::DueDate] < AGREED);
        assert_eq!(w.len(), 1);
    }
}
