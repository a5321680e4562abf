//! What one document may spend on its text layer, all pages and form invocations together:
//! content bytes (compressed or not) and operations. The interpreter charges it as it goes and
//! refuses the document once it is spent (`InterpError::Limit`).

use super::interp::{MAX_DOC_BYTES, MAX_DOC_OPS};

/// What one document may still spend, all pages and forms together.
pub(super) struct Budget {
    bytes: usize,
    ops: usize,
    /// Why the document went over, once it has.
    pub(super) exceeded: Option<String>,
}

impl Budget {
    pub(super) fn new() -> Self {
        Budget {
            bytes: MAX_DOC_BYTES,
            ops: MAX_DOC_OPS,
            exceeded: None,
        }
    }

    /// Charges `n` content bytes; false (and the reason kept) when the document goes over.
    pub(super) fn bytes(&mut self, n: usize) -> bool {
        if self.exceeded.is_none() && n <= self.bytes {
            self.bytes -= n;
            return true;
        }
        self.exceeded.get_or_insert_with(|| {
            format!(
                "the PDF's content streams add up to more than {} MiB (forms count each time \
                 they are drawn, compressed or not)",
                MAX_DOC_BYTES >> 20
            )
        });
        false
    }

    /// Charges one operation; false (and the reason kept) when the document goes over.
    pub(super) fn op(&mut self) -> bool {
        if self.exceeded.is_none() && self.ops > 0 {
            self.ops -= 1;
            return true;
        }
        self.exceeded.get_or_insert_with(|| {
            format!("the PDF's pages hold more than {MAX_DOC_OPS} content operations in all")
        });
        false
    }
}
