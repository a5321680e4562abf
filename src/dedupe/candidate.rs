//! From a document's extraction to what the rules compare (`Candidate`), and whether a supplier
//! is a recurring biller (the same amount again and again under new numbers), which silences D4.

use rust_decimal::Decimal;

use super::keys::{exact_key, ocr_key};
use super::rules::Candidate;
use super::supplier::SupplierKeys;
use crate::domain::{DocType, DocumentId, Extraction, Method};

impl Candidate {
    pub fn of(document: DocumentId, x: &Extraction) -> Candidate {
        let inv = &x.invoice;
        let number = inv.number.clone().filter(|n| !n.trim().is_empty());
        Candidate {
            document,
            doc_type: inv.doc_type,
            structured: x.method == Method::Xml,
            exact_key: number.as_deref().map(exact_key).filter(|k| !k.is_empty()),
            ocr_key: number.as_deref().map(ocr_key).filter(|k| !k.is_empty()),
            number,
            issue_date: inv.issue_date,
            gross: inv.total_gross,
            currency: inv.currency,
            supplier: SupplierKeys::of(&inv.seller),
            preceding: inv
                .preceding
                .iter()
                .map(|p| exact_key(&p.number))
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }
}

/// A supplier bills `new`'s amount routinely: at least two earlier invoices of that supplier (in
/// `recent`) carry the same gross within `tolerance`, each under its own number (a subscription,
/// or a supplier selling at a few fixed prices). D4 then stays silent: the same amount again
/// under a new number is its normal business (D2/D3 still catch the same or a misread number).
pub fn is_recurring(new: &Candidate, recent: &[Candidate], tolerance: Decimal) -> bool {
    let Some(gross) = new.gross else {
        return false;
    };
    let mut numbers: Vec<&String> = Vec::new();
    for c in recent.iter().filter(|c| {
        c.document != new.document
            && c.doc_type == DocType::Invoice
            && c.currency == new.currency
            && c.gross.is_some_and(|g| (g - gross).abs() <= tolerance)
            && c.exact_key.is_some()
            && c.exact_key != new.exact_key
    }) {
        if let Some(k) = &c.exact_key {
            if !numbers.contains(&k) {
                numbers.push(k);
            }
        }
    }
    numbers.len() >= 2
}
