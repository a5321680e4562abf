//! Generic field extraction from pages. PLACEHOLDER: being written on branch text.

use crate::domain::{Extraction, Invoice, Method};
use crate::read::layout::Page;

pub fn extract(_pages: &[Page], method: Method) -> Extraction {
    Extraction::certain(Invoice::default(), method)
}
