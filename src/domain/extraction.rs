//! The result of reading a document: the invoice, how it was read, and how sure we are.
//!
//! `contract_json` is the stable JSON of `facteur extract --json` (DESIGN.md §4, issue #3): amounts as
//! decimal strings, credit notes with positive totals and `doc_type: "credit_note"`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

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

/// A field of the extraction contract that carries a confidence. Serialised as the contract's
/// key (`invoice_number`, `total_gross`, …), so stored extractions and `extract --json` keep their
/// shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    DocType,
    InvoiceNumber,
    IssueDate,
    DueDate,
    Currency,
    TotalNet,
    TotalTax,
    TotalGross,
    PurchaseOrder,
    Lines,
    SupplierName,
    SupplierVatId,
    SupplierIban,
    SupplierSiret,
    SupplierSiren,
    CustomerName,
}

impl Field {
    pub const ALL: [Field; 16] = [
        Field::DocType,
        Field::InvoiceNumber,
        Field::IssueDate,
        Field::DueDate,
        Field::Currency,
        Field::TotalNet,
        Field::TotalTax,
        Field::TotalGross,
        Field::PurchaseOrder,
        Field::Lines,
        Field::SupplierName,
        Field::SupplierVatId,
        Field::SupplierIban,
        Field::SupplierSiret,
        Field::SupplierSiren,
        Field::CustomerName,
    ];

    /// The fields a posting cannot do without: a document missing one, or unsure of one, goes to
    /// review. The one list every decision uses.
    pub const REQUIRED: [Field; 3] = [Field::InvoiceNumber, Field::IssueDate, Field::TotalGross];

    /// The fields whose error costs money or a payment when a reading goes through unchecked:
    /// each one found must be sure enough, or the document goes to review. (A missing one is a
    /// doubt only when it is `REQUIRED`: many invoices print no due date or IBAN.)
    pub const KEY: [Field; 9] = [
        Field::InvoiceNumber,
        Field::IssueDate,
        Field::DueDate,
        Field::Currency,
        Field::TotalNet,
        Field::TotalTax,
        Field::TotalGross,
        Field::SupplierVatId,
        Field::SupplierIban,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Field::DocType => "doc_type",
            Field::InvoiceNumber => "invoice_number",
            Field::IssueDate => "issue_date",
            Field::DueDate => "due_date",
            Field::Currency => "currency",
            Field::TotalNet => "total_net",
            Field::TotalTax => "total_tax",
            Field::TotalGross => "total_gross",
            Field::PurchaseOrder => "purchase_order",
            Field::Lines => "lines",
            Field::SupplierName => "supplier_name",
            Field::SupplierVatId => "supplier_vat_id",
            Field::SupplierIban => "supplier_iban",
            Field::SupplierSiret => "supplier_siret",
            Field::SupplierSiren => "supplier_siren",
            Field::CustomerName => "customer_name",
        }
    }

    /// For people: `invoice number`.
    pub fn label(&self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown field '{s}'; one of: {}", all.join(", "))
            })
    }
}

/// Why a reading is not trusted enough to go on by itself. Decisions are taken on these, never by
/// searching the text of a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Doubt {
    /// A required field was not found.
    Missing { field: Field },
    /// A required field was found with a confidence under the threshold.
    Uncertain { field: Field, confidence: f32 },
    /// The page labels a key field ("Échéance", "IBAN") but no value was read beside it: a miss
    /// (an OCR-damaged date, an IBAN failing mod 97), not an absence.
    Unread { field: Field },
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::Missing { field } => write!(f, "{} not found", field.label()),
            Doubt::Uncertain { field, confidence } => {
                write!(f, "{} uncertain ({confidence:.2})", field.label())
            }
            Doubt::Unread { field } => {
                write!(f, "{} labelled on the page but not read", field.label())
            }
        }
    }
}

/// Where a due date came from: printed as a date, or computed from printed payment terms
/// ("30 jours fin de mois", "Net 45", "à réception") and the issue date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueDateSource {
    Printed,
    Terms,
}

impl DueDateSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            DueDateSource::Printed => "printed",
            DueDateSource::Terms => "terms",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub invoice: Invoice,
    pub method: Method,
    /// Per-field confidence, 0.0–1.0.
    pub confidence: BTreeMap<Field, f32>,
    /// Notes for people (totals that do not add up, a template pattern that did not match).
    pub warnings: Vec<String>,
    /// How the due date was found; `None` without a due date (and in extractions stored before
    /// this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date_source: Option<DueDateSource>,
    /// Key fields the page labels but whose value was not read (`Doubt::Unread`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<Field>,
}

impl Extraction {
    /// Structured XML is the document's own statement: every field it carries is certain.
    pub fn certain(invoice: Invoice, method: Method) -> Self {
        let mut confidence = BTreeMap::new();
        for (field, present) in [
            (Field::DocType, true),
            (Field::InvoiceNumber, invoice.number.is_some()),
            (Field::IssueDate, invoice.issue_date.is_some()),
            (Field::DueDate, invoice.due_date.is_some()),
            (Field::Currency, invoice.currency.is_some()),
            (Field::TotalNet, invoice.total_net.is_some()),
            (Field::TotalTax, invoice.total_tax.is_some()),
            (Field::TotalGross, invoice.total_gross.is_some()),
            (Field::SupplierName, invoice.seller.name.is_some()),
            (Field::SupplierVatId, invoice.seller.vat_id.is_some()),
        ] {
            if present {
                confidence.insert(field, 1.0);
            }
        }
        let due_date_source = invoice.due_date.map(|_| DueDateSource::Printed);
        Extraction {
            invoice,
            method,
            confidence,
            warnings: Vec::new(),
            due_date_source,
            unread: Vec::new(),
        }
    }

    /// A field's confidence; 0 when it was not found.
    pub fn confidence_of(&self, field: Field) -> f32 {
        self.confidence.get(&field).copied().unwrap_or(0.0)
    }

    /// The lowest confidence among the fields a posting needs (`Field::REQUIRED`).
    pub fn overall_confidence(&self) -> f32 {
        Field::REQUIRED
            .iter()
            .map(|f| self.confidence_of(*f))
            .fold(1.0, f32::min)
    }

    /// The fields a person checks, as (name, value, confidence) rows: the terminal's table and the
    /// dashboard's review page show the same.
    pub fn rows_for_people(&self) -> Vec<Vec<String>> {
        let x = self;
        let inv = &x.invoice;
        let conf = |f: &str| {
            f.parse::<crate::domain::Field>()
                .ok()
                .and_then(|f| x.confidence.get(&f))
                .map_or(String::new(), |c| format!("{c:.2}"))
        };
        let money = |d: Option<rust_decimal::Decimal>| {
            d.map_or("—".to_string(), |v| {
                format!(
                    "{v} {}",
                    inv.currency.map(|c| c.to_string()).unwrap_or_default()
                )
            })
        };
        let opt = |s: Option<String>| s.unwrap_or_else(|| "—".into());
        let rows: Vec<Vec<String>> = vec![
            vec![
                "type".into(),
                inv.doc_type.as_str().into(),
                conf("doc_type"),
            ],
            vec![
                "number".into(),
                opt(inv.number.clone()),
                conf("invoice_number"),
            ],
            vec![
                "issue date".into(),
                opt(inv.issue_date.map(|d| d.to_string())),
                conf("issue_date"),
            ],
            vec![
                "due date".into(),
                opt(inv.due_date.map(|d| d.to_string())),
                conf("due_date"),
            ],
            vec![
                "supplier".into(),
                opt(inv.seller.name.clone()),
                conf("supplier_name"),
            ],
            vec![
                "supplier VAT".into(),
                opt(inv.seller.vat_id.as_ref().map(|v| v.to_string())),
                conf("supplier_vat_id"),
            ],
            vec![
                "IBAN".into(),
                opt(inv.seller.iban.as_ref().map(|v| v.pretty())),
                conf("iban"),
            ],
            vec![
                "customer".into(),
                opt(inv.buyer.name.clone()),
                conf("customer_name"),
            ],
            vec!["net".into(), money(inv.total_net), conf("total_net")],
            vec!["VAT".into(), money(inv.total_tax), conf("total_tax")],
            vec!["gross".into(), money(inv.total_gross), conf("total_gross")],
            vec!["lines".into(), inv.lines.len().to_string(), String::new()],
        ];
        rows
    }

    /// The required fields missing, the key fields labelled on the page but not read, and the
    /// key fields found under `threshold`.
    pub fn doubts(&self, threshold: f32) -> Vec<Doubt> {
        let missing = Field::REQUIRED
            .into_iter()
            .filter(|f| self.confidence_of(*f) <= 0.0)
            .map(|field| Doubt::Missing { field })
            .chain(
                self.unread
                    .iter()
                    .filter(|f| self.confidence_of(**f) <= 0.0)
                    .map(|&field| Doubt::Unread { field }),
            );
        let uncertain = Field::KEY.into_iter().filter_map(|field| {
            let c = self.confidence.get(&field).copied()?;
            (c > 0.0 && c < threshold).then_some(Doubt::Uncertain {
                field,
                confidence: c,
            })
        });
        // No product over the key fields: measured on dev scans it sent 20 right documents to
        // review and caught none of the wrong ones, whose wrong field was missing, not unsure.
        missing.chain(uncertain).collect()
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
            "due_date_source": self.due_date_source.map(|s| s.as_str()),
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
                .map(|(k, v)| (k.to_string(), json!((f64::from(*v) * 100.0).round() / 100.0)))
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
