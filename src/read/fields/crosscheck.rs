//! Cross-checks between fields read apart, which raise or lower their raw confidence before it is
//! calibrated (`calibrate.rs`).
//!
//! Two readings that agree by a rule of the world are rarely both wrong: a French VAT id carries
//! the SIREN that starts the SIRET, and a printed due date is what the printed terms give from the
//! issue date. Disagreement is said in a warning and costs confidence; totals are cross-checked
//! where they are chosen (`totals.rs`). One check needs the store and runs in the read stage, on
//! the calibrated probability: the IBAN against the accounts the supplier was known by before
//! (`iban_history`).

use std::collections::BTreeMap;

use crate::domain::{DueDateSource, Extraction, Field, Invoice, Method};

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

/// The bank accounts a supplier was known by before this document (`HintStore::known_ibans`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownIbans {
    /// Earlier documents let through and saved hints that name the supplier by a legal id.
    pub documents: u32,
    /// The distinct IBANs they carried (compact, upper case).
    pub ibans: Vec<String>,
}

impl KnownIbans {
    pub fn add(&mut self, iban: String) {
        let compact: String = iban
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        if !self.ibans.contains(&compact) {
            self.ibans.push(compact);
        }
    }
}

/// Probability floor of an IBAN the supplier was paid to before: a misread IBAN that still passes
/// mod 97 and equals one of the supplier's own accounts is not a thing that happens.
const SEEN_IBAN: f32 = 0.995;

/// The IBAN read against the supplier's history (the supplier known by SIREN or VAT id):
/// - one of the accounts its earlier documents or a person's correction gave: raised to
///   `SEEN_IBAN`;
/// - a supplier with earlier accounts, none of them this one: lowered by `CONTRADICTED` with a
///   warning (a misreading, or a changed bank account, which a person confirms before paying);
/// - a supplier never seen, or structured XML (exact, nothing to doubt in the reading):
///   unchanged.
pub fn iban_history(ex: &mut Extraction, known: &KnownIbans) {
    if ex.method == Method::Xml || known.ibans.is_empty() {
        return;
    }
    let Some(iban) = ex
        .invoice
        .seller
        .iban
        .as_ref()
        .map(|i| i.as_str().to_string())
    else {
        return;
    };
    if known.ibans.contains(&iban) {
        scale(&mut ex.confidence, Field::SupplierIban, |c| {
            c.max(SEEN_IBAN)
        });
    } else {
        ex.warnings.push(format!(
            "IBAN {iban} was never seen for this supplier (its earlier documents: {})",
            known.ibans.join(", ")
        ));
        scale(&mut ex.confidence, Field::SupplierIban, |c| {
            c * CONTRADICTED
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Iban, Siret, VatId};
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
    fn an_iban_the_supplier_used_before_is_vouched_for_and_a_new_one_doubted() {
        let mut ex = Extraction::certain(Invoice::default(), Method::Text);
        ex.invoice.seller.iban = Iban::parse("FR7630006000011234567890189").ok();
        ex.confidence.insert(Field::SupplierIban, 0.9);
        let mut known = KnownIbans::default();
        // A supplier never seen: nothing to compare with.
        iban_history(&mut ex, &known);
        assert_eq!(ex.confidence[&Field::SupplierIban], 0.9);
        known.documents = 2;
        known.add("FR76 3000 6000 0112 3456 7890 189".into());
        let mut seen = ex.clone();
        iban_history(&mut seen, &known);
        assert_eq!(seen.confidence[&Field::SupplierIban], SEEN_IBAN);
        assert!(seen.warnings.is_empty());
        let mut other = KnownIbans::default();
        other.add("DE89370400440532013000".into());
        let mut changed = ex.clone();
        iban_history(&mut changed, &other);
        assert!(changed.confidence[&Field::SupplierIban] < 0.8);
        assert!(
            changed.warnings[0].contains("never seen"),
            "{:?}",
            changed.warnings
        );
        // Structured XML states its IBAN exactly: the reading is not in doubt.
        let mut xml = ex.clone();
        xml.method = Method::Xml;
        iban_history(&mut xml, &other);
        assert_eq!(xml.confidence[&Field::SupplierIban], 0.9);
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
