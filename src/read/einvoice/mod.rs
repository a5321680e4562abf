//! Structured e-invoices read exactly: UBL 2.1, UN/CEFACT CII D16B, ZUGFeRD 1.0, and the XML that
//! Factur-X / ZUGFeRD / XRechnung PDFs carry, mapped to EN 16931 business terms in `Invoice`.
//!
//! These documents are the supplier's own statement, so nothing here guesses: a value is mapped or
//! left out, and a value that is there but unreadable (a date, an amount) is an error naming the
//! business term. Parsing is pure and refuses DTDs, entity tricks, oversize and over-deep input
//! (`xml.rs`), because the bytes come from strangers' mailboxes.

mod cii;
mod common;
mod facturx;
mod ubl;
pub mod xml;

use crate::domain::Invoice;

pub use xml::{MAX_BYTES, MAX_DEPTH};

/// An XML attachment found inside a PDF.
#[derive(Debug, Clone)]
pub struct EmbeddedXml {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum EinvoiceError {
    #[error(transparent)]
    Xml(#[from] xml::XmlError),
    #[error("root element <{root}>{} is not an e-invoice: CII CrossIndustryInvoice, ZUGFeRD 1.0 CrossIndustryDocument, or UBL Invoice/CreditNote expected{}", ns(namespace), hint(root))]
    NotInvoice {
        root: String,
        namespace: Option<String>,
    },
    #[error("<{root}> has no <{element}>, which every invoice of this syntax carries")]
    Missing { element: &'static str, root: String },
    #[error("{term} is '{value}': {expected} expected")]
    BadValue {
        term: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("cannot read the PDF to look for attachments: {0}")]
    Pdf(String),
    #[error("attachment '{name}' cannot be extracted: {why}")]
    Attachment { name: String, why: String },
}

fn ns(namespace: &Option<String>) -> String {
    match namespace {
        Some(n) => format!(" (namespace {n})"),
        None => " (no namespace)".to_string(),
    }
}

fn hint(root: &str) -> &'static str {
    if root.starts_with("SCRDM") {
        " (this is an Order-X order, not an invoice)"
    } else {
        ""
    }
}

/// Reads a standalone CII, ZUGFeRD 1.0 or UBL document.
pub fn read_xml(bytes: &[u8]) -> Result<Invoice, EinvoiceError> {
    let tree = xml::parse(bytes)?;
    let root = tree.root();
    let ns = tree.namespace().unwrap_or("");
    match root.name() {
        "CrossIndustryInvoice" => cii::read(root, &cii::D16B),
        "CrossIndustryDocument" => cii::read(root, &cii::ZUGFERD1),
        "Invoice" | "CreditNote" if ns.contains("oasis") || ns.is_empty() => ubl::read(root),
        other => Err(EinvoiceError::NotInvoice {
            root: other.to_string(),
            namespace: tree.namespace().map(str::to_string),
        }),
    }
}

/// The invoice XML attached to a PDF, if any (see `facturx.rs` for how it is found).
pub fn embedded_xml(pdf: &[u8]) -> Result<Option<EmbeddedXml>, EinvoiceError> {
    facturx::embedded_xml(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DocType;
    use rust_decimal_macros::dec;

    const CII: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>F-1</ram:ID><ram:TypeCode>381</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20240131</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>ACME</ram:Name>
   <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">732829320</ram:ID></ram:SpecifiedLegalOrganization>
  </ram:SellerTradeParty></ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxTotalAmount currencyID="SEK">99</ram:TaxTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">10.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>110.00</ram:GrandTotalAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#;

    #[test]
    fn reads_minimal_cii() {
        let inv = read_xml(CII.as_bytes()).unwrap();
        assert_eq!(inv.number.as_deref(), Some("F-1"));
        assert_eq!(inv.doc_type, DocType::CreditNote);
        assert_eq!(inv.total_tax, Some(dec!(10.00)));
        assert_eq!(inv.total_gross, Some(dec!(110.00)));
        assert_eq!(
            inv.seller.siren.as_ref().map(|s| s.as_str()),
            Some("732829320")
        );
    }

    #[test]
    fn bad_amount_names_the_term() {
        let doc = CII.replace(">110.00<", ">1l0.00<");
        let err = read_xml(doc.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("BT-112"), "{err}");
        assert!(err.contains("1l0.00"), "{err}");
    }

    #[test]
    fn other_roots_are_refused() {
        let err = read_xml(b"<SCRDMCCBDACIOMessageStructure xmlns=\"urn:x\"/>").unwrap_err();
        assert!(err.to_string().contains("Order-X"), "{err}");
    }
}
