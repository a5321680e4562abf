//! The extractor's view of a document: visual lines with a raw and a normalised text of equal
//! length in characters, and each word's character span and box.
//!
//! Values are read from the raw text (case matters in invoice numbers), labels are matched on the
//! normalised one (lower case, no accents), and the 1:1 character mapping links the two. Words far
//! apart on a row are joined by two spaces, so a value never runs across a table column gap.

use crate::read::layout::{BBox, Page};

/// A gap wider than this many text heights between two words is a column gap.
const COLUMN_GAP_HEIGHTS: f32 = 1.2;

/// Neighbouring words whose heights differ by more than this factor are set in different type
/// sizes: the boundary between them is a segment break, like a column gap.
const SIZE_RATIO_APART: f32 = 1.6;

#[derive(Debug, Clone)]
pub struct TWord {
    /// Character span in the line's text.
    pub start: usize,
    pub end: usize,
    pub bbox: BBox,
    pub confidence: f32,
}

#[derive(Debug, Clone)]
pub struct TLine {
    pub page: u32,
    /// Index of the line in the document (reading order, page after page).
    pub index: usize,
    pub raw: String,
    pub norm: String,
    pub words: Vec<TWord>,
    pub bbox: BBox,
    pub page_height: f32,
}

impl TLine {
    /// Raw text between two character positions.
    pub fn raw_slice(&self, start: usize, end: usize) -> String {
        self.raw
            .chars()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect()
    }

    /// Horizontal extent of the characters `start..end` (the words they touch).
    pub fn span_box(&self, start: usize, end: usize) -> Option<BBox> {
        self.words
            .iter()
            .filter(|w| w.end > start && w.start < end)
            .map(|w| w.bbox)
            .reduce(|a, b| a.union(&b))
    }

    /// Mean confidence of the words touching `start..end` (1.0 for a text layer).
    pub fn confidence(&self, start: usize, end: usize) -> f32 {
        let c: Vec<f32> = self
            .words
            .iter()
            .filter(|w| w.end > start && w.start < end)
            .map(|w| w.confidence)
            .collect();
        if c.is_empty() {
            1.0
        } else {
            c.iter().sum::<f32>() / c.len() as f32
        }
    }

    /// Character index of the first word starting at or after x (for column reading).
    pub fn chars_in_x(&self, x0: f32, x1: f32) -> Option<(usize, usize)> {
        let ws: Vec<&TWord> = self
            .words
            .iter()
            .filter(|w| w.bbox.x1 > x0 && w.bbox.x0 < x1)
            .collect();
        Some((ws.first()?.start, ws.last()?.end))
    }
}

/// Lower case without accents, one character for one character.
pub fn norm_char(c: char) -> char {
    let l = if c.is_uppercase() {
        let mut it = c.to_lowercase();
        match (it.next(), it.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    } else {
        c
    };
    match l {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' | 'í' | 'ì' => 'i',
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => 'o',
        'ù' | 'û' | 'ü' | 'ú' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ÿ' => 'y',
        'º' => '°',
        '\u{a0}' | '\u{202f}' | '\u{2009}' => ' ',
        '’' | '`' | '´' => '\'',
        '–' | '—' | '−' => '-',
        other => other,
    }
}

pub fn normalize(s: &str) -> String {
    s.chars().map(norm_char).collect()
}

/// OCR reads a speck of dust as punctuation it has no confidence in (":" or "." at 0 %), and
/// such a word in the middle of "Date limite de paiement" hides the label. Punctuation-only
/// words under this confidence are dropped; a text layer's words (confidence 1) never are.
const SPECK_CONFIDENCE: f32 = 0.2;

fn ocr_speck(text: &str, confidence: f32) -> bool {
    confidence < SPECK_CONFIDENCE && !text.chars().any(char::is_alphanumeric)
}

/// All lines of all pages, in reading order.
pub fn lines_of(pages: &[Page]) -> Vec<TLine> {
    let mut out = Vec::new();
    for page in pages {
        for line in page.lines() {
            let mut raw = String::new();
            let mut words = Vec::new();
            let mut len = 0usize;
            let mut prev: Option<BBox> = None;
            let mut prev_conf = 1.0f32;
            for w in &line.words {
                let text: String = w.text.chars().filter(|c| !c.is_control()).collect();
                if text.is_empty() {
                    continue;
                }
                if ocr_speck(&text, w.confidence) {
                    // The speck is dropped but its ink was there: the gap to the next word is
                    // measured from it, so dropping it never opens a column gap inside a label
                    // (Tesseract splits a letter off "paiement" as a ":" at 0 %).
                    if let Some(p) = prev.as_mut() {
                        p.x1 = p.x1.max(w.bbox.x1);
                    }
                    continue;
                }
                if let Some(p) = prev {
                    let h = p.height().max(w.bbox.height()).max(1.0);
                    let small = p.height().min(w.bbox.height()).max(0.1);
                    // Type of clearly different sizes side by side is two texts (a letterhead's
                    // name and its address), however close: a segment never mixes them. Only a
                    // text layer's boxes (confidence 1) are the type's size; an OCR box is the
                    // ink, and "anuar" is half as tall as "J" in one word.
                    let sized = prev_conf >= 1.0 && w.confidence >= 1.0;
                    let sep = if w.bbox.x0 - p.x1 > COLUMN_GAP_HEIGHTS * h
                        || (sized && h > SIZE_RATIO_APART * small)
                    {
                        "  "
                    } else {
                        " "
                    };
                    raw.push_str(sep);
                    len += sep.len();
                }
                let n = text.chars().count();
                raw.push_str(&text);
                words.push(TWord {
                    start: len,
                    end: len + n,
                    bbox: w.bbox,
                    confidence: w.confidence,
                });
                len += n;
                prev = Some(w.bbox);
                prev_conf = w.confidence;
            }
            if words.is_empty() {
                continue;
            }
            let norm = normalize(&raw);
            out.push(TLine {
                page: page.number,
                index: out.len(),
                raw,
                norm,
                words,
                bbox: line.bbox,
                page_height: page.height,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::layout::Word;

    fn w(t: &str, x0: f32, x1: f32) -> Word {
        Word {
            text: t.into(),
            bbox: BBox {
                x0,
                y0: 10.0,
                x1,
                y1: 20.0,
            },
            confidence: 0.5,
        }
    }

    #[test]
    fn column_gaps_become_two_spaces_and_norm_keeps_length() {
        let p = Page {
            number: 1,
            width: 600.0,
            height: 800.0,
            words: vec![
                w("Total", 0.0, 30.0),
                w("TTC", 33.0, 50.0),
                w("1", 300.0, 305.0),
                w("234,56", 308.0, 340.0),
            ],
        };
        let l = &lines_of(&[p])[0];
        assert_eq!(l.raw, "Total TTC  1 234,56");
        assert_eq!(l.norm, "total ttc  1 234,56");
        assert_eq!(l.raw.chars().count(), l.norm.chars().count());
        assert_eq!(l.raw_slice(11, 19), "1 234,56");
        assert_eq!(normalize("Échéance Nº"), "echeance n°");
        assert_eq!(l.confidence(0, 5), 0.5);
    }

    #[test]
    fn different_type_sizes_are_different_segments() {
        let sized = |t: &str, x0: f32, x1: f32, y0: f32, y1: f32| Word {
            text: t.into(),
            bbox: BBox { x0, y0, x1, y1 },
            confidence: 1.0,
        };
        // An 18 pt name and an 8 pt address a little higher, one space apart.
        let p = Page {
            number: 1,
            width: 600.0,
            height: 800.0,
            words: vec![
                sized("Maison", 0.0, 60.0, 30.0, 48.0),
                sized("SARL", 64.0, 110.0, 30.0, 48.0),
                sized("12", 114.0, 122.0, 38.0, 46.0),
                sized("rue", 124.0, 136.0, 38.0, 46.0),
            ],
        };
        assert_eq!(lines_of(&[p])[0].raw, "Maison SARL  12 rue");
    }

    #[test]
    fn a_dropped_speck_still_bridges_the_gap_it_stood_in() {
        let speck = Word {
            confidence: 0.0,
            ..w(":", 117.0, 121.0)
        };
        let words = |with_speck: bool| {
            let mut v = vec![w("de", 100.0, 110.0)];
            if with_speck {
                v.push(speck.clone());
            }
            v.extend([w("paiement", 123.0, 160.0), w("30/09/2026", 200.0, 250.0)]);
            Page {
                number: 1,
                width: 600.0,
                height: 800.0,
                words: v,
            }
        };
        // The speck is gone and leaves no column gap; the real gap before the date still counts.
        assert_eq!(lines_of(&[words(true)])[0].raw, "de paiement  30/09/2026");
        // Without the speck the same 13-point hole is a column gap: the rule is about the speck.
        assert_eq!(lines_of(&[words(false)])[0].raw, "de  paiement  30/09/2026");
    }
}
