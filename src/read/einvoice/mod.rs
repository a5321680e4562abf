//! Structured e-invoices (CII, UBL, Factur-X/ZUGFeRD). PLACEHOLDER: being written on branch einvoice.

use crate::domain::Invoice;

/// An XML attachment found inside a PDF.
#[derive(Debug, Clone)]
pub struct EmbeddedXml {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum EinvoiceError {
    #[error("{0}")]
    Invalid(String),
}

pub fn read_xml(_bytes: &[u8]) -> Result<Invoice, EinvoiceError> {
    Err(EinvoiceError::Invalid(
        "XML reading is not built yet".into(),
    ))
}

pub fn embedded_xml(_pdf: &[u8]) -> Result<Option<EmbeddedXml>, EinvoiceError> {
    Ok(None)
}
