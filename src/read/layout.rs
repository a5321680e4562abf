//! The one internal model every visual reader produces: pages of positioned words.
//!
//! The PDF text layer and Tesseract both produce `Page`s; the field extractor (`read::fields`) only
//! ever sees `Page`s, so a rule learnt on born-digital PDFs works on scans too. Coordinates are in
//! points (1/72 in) from the top-left corner, whatever the source.

use serde::{Deserialize, Serialize};

/// An axis-aligned box, top-left origin, y growing downwards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }
    pub fn center_y(&self) -> f32 {
        (self.y0 + self.y1) / 2.0
    }
    pub fn union(&self, o: &BBox) -> BBox {
        BBox {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
}

/// A word: text without spaces, where it stands, and how sure the reader is (1.0 for a text layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub bbox: BBox,
    pub confidence: f32,
}

/// One page of words, in reading order as far as the reader knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Page {
    /// 1-based page number in the document.
    pub number: u32,
    pub width: f32,
    pub height: f32,
    pub words: Vec<Word>,
}

/// A line of words grouped by vertical overlap, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub words: Vec<Word>,
    pub bbox: BBox,
}

impl Line {
    pub fn text(&self) -> String {
        self.words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Page {
    /// Groups words into lines: a word joins a line when its vertical extent overlaps the line's
    /// band by more than half the smaller height (robust to mixed font sizes on one row). The
    /// band is the mean top and bottom of the line's words, not their union: one tall box (an
    /// OCR word spanning two rows) would otherwise widen the line until it swallowed the next
    /// row, "Bahnhofstraße 47" and "80331 München" read as one line.
    pub fn lines(&self) -> Vec<Line> {
        let mut words: Vec<&Word> = self
            .words
            .iter()
            .filter(|w| !w.text.is_empty() && !self.ghost(w))
            .collect();
        words.sort_by(|a, b| a.bbox.center_y().total_cmp(&b.bbox.center_y()));
        // Per line: the sums of its words' tops and bottoms, for the mean band.
        let mut lines: Vec<(Line, f32, f32)> = Vec::new();
        for w in words {
            let joined = lines.iter_mut().rev().take(3).find(|(l, top, bottom)| {
                let n = l.words.len() as f32;
                let (y0, y1) = (top / n, bottom / n);
                let overlap = (y1.min(w.bbox.y1) - y0.max(w.bbox.y0)).max(0.0);
                overlap > 0.5 * (y1 - y0).min(w.bbox.height()).max(0.1)
            });
            match joined {
                Some((l, top, bottom)) => {
                    l.bbox = l.bbox.union(&w.bbox);
                    l.words.push(w.clone());
                    *top += w.bbox.y0;
                    *bottom += w.bbox.y1;
                }
                None => lines.push((
                    Line {
                        words: vec![w.clone()],
                        bbox: w.bbox,
                    },
                    w.bbox.y0,
                    w.bbox.y1,
                )),
            }
        }
        let mut lines: Vec<Line> = lines.into_iter().map(|(l, _, _)| l).collect();
        for l in &mut lines {
            l.words.sort_by(|a, b| a.bbox.x0.total_cmp(&b.bbox.x0));
        }
        lines.sort_by(|a, b| a.bbox.y0.total_cmp(&b.bbox.y0));
        lines
    }

    /// An OCR word whose box lies inside another, larger word's box is the same ink read twice
    /// (Tesseract reads "202" again inside "02.09.2026" when its layout analysis splits a row):
    /// the larger reading is kept. A text layer's words (confidence 1) are what the PDF draws.
    fn ghost(&self, w: &Word) -> bool {
        w.confidence < 1.0
            && self.words.iter().any(|o| {
                !std::ptr::eq(o, w)
                    && o.bbox.width() * o.bbox.height() > w.bbox.width() * w.bbox.height()
                    && o.bbox.x0 <= w.bbox.x0 + 0.5
                    && o.bbox.x1 >= w.bbox.x1 - 0.5
                    && o.bbox.y0 <= w.bbox.y0 + 0.5
                    && o.bbox.y1 >= w.bbox.y1 - 0.5
            })
    }

    /// Plain text, one line per visual line.
    pub fn text(&self) -> String {
        self.lines()
            .iter()
            .map(Line::text)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str, x: f32, y: f32) -> Word {
        Word {
            text: t.into(),
            bbox: BBox {
                x0: x,
                y0: y,
                x1: x + 20.0,
                y1: y + 10.0,
            },
            confidence: 1.0,
        }
    }

    #[test]
    fn groups_words_into_lines() {
        let p = Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words: vec![
                w("Total", 10.0, 100.0),
                w("Facture", 10.0, 20.0),
                w("12,00", 100.0, 101.0),
            ],
        };
        assert_eq!(p.text(), "Facture\nTotal 12,00");
    }

    fn b(t: &str, x0: f32, y0: f32, x1: f32, y1: f32, confidence: f32) -> Word {
        Word {
            text: t.into(),
            bbox: BBox { x0, y0, x1, y1 },
            confidence,
        }
    }

    #[test]
    fn one_tall_box_does_not_merge_two_rows() {
        // An OCR box spanning both rows joins the first; the second row stays its own line.
        let p = Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words: vec![
                b("47", 117.0, 64.0, 127.0, 71.0, 0.9),
                b("Bahnhofstraße", 56.0, 63.0, 114.0, 80.0, 0.1),
                b("Rechnungsnr.", 360.0, 67.0, 421.0, 79.0, 0.9),
                b("80331", 56.0, 76.0, 80.0, 83.0, 0.9),
                b("München", 84.0, 76.0, 120.0, 83.0, 0.9),
            ],
        };
        assert_eq!(p.text(), "Bahnhofstraße 47 Rechnungsnr.\n80331 München");
    }

    #[test]
    fn an_ocr_word_read_twice_inside_another_is_dropped() {
        let words = |confidence: f32| Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words: vec![
                b("Datum", 360.0, 83.0, 389.0, 90.0, confidence),
                b("02.09.2026", 470.0, 82.6, 519.0, 90.2, confidence),
                b("202", 498.0, 82.6, 513.0, 90.0, confidence),
            ],
        };
        assert_eq!(words(0.9).text(), "Datum 02.09.2026");
        // A text layer draws what it draws: nothing is dropped.
        assert_eq!(words(1.0).text(), "Datum 02.09.2026 202");
    }
}
