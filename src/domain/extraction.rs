//! The result of reading a document: the invoice, how it was read, and how sure we are.
//!
//! `contract_json` is the stable JSON of `facteur extract --json` (DESIGN.md §4, issue #3): amounts as
//! decimal strings, credit notes with positive totals and `doc_type: "credit_note"`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::invoice::{Invoice, Party};

/// Which reader produced the invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Structured XML (standalone CII/UBL, or embedded in a Factur-X/ZUGFeRD PDF).
    Xml,
    /// The PDF text layer.
    Text,
    /// Tesseract OCR of page images.
    Ocr,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Xml => "xml",
            Method::Text => "text",
            Method::Ocr => "ocr",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub invoice: Invoice,
    pub method: Method,
    /// Per-field confidence, 0.0–1.0, keyed by contract field name (`invoice_number`, `total_gross`, …).
    pub confidence: BTreeMap<String, f32>,
    pub warnings: Vec<String>,
}

impl Extraction {
    /// Structured XML is the document's own statement: every field it carries is certain.
    pub fn certain(invoice: Invoice, method: Method) -> Self {
        let mut confidence = BTreeMap::new();
        for (field, present) in [
            ("doc_type", true),
            ("invoice_number", invoice.number.is_some()),
            ("issue_date", invoice.issue_date.is_some()),
            ("due_date", invoice.due_date.is_some()),
            ("currency", invoice.currency.is_some()),
            ("total_net", invoice.total_net.is_some()),
            ("total_tax", invoice.total_tax.is_some()),
            ("total_gross", invoice.total_gross.is_some()),
            ("supplier_name", invoice.seller.name.is_some()),
            ("supplier_vat_id", invoice.seller.vat_id.is_some()),
        ] {
            if present {
                confidence.insert(field.to_string(), 1.0);
            }
        }
        Extraction {
            invoice,
            method,
            confidence,
            warnings: Vec::new(),
        }
    }

    /// The lowest confidence among the fields a posting needs (number, date, gross total).
    pub fn overall_confidence(&self) -> f32 {
        ["invoice_number", "issue_date", "total_gross"]
            .iter()
            .map(|f| self.confidence.get(*f).copied().unwrap_or(0.0))
            .fold(1.0, f32::min)
    }

    pub fn contract_json(&self) -> Value {
        let inv = &self.invoice;
        let dec = |d: Option<rust_decimal::Decimal>| d.map(|v| v.abs().normalize_to_scale(2));
        let party = |p: &Party, full: bool| {
            let mut v = json!({
                "name": p.name,
                "vat_id": p.vat_id.as_ref().map(|x| x.as_str()),
            });
            if full {
                v["siret"] = json!(p.siret.as_ref().map(|x| x.as_str()));
                v["siren"] = json!(p.siren.as_ref().map(|x| x.as_str()));
                v["iban"] = json!(p.iban.as_ref().map(|x| x.as_str()));
                v["bic"] = json!(p.bic.as_ref().map(|x| x.as_str()));
            }
            v
        };
        json!({
            "doc_type": inv.doc_type.as_str(),
            "invoice_number": inv.number,
            "issue_date": inv.issue_date.map(|d| d.to_string()),
            "due_date": inv.due_date.map(|d| d.to_string()),
            "currency": inv.currency.map(|c| c.to_string()),
            "total_net": dec(inv.total_net).map(|d| d.to_string()),
            "total_tax": dec(inv.total_tax).map(|d| d.to_string()),
            "total_gross": dec(inv.total_gross).map(|d| d.to_string()),
            "amount_due": inv.amount_due.map(|d| d.to_string()),
            "purchase_order": inv.purchase_order,
            "payment_terms": inv.payment_terms,
            "supplier": party(&inv.seller, true),
            "customer": party(&inv.buyer, false),
            "vat_breakdown": inv.vat_breakdown,
            "lines": inv.lines,
            "preceding_invoices": inv.preceding,
            "method": self.method.as_str(),
            // f32 prints 0.95 as 0.949999988; two decimals is what a confidence means.
            "confidence": self.confidence.iter()
                .map(|(k, v)| (k.clone(), json!((f64::from(*v) * 100.0).round() / 100.0)))
                .collect::<serde_json::Map<_, _>>(),
            "warnings": self.warnings,
        })
    }
}

/// Keeps scale at least 2 so `100` prints `100.00`, without dropping significant digits.
trait NormalizeScale {
    fn normalize_to_scale(self, min: u32) -> Self;
}

impl NormalizeScale for rust_decimal::Decimal {
    fn normalize_to_scale(self, min: u32) -> Self {
        let mut d = self.normalize();
        if d.scale() < min {
            d.rescale(min);
        }
        d
    }
}
