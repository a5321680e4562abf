//! Where a label's value can be: to its right on the same line (up to the next label), or below
//! it in the same column (a table header over its value, a label over a block).
//!
//! Each place is a `Window` of characters on one line with a prior (`weight`): the label's own
//! weight times how far the window is from it. Typed pickers (amounts, dates, tokens) parse inside
//! windows and keep the best-scoring parse; cross-checks in `totals.rs` settle what is left.

use super::labels::Hit;
use super::text::TLine;

/// How far below a label (in lines) a value may sit.
const MAX_LINES_BELOW: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Place {
    Right,
    Below(usize),
}

#[derive(Debug, Clone)]
pub struct Window {
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub place: Place,
    /// Label weight × place factor.
    pub weight: f32,
}

impl Window {
    pub fn raw(&self, lines: &[TLine]) -> String {
        lines
            .get(self.line)
            .map(|l| l.raw_slice(self.start, self.end))
            .unwrap_or_default()
    }

    pub fn norm(&self, lines: &[TLine]) -> String {
        lines
            .get(self.line)
            .map(|l| {
                l.norm
                    .chars()
                    .skip(self.start)
                    .take(self.end - self.start)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The value windows of one label hit. `all` are every hit in the document (to stop a right
/// window at the next label).
pub fn windows(hit: &Hit, lines: &[TLine], all: &[Hit]) -> Vec<Window> {
    let mut out = Vec::new();
    let Some(line) = lines.get(hit.line) else {
        return out;
    };
    let len = line.norm.chars().count();
    let stop = all
        .iter()
        .filter(|h| h.line == hit.line && h.start >= hit.end && h.weight >= 0.5)
        .map(|h| h.start)
        .min()
        .unwrap_or(len);
    if stop > hit.end {
        out.push(Window {
            line: hit.line,
            start: hit.end,
            end: stop,
            place: Place::Right,
            weight: hit.weight,
        });
    }
    let Some(label_box) = line.span_box(hit.start, hit.end) else {
        return out;
    };
    let lh = label_box.height().max(4.0);
    let mut prev_y = line.bbox.y1;
    for (k, below) in lines
        .iter()
        .enumerate()
        .skip(hit.line + 1)
        .take(MAX_LINES_BELOW)
    {
        if below.page != line.page || below.bbox.y0 - prev_y > 2.5 * lh {
            break;
        }
        prev_y = below.bbox.y1;
        let x0 = label_box.x0 - 2.0 * lh;
        let x1 = label_box.x1 + 2.0 * lh;
        let Some((s, e)) = below.chars_in_x(x0, x1) else {
            continue;
        };
        let n = k - hit.line;
        out.push(Window {
            line: k,
            start: s,
            end: e,
            place: Place::Below(n),
            weight: hit.weight * (0.9 - 0.1 * n as f32),
        });
    }
    out
}

/// Separators and filler words that may stand between a label and its value.
pub fn strip_lead(s: &str) -> (usize, &str) {
    let mut rest = s;
    loop {
        let before = rest.len();
        rest = rest.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, ':' | '#' | '°' | 'º' | '.' | '-' | '=' | '/' | '|')
        });
        for filler in ["n°", "no.", "no ", "nr.", "nr ", "nummer", "number", "num."] {
            if rest.len() >= filler.len()
                && rest.is_char_boundary(filler.len())
                && rest[..filler.len()].eq_ignore_ascii_case(filler)
            {
                rest = &rest[filler.len()..];
            }
        }
        if rest.len() == before {
            break;
        }
    }
    (s[..s.len() - rest.len()].chars().count(), rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_is_stripped() {
        assert_eq!(strip_lead(" : F2026").1, "F2026");
        assert_eq!(strip_lead(" Nr. 471102").1, "471102");
        assert_eq!(strip_lead("# BLR_1").1, "BLR_1");
        assert_eq!(strip_lead(" : 12").0, 3);
    }
}
