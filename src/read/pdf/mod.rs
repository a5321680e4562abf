//! PDF text layer → `Page`s of positioned words (points, top-left origin).
//!
//! Our own interpreter on lopdf (`interp.rs`, `fonts.rs`, `cmap.rs`) reads the text layer: it is
//! bounded (operations and content bytes per page and per document, form nesting) and parses
//! fonts once per document; a document over a per-document budget is refused, not handed on.
//! pdf-extract stays as the fallback for documents our interpreter cannot open at all; it panics
//! on a share of corrupt files (DESIGN.md §3), so every call into it is wrapped in `catch_unwind`,
//! and it follows forms without a depth limit (a stack overflow aborts), so `forms.rs` measures
//! the nesting first and refuses a document nested too deep or in a loop.
//! A broken document is a `PdfError`, a broken page is an empty page (which `has_usable_text`
//! rejects, so OCR reads it). `FACTEUR_PDF_TEXT=pdf-extract` forces the old path.

mod budget;
mod cmap;
mod fonts;
mod forms;
mod glyphs;
mod interp;
mod lexer;
mod metrics;
mod quotes;
mod space;

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::layout::Page;

pub use glyphs::WordCollector;
pub use interp::{MAX_DOC_BYTES, MAX_DOC_OPS, MAX_FORM_DEPTH, MAX_OPS, MAX_STREAM_BYTES};

/// Why a PDF's text layer could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("cannot parse the PDF structure: {0}")]
    Invalid(String),
    #[error("the PDF is encrypted and cannot be opened without a password")]
    Encrypted,
    #[error("the PDF has no pages")]
    NoPages,
    #[error("the PDF parser crashed on this file: {0}")]
    Crashed(String),
    /// Over a per-document budget: refused, not read partly.
    #[error("{0}")]
    Limit(String),
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Which interpreter reads the text layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpreter {
    /// Ours (`interp.rs`), falling back to pdf-extract when it cannot open the document.
    Own,
    /// pdf-extract only.
    PdfExtract,
    /// Ours without the fallback: its own error when it cannot open the document (for tests
    /// that must know which interpreter read the words).
    OwnOnly,
}

/// Reads every page's text layer. Pages whose content cannot be decoded come back empty.
pub fn text_pages(bytes: &[u8]) -> Result<Vec<Page>, PdfError> {
    // `FACTEUR_PDF_TEXT=pdf-extract` reads with pdf-extract only (to compare the two).
    let forced = std::env::var("FACTEUR_PDF_TEXT").is_ok_and(|v| v == "pdf-extract");
    text_pages_with(
        bytes,
        if forced {
            Interpreter::PdfExtract
        } else {
            Interpreter::Own
        },
    )
}

/// `text_pages` with a chosen interpreter.
pub fn text_pages_with(bytes: &[u8], which: Interpreter) -> Result<Vec<Page>, PdfError> {
    if which == Interpreter::OwnOnly {
        return match catch_unwind(|| interp::text_pages(bytes)) {
            Ok(r) => r.map_err(|e| match e {
                interp::InterpError::Limit(why) => PdfError::Limit(why),
                interp::InterpError::Encrypted => PdfError::Encrypted,
                interp::InterpError::NoPages => PdfError::NoPages,
                interp::InterpError::Load(why) => PdfError::Invalid(why),
            }),
            Err(p) => Err(PdfError::Crashed(panic_message(p.as_ref()))),
        };
    }
    if which == Interpreter::Own {
        // Our interpreter should not panic; if it ever does, pdf-extract gets its chance.
        match catch_unwind(|| interp::text_pages(bytes)) {
            Ok(Ok(pages)) => return Ok(pages),
            // Not a document pdf-extract should try: it would spend the same without limits.
            Ok(Err(interp::InterpError::Limit(why))) => return Err(PdfError::Limit(why)),
            Ok(Err(_)) | Err(_) => {}
        }
    }
    extract_pages(bytes)
}

fn extract_pages(bytes: &[u8]) -> Result<Vec<Page>, PdfError> {
    let mut doc = catch_unwind(|| pdf_extract::Document::load_mem(bytes))
        .map_err(|p| PdfError::Crashed(panic_message(p.as_ref())))?
        .map_err(|e| PdfError::Invalid(e.to_string()))?;
    if doc.is_encrypted() {
        // pdf-extract can open documents encrypted with an empty user password.
        let ok = catch_unwind(AssertUnwindSafe(|| doc.decrypt("").is_ok())).unwrap_or(false);
        if !ok {
            return Err(PdfError::Encrypted);
        }
    }
    let deep = catch_unwind(AssertUnwindSafe(|| forms::refuse_deep_forms(&doc)))
        .map_err(|p| PdfError::Crashed(panic_message(p.as_ref())))?;
    if let Some(why) = deep {
        return Err(PdfError::Limit(why));
    }
    // A rewrite that crashes leaves the document as it was loaded only if it crashed before
    // touching it; either way pdf-extract then reads what is there.
    let _ = catch_unwind(AssertUnwindSafe(|| quotes::rewrite_document(&mut doc)));
    pages_of(&doc)
}

fn pages_of(doc: &pdf_extract::Document) -> Result<Vec<Page>, PdfError> {
    let numbers: Vec<u32> = catch_unwind(AssertUnwindSafe(|| {
        doc.get_pages().keys().copied().collect()
    }))
    .map_err(|p| PdfError::Crashed(panic_message(p.as_ref())))?;
    if numbers.is_empty() {
        return Err(PdfError::NoPages);
    }
    let mut pages = Vec::with_capacity(numbers.len());
    for n in numbers {
        let mut collector = WordCollector::new(n);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pdf_extract::output_doc_page(doc, &mut collector, n)
        }));
        let page = match result {
            Ok(Ok(())) => collector.finish(),
            // A page that fails or crashes is returned empty so OCR can take it.
            Ok(Err(_)) | Err(_) => collector.empty_page(),
        };
        pages.push(page);
    }
    Ok(pages)
}

/// False for an empty or garbage text layer (replacement characters, `(cid:..)` glyphs, symbols),
/// so the caller OCRs that page instead.
pub fn has_usable_text(page: &Page) -> bool {
    let (mut good, mut bad, mut total) = (0usize, 0usize, 0usize);
    for w in &page.words {
        if w.text.starts_with("(cid:") {
            bad += w.text.chars().count();
            total += w.text.chars().count();
            continue;
        }
        for c in w.text.chars() {
            total += 1;
            if c.is_alphanumeric() && !is_private_use(c) {
                good += 1;
            } else if c == '\u{FFFD}' || c.is_control() || is_private_use(c) {
                bad += 1;
            }
        }
    }
    // A few words are not a text layer (a scan with a stamped page number, say).
    good >= 20 && good * 2 >= total && bad * 5 <= total
}

fn is_private_use(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::layout::{BBox, Word};

    fn page(texts: &[&str]) -> Page {
        Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words: texts
                .iter()
                .map(|t| Word {
                    text: t.to_string(),
                    bbox: BBox::default(),
                    confidence: 1.0,
                })
                .collect(),
        }
    }

    #[test]
    fn real_text_is_usable() {
        assert!(has_usable_text(&page(&[
            "Facture",
            "n°",
            "F2026",
            "du",
            "12/03/2026",
            "Total",
            "TTC",
            "1",
            "234,56",
            "€"
        ])));
    }

    #[test]
    fn empty_and_garbage_layers_are_not() {
        assert!(!has_usable_text(&page(&[])));
        assert!(!has_usable_text(&page(&["12"])));
        assert!(!has_usable_text(&page(&["(cid:12)(cid:13)(cid:14)"; 30])));
        assert!(!has_usable_text(&page(
            &["\u{FFFD}\u{FFFD}ab\u{FFFD}\u{FFFD}"; 20]
        )));
        assert!(!has_usable_text(&page(&["\u{E001}\u{E002}\u{E003}"; 20])));
    }

    #[test]
    fn not_a_pdf_is_an_error() {
        assert!(text_pages(b"%PDF-1.4 garbage").is_err());
        assert!(text_pages(b"hello").is_err());
    }
}
