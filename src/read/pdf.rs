//! PDF text layer → positioned words. PLACEHOLDER: being written on branch text.

use super::layout::Page;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("{0}")]
    Invalid(String),
}

pub fn text_pages(_bytes: &[u8]) -> Result<Vec<Page>, PdfError> {
    Err(PdfError::Invalid(
        "text layer reading is not built yet".into(),
    ))
}

pub fn has_usable_text(page: &Page) -> bool {
    !page.words.is_empty()
}
