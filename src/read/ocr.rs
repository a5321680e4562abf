//! OCR of page images. PLACEHOLDER: being written on branch ocr.

use super::layout::Page;
use super::{ReadError, ReadOptions};

pub fn ocr_image(_bytes: &[u8], _opts: &ReadOptions) -> Result<Vec<Page>, ReadError> {
    Err(ReadError::Ocr("OCR is not built yet".into()))
}

pub fn ocr_pdf(_bytes: &[u8], _pages: &[u32], _opts: &ReadOptions) -> Result<Vec<Page>, ReadError> {
    Err(ReadError::Ocr("OCR is not built yet".into()))
}
