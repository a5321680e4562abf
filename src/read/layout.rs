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
    /// Groups words into lines: a word joins a line when their vertical extents overlap by more
    /// than half the smaller height (robust to mixed font sizes on one row).
    pub fn lines(&self) -> Vec<Line> {
        let mut words: Vec<&Word> = self.words.iter().filter(|w| !w.text.is_empty()).collect();
        words.sort_by(|a, b| a.bbox.center_y().total_cmp(&b.bbox.center_y()));
        let mut lines: Vec<Line> = Vec::new();
        for w in words {
            let joined = lines.iter_mut().rev().take(3).find(|l| {
                let overlap = (l.bbox.y1.min(w.bbox.y1) - l.bbox.y0.max(w.bbox.y0)).max(0.0);
                overlap > 0.5 * l.bbox.height().min(w.bbox.height()).max(0.1)
            });
            match joined {
                Some(l) => {
                    l.bbox = l.bbox.union(&w.bbox);
                    l.words.push(w.clone());
                }
                None => lines.push(Line {
                    words: vec![w.clone()],
                    bbox: w.bbox,
                }),
            }
        }
        for l in &mut lines {
            l.words.sort_by(|a, b| a.bbox.x0.total_cmp(&b.bbox.x0));
        }
        lines.sort_by(|a, b| a.bbox.y0.total_cmp(&b.bbox.y0));
        lines
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
}
