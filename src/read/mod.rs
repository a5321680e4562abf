//! Reading a document into an `Extraction`: structured XML first, the PDF text layer next, OCR last.
//!
//! `read_document` is the whole decision and is pure (bytes in, extraction out, no database), so the
//! sandbox child (`sandbox.rs`) runs exactly this on untrusted bytes, and tests and benchmarks call it
//! in-process. The dispatch follows DESIGN.md §4: a Factur-X/ZUGFeRD PDF is read from its embedded
//! XML unless the caller asks for a visual reading (`--method text|ocr`).

pub mod einvoice;
pub mod fields;
pub mod layout;
pub mod ocr;
pub mod pdf;
pub mod sandbox;
pub mod templates;

use serde::{Deserialize, Serialize};

use crate::domain::{Extraction, Method};

/// Which reading the caller wants (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MethodChoice {
    /// XML when present, else the text layer, else OCR.
    #[default]
    Auto,
    Xml,
    Text,
    Ocr,
}

impl std::str::FromStr for MethodChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(MethodChoice::Auto),
            "xml" => Ok(MethodChoice::Xml),
            "text" => Ok(MethodChoice::Text),
            "ocr" => Ok(MethodChoice::Ocr),
            other => Err(format!(
                "unknown method '{other}': use auto, xml, text or ocr"
            )),
        }
    }
}

/// Everything a reading needs besides the bytes; serialisable so it crosses into the sandbox child.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadOptions {
    pub method: MethodChoice,
    /// Tesseract language(s), e.g. `fra` (reads English invoices as well as `eng`, and faster).
    pub ocr_language: String,
    /// Refuse more pages than this for OCR.
    pub max_pages: u32,
    /// Refuse page images larger than this many pixels, before decoding them.
    pub max_pixels: u64,
    /// Seconds allowed per OCR page.
    pub page_timeout_secs: u64,
    /// The workspace's supplier templates (`models/suppliers/*.toml` beside facteur.toml), read
    /// at each document so a new or corrected template applies without a rebuild; they take
    /// precedence over the built-in ones.
    #[serde(default)]
    pub suppliers_dir: Option<std::path::PathBuf>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            method: MethodChoice::Auto,
            ocr_language: "fra".to_string(),
            max_pages: 50,
            max_pixels: 40_000_000,
            page_timeout_secs: 60,
            suppliers_dir: None,
        }
    }
}

/// Why a document could not be read. Stored on the document and shown to people.
///
/// Two variants mean "the reader process died or hung" (`killed_the_reader`): `Crashed` (a
/// signal, a panic, running out of memory so the process died, an unexpected exit, a lost pipe)
/// and `Timeout` (the wall-clock or CPU limit stopped it). The read stage retries those and counts
/// them per document. Every other variant is a verdict on the document itself: `Limit` is a
/// refusal decided while reading (pages, pixels, a page's OCR time, PDF operation and byte
/// budgets), never a dead reader.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize, PartialEq)]
pub enum ReadError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("unsupported file type: {0}")]
    Unsupported(String),
    #[error("not a valid PDF: {0}")]
    BadPdf(String),
    #[error("invalid e-invoice XML: {0}")]
    BadXml(String),
    #[error("no embedded Factur-X/ZUGFeRD XML in this PDF (try --method auto or text)")]
    NoEmbeddedXml,
    #[error("OCR failed: {0}")]
    Ocr(String),
    /// The document has pages to OCR and this process has no OCR engine: the sandbox reads it
    /// again in a `facteur-ocr` child (see `ocr::engine`).
    #[error("this document needs OCR, which runs in the facteur-ocr program")]
    NeedsOcr,
    #[error("refused: {0}")]
    Limit(String),
    #[error("reader crashed or was stopped: {0}")]
    Crashed(String),
    #[error("reader hung and was stopped: {0}")]
    Timeout(String),
}

impl ReadError {
    /// True when the reader process died (`Crashed`) or hung and was stopped (`Timeout`): the
    /// document may be retried, and the attempts counted.
    pub fn killed_the_reader(&self) -> bool {
        matches!(self, ReadError::Crashed(_) | ReadError::Timeout(_))
    }
}

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Xml,
    Png,
    Jpeg,
    Tiff,
}

pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Kind::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Kind::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Jpeg);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some(Kind::Tiff);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        return Some(Kind::Xml);
    }
    None
}

/// Reads one document. Never panics on input; every failure is a `ReadError` saying why.
pub fn read_document(bytes: &[u8], opts: &ReadOptions) -> Result<Extraction, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    let kind = sniff(bytes).ok_or_else(|| {
        ReadError::Unsupported(
            "not a PDF, XML, PNG, JPEG or TIFF file (looked at the first bytes, not the name)"
                .into(),
        )
    })?;
    match kind {
        Kind::Xml => match opts.method {
            MethodChoice::Auto | MethodChoice::Xml => {
                let invoice =
                    einvoice::read_xml(bytes).map_err(|e| ReadError::BadXml(e.to_string()))?;
                Ok(Extraction::certain(invoice, Method::Xml))
            }
            _ => Err(ReadError::Unsupported(
                "an XML file has no page to read visually; use --method xml".into(),
            )),
        },
        Kind::Pdf => read_pdf(bytes, opts),
        Kind::Png | Kind::Jpeg | Kind::Tiff => match opts.method {
            MethodChoice::Xml | MethodChoice::Text => Err(ReadError::Unsupported(
                "an image has no XML or text layer; use --method ocr or auto".into(),
            )),
            _ => {
                let pages = ocr::ocr_image(bytes, opts)?;
                Ok(templates::extract(&pages, Method::Ocr, opts))
            }
        },
    }
}

fn read_pdf(bytes: &[u8], opts: &ReadOptions) -> Result<Extraction, ReadError> {
    if matches!(opts.method, MethodChoice::Auto | MethodChoice::Xml) {
        match einvoice::embedded_xml(bytes) {
            Ok(Some(xml)) => {
                let invoice = einvoice::read_xml(&xml.bytes).map_err(|e| {
                    ReadError::BadXml(format!("{} embedded in the PDF: {e}", xml.name))
                })?;
                return Ok(Extraction::certain(invoice, Method::Xml));
            }
            Ok(None) if opts.method == MethodChoice::Xml => return Err(ReadError::NoEmbeddedXml),
            Ok(None) => {}
            Err(e) if opts.method == MethodChoice::Xml => {
                return Err(ReadError::BadPdf(e.to_string()))
            }
            // A broken attachment must not stop a visual reading of the pages.
            Err(_) => {}
        }
    }
    if opts.method == MethodChoice::Ocr {
        let pages = ocr::ocr_pdf(bytes, &[], opts)?;
        return Ok(templates::extract(&pages, Method::Ocr, opts));
    }
    let pages = pdf::text_pages(bytes).map_err(|e| match e {
        pdf::PdfError::Limit(why) => ReadError::Limit(why),
        other => ReadError::BadPdf(other.to_string()),
    })?;
    let needs_ocr: Vec<u32> = pages
        .iter()
        .filter(|p| !pdf::has_usable_text(p))
        .map(|p| p.number)
        .collect();
    if needs_ocr.is_empty() || opts.method == MethodChoice::Text {
        return Ok(templates::extract(&pages, Method::Text, opts));
    }
    // Mixed or scanned PDF: OCR only the pages whose text layer is empty or garbage.
    let ocr_pages = ocr::ocr_pdf(bytes, &needs_ocr, opts)?;
    let merged: Vec<_> = pages
        .into_iter()
        .map(|p| {
            ocr_pages
                .iter()
                .find(|o| o.number == p.number)
                .cloned()
                .unwrap_or(p)
        })
        .collect();
    Ok(templates::extract(&merged, Method::Ocr, opts))
}
