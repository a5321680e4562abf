//! Receives positioned glyphs (from our interpreter, or pdf-extract's `OutputDev`) and groups
//! them into words.
//!
//! Glyphs arrive in content-stream order with a text rendering matrix in PDF space (bottom-left
//! origin). A glyph continues the current word when it sits on the same baseline and starts where
//! the previous one ended (within a fraction of the font size); a space glyph, a jump or a new
//! baseline ends the word. Positions are flipped to the top-left origin `layout.rs` uses.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use crate::read::layout::{BBox, Page, Word};

/// A gap wider than this fraction of the font size separates two words (a space is ~0.25 em;
/// kerning and justified letters stay well under 0.12 em).
const WORD_GAP_EM: f64 = 0.12;

/// Builds one page's words from the glyphs pdf-extract reports.
pub struct WordCollector {
    number: u32,
    width: f32,
    height: f32,
    /// Page top in PDF user space (media box `ury`), to flip y.
    top: f64,
    left: f64,
    words: Vec<Word>,
    current: Option<Pending>,
}

struct Pending {
    text: String,
    x0: f64,
    x1: f64,
    baseline: f64,
    size: f64,
}

impl WordCollector {
    pub fn new(number: u32) -> Self {
        WordCollector {
            number,
            width: 595.0,
            height: 842.0,
            top: 842.0,
            left: 0.0,
            words: Vec::new(),
            current: None,
        }
    }

    fn flush(&mut self) {
        if let Some(p) = self.current.take() {
            let text = p.text.trim().to_string();
            if text.is_empty() {
                return;
            }
            let size = p.size.max(1.0);
            self.words.push(Word {
                text,
                bbox: BBox {
                    x0: p.x0 as f32,
                    y0: (p.baseline - 0.8 * size) as f32,
                    x1: p.x1.max(p.x0 + 0.1) as f32,
                    y1: (p.baseline + 0.2 * size) as f32,
                },
                confidence: 1.0,
            });
        }
    }

    /// Sets the displayed page size (points).
    pub fn set_size(&mut self, width: f32, height: f32) {
        self.width = width;
        self.height = height;
    }

    /// The page with every word collected so far.
    pub fn finish(mut self) -> Page {
        self.flush();
        Page {
            number: self.number,
            width: self.width,
            height: self.height,
            words: self.words,
        }
    }

    /// The page's size without words, for a page whose content could not be decoded.
    pub fn empty_page(self) -> Page {
        Page {
            number: self.number,
            width: self.width,
            height: self.height,
            words: Vec::new(),
        }
    }

    /// Adds one glyph at `x` (left edge) on `baseline` (top-left origin), `advance` wide.
    pub fn push_glyph(&mut self, text: &str, x: f64, baseline: f64, advance: f64, size: f64) {
        if !(x.is_finite() && baseline.is_finite() && advance.is_finite() && size.is_finite()) {
            return;
        }
        let size = size.abs().max(0.5);
        let blank = text.chars().all(|c| c.is_whitespace() || c == '\0');
        if blank {
            self.flush();
            return;
        }
        let continues = self.current.as_ref().is_some_and(|p| {
            (p.baseline - baseline).abs() < 0.3 * p.size.min(size)
                && x >= p.x1 - 0.5 * size
                && x <= p.x1 + WORD_GAP_EM * size
        });
        if !continues {
            self.flush();
            self.current = Some(Pending {
                text: String::new(),
                x0: x,
                x1: x,
                baseline,
                size,
            });
        }
        if let Some(p) = self.current.as_mut() {
            p.text.push_str(text);
            p.x1 = p.x1.max(x + advance.max(0.0));
            p.size = p.size.max(size);
        }
    }
}

impl OutputDev for WordCollector {
    fn begin_page(
        &mut self,
        _page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.width = (media_box.urx - media_box.llx).abs() as f32;
        self.height = (media_box.ury - media_box.lly).abs() as f32;
        self.top = media_box.ury;
        self.left = media_box.llx;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.flush();
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        // The rendering matrix maps text space to user space; its scale times the font size is
        // the glyph size on the page.
        let sx = (trm.m11 * trm.m11 + trm.m12 * trm.m12).sqrt();
        let sy = (trm.m21 * trm.m21 + trm.m22 * trm.m22).sqrt();
        let size = font_size * sy;
        let advance = width * font_size * sx;
        let x = trm.m31 - self.left;
        let baseline = self.top - trm.m32;
        self.push_glyph(char, x, baseline, advance, size);
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_group_into_words_on_gaps_and_spaces() {
        let mut c = WordCollector::new(1);
        for (i, ch) in "Total".chars().enumerate() {
            c.push_glyph(&ch.to_string(), 10.0 + 5.0 * i as f64, 100.0, 5.0, 10.0);
        }
        c.push_glyph(" ", 35.0, 100.0, 2.5, 10.0);
        c.push_glyph("T", 37.5, 100.0, 5.0, 10.0);
        // A jump far to the right starts a new word even without a space glyph.
        c.push_glyph("1", 200.0, 100.0, 5.0, 10.0);
        c.push_glyph("2", 205.0, 100.0, 5.0, 10.0);
        // A new baseline starts a new word.
        c.push_glyph("x", 210.0, 120.0, 5.0, 10.0);
        let p = c.finish();
        let texts: Vec<_> = p.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Total", "T", "12", "x"]);
        assert_eq!(p.words[0].bbox.x0, 10.0);
        assert!(p.words[0].bbox.y0 < 100.0 && p.words[0].bbox.y1 > 100.0);
    }
}
