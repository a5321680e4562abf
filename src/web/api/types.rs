//! The API's JSON shapes, made from the domain's types (which know nothing of HTTP): dates and
//! times in ISO 8601, money as a decimal string with its currency (never a float), states and
//! journals by their codes. Each derives its OpenAPI schema.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{DocumentEvent, Extraction, Field, Invoice};
use crate::ledger::PostedEntry;
use crate::store::DocumentSummary;

/// An amount: a decimal string and its currency (ISO 4217).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Money {
    #[schema(example = "1481.40")]
    pub amount: String,
    /// None when the document's currency was not read.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
}

impl Money {
    pub fn of(amount: Decimal, currency: Option<String>) -> Money {
        Money {
            amount: amount.to_string(),
            currency,
        }
    }
}

/// A document as lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentItem {
    #[schema(example = 42)]
    pub id: i64,
    /// As received (never used as a path).
    pub file_name: String,
    /// The source it came from: a configured source's name, `cli` or `api`.
    pub source: String,
    /// received, read, needs_review, duplicate, duplicate_suspected, pending_approval, approved,
    /// rejected, posted, exported, paid or failed.
    #[schema(example = "pending_approval")]
    pub state: String,
    /// Why it is in that state.
    pub reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub supplier_name: Option<String>,
    pub total_gross: Option<Money>,
}

impl From<&DocumentSummary> for DocumentItem {
    fn from(s: &DocumentSummary) -> DocumentItem {
        DocumentItem {
            id: s.id.0,
            file_name: s.file_name.clone(),
            source: s.source.clone(),
            state: s.state.as_str().to_string(),
            reason: s.reason.clone(),
            received_at: s.received_at,
            invoice_number: s.invoice_number.clone(),
            issue_date: s.issue_date,
            supplier_name: s.supplier_name.clone(),
            total_gross: s.total_gross.map(|g| Money::of(g, s.currency.clone())),
        }
    }
}

/// One page of documents, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentPage {
    pub items: Vec<DocumentItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A field the reader extracted, with how sure it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldValue {
    #[schema(example = "total_gross")]
    pub field: String,
    /// As text (amounts as decimal strings); None when not found.
    pub value: Option<String>,
    /// 0.0–1.0; 0 when not found.
    #[schema(example = 0.97)]
    pub confidence: f32,
}

/// One line of a document's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
}

impl From<&DocumentEvent> for HistoryLine {
    fn from(e: &DocumentEvent) -> HistoryLine {
        HistoryLine {
            at: e.at,
            from: e.from_state.map(|s| s.as_str().to_string()),
            to: e.to_state.as_str().to_string(),
            reason: e.reason.clone(),
        }
    }
}

/// An earlier document this one may duplicate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateOf {
    pub document: i64,
    /// D1–D8.
    pub rule: String,
    /// `block` or `review`.
    pub verdict: String,
    pub evidence: String,
    pub overridden_by: Option<String>,
}

/// Everything the API tells about one document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentDetail {
    #[serde(flatten)]
    pub summary: DocumentItem,
    /// SHA-256 of the original bytes.
    pub content_hash: String,
    pub size: i64,
    /// `xml`, `text` or `ocr`; None before it is read.
    pub method: Option<String>,
    /// `invoice` or `credit_note`.
    pub doc_type: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub total_net: Option<Money>,
    pub total_tax: Option<Money>,
    /// The lowest confidence among the fields a posting needs.
    pub overall_confidence: Option<f32>,
    /// Every field of the extraction contract with its value and confidence.
    pub fields: Vec<FieldValue>,
    /// Notes for people (totals that do not add up…).
    pub warnings: Vec<String>,
    pub history: Vec<HistoryLine>,
    pub duplicates: Vec<DuplicateOf>,
    /// Where to fetch the original.
    #[schema(example = "/api/v1/documents/42/original")]
    pub original: String,
}

impl DocumentDetail {
    pub fn of(r: &crate::store::DocumentRecord) -> DocumentDetail {
        let x = r.extraction.as_ref();
        let inv = x.map(|x| &x.invoice);
        let currency = inv.and_then(|i| i.currency).map(|c| c.to_string());
        let money = |d: Option<Decimal>| d.map(|d| Money::of(d, currency.clone()));
        DocumentDetail {
            summary: DocumentItem::from(&r.summary),
            content_hash: r.content_hash.to_string(),
            size: r.size,
            method: x.map(|x| x.method.as_str().to_string()),
            doc_type: inv.map(|i| i.doc_type.as_str().to_string()),
            due_date: inv.and_then(|i| i.due_date),
            total_net: money(inv.and_then(|i| i.total_net)),
            total_tax: money(inv.and_then(|i| i.total_tax)),
            overall_confidence: x.map(Extraction::overall_confidence),
            fields: x.map(fields).unwrap_or_default(),
            warnings: x.map(|x| x.warnings.clone()).unwrap_or_default(),
            history: r.events.iter().map(HistoryLine::from).collect(),
            duplicates: r
                .duplicates
                .iter()
                .map(|d| DuplicateOf {
                    document: d.of.0,
                    rule: format!("{:?}", d.rule),
                    verdict: d.verdict.to_string(),
                    evidence: d.evidence.clone(),
                    overridden_by: d.overridden_by.clone(),
                })
                .collect(),
            original: format!("/api/v1/documents/{}/original", r.summary.id),
        }
    }
}

/// Every field of the contract, found or not, with its confidence.
fn fields(x: &Extraction) -> Vec<FieldValue> {
    Field::ALL
        .into_iter()
        .map(|f| FieldValue {
            field: f.as_str().to_string(),
            value: value_of(&x.invoice, f),
            confidence: x.confidence_of(f),
        })
        .collect()
}

fn value_of(inv: &Invoice, f: Field) -> Option<String> {
    match f {
        Field::DocType => Some(inv.doc_type.as_str().to_string()),
        Field::InvoiceNumber => inv.number.clone(),
        Field::IssueDate => inv.issue_date.map(|d| d.to_string()),
        Field::DueDate => inv.due_date.map(|d| d.to_string()),
        Field::Currency => inv.currency.map(|c| c.to_string()),
        Field::TotalNet => inv.total_net.map(|d| d.to_string()),
        Field::TotalTax => inv.total_tax.map(|d| d.to_string()),
        Field::TotalGross => inv.total_gross.map(|d| d.to_string()),
        Field::PurchaseOrder => inv.purchase_order.clone(),
        Field::Lines => (!inv.lines.is_empty()).then(|| inv.lines.len().to_string()),
        Field::SupplierName => inv.seller.name.clone(),
        Field::SupplierVatId => inv.seller.vat_id.as_ref().map(|v| v.to_string()),
        Field::SupplierIban => inv.seller.iban.as_ref().map(|v| v.to_string()),
        Field::SupplierSiret => inv.seller.siret.as_ref().map(|v| v.to_string()),
        Field::SupplierSiren => inv.seller.siren.as_ref().map(|v| v.to_string()),
        Field::CustomerName => inv.buyer.name.clone(),
    }
}

/// A ledger line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryLine {
    /// The account of the chart (`401`, `6064`, `44566`…).
    pub account: String,
    /// The supplier or customer account code (CompAuxNum), if any.
    pub auxiliary: Option<String>,
    pub auxiliary_name: Option<String>,
    pub label: String,
    pub debit: Money,
    pub credit: Money,
    /// The amount in the currency of the invoice or payment it books, when not the company's.
    pub foreign: Option<Money>,
    /// Units of the foreign currency for one unit of the company's.
    pub rate: Option<String>,
}

/// A posted entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryItem {
    pub id: i64,
    /// Journal code: HA (purchases), VE (sales), BQ (bank), OD (misc), AN (opening).
    #[schema(example = "HA")]
    pub journal: String,
    /// The entry's number as the FEC writes it (`HA2026-000012`).
    pub number: String,
    pub fiscal_year: i32,
    pub date: NaiveDate,
    pub label: String,
    pub piece_ref: String,
    pub piece_date: NaiveDate,
    /// The document it books, if any.
    pub document: Option<i64>,
    pub validated_at: DateTime<Utc>,
    /// The entry's link in the ledger's hash chain.
    pub hash: String,
    pub lines: Vec<EntryLine>,
}

impl From<&PostedEntry> for EntryItem {
    fn from(e: &PostedEntry) -> EntryItem {
        let cur = Some(e.body.currency.to_string());
        EntryItem {
            id: e.id,
            journal: e.body.journal.code().to_string(),
            number: e.entry_number(),
            fiscal_year: e.fiscal_year,
            date: e.body.date,
            label: e.body.label.clone(),
            piece_ref: e.body.piece_ref.clone(),
            piece_date: e.body.piece_date,
            document: e.body.document.map(|d| d.0),
            validated_at: e.validated_at,
            hash: e.hash.clone(),
            lines: e
                .body
                .lines
                .iter()
                .map(|l| EntryLine {
                    account: l.account.to_string(),
                    auxiliary: l.auxiliary.as_ref().map(|a| a.code.clone()),
                    auxiliary_name: l.auxiliary.as_ref().map(|a| a.name.clone()),
                    label: l.label.clone(),
                    debit: Money::of(l.debit, cur.clone()),
                    credit: Money::of(l.credit, cur.clone()),
                    foreign: l
                        .foreign
                        .as_ref()
                        .map(|f| Money::of(f.amount, Some(f.currency.to_string()))),
                    rate: l.foreign.as_ref().map(|f| f.rate.to_string()),
                })
                .collect(),
        }
    }
}

/// One page of entries, in posting order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryPage {
    pub items: Vec<EntryItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}
