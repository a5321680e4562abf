//! A few drawing operations on A4 pages, written straight as PDF content streams: text in the
//! embedded fonts, filled rectangles, rules. Coordinates in points from the bottom left.

use super::font::{encode, Font};

pub const WIDTH: f64 = 595.28;
pub const HEIGHT: f64 = 841.89;

pub type Rgb = (f64, f64, f64);

pub const INK: Rgb = (0.11, 0.13, 0.16);
pub const GREY: Rgb = (0.40, 0.43, 0.48);
pub const ACCENT: Rgb = (0.12, 0.25, 0.45);
pub const PALE: Rgb = (0.94, 0.95, 0.97);
pub const RULE: Rgb = (0.82, 0.84, 0.87);
pub const WHITE: Rgb = (1.0, 1.0, 1.0);

/// Pages being drawn; the last one is current.
#[derive(Debug, Default)]
pub struct Canvas {
    pub pages: Vec<Vec<u8>>,
}

fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A PDF literal string of WinAnsi bytes.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for b in encode(text) {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

impl Canvas {
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    fn out(&mut self) -> &mut Vec<u8> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Draws on page `i` (0-based) instead of the current one.
    pub fn on_page(&mut self, i: usize, draw: impl FnOnce(&mut Canvas)) {
        let mut one = Canvas {
            pages: vec![std::mem::take(&mut self.pages[i])],
        };
        draw(&mut one);
        self.pages[i] = one.pages.pop().unwrap_or_default();
    }

    pub fn text(&mut self, font: &Font, size: f64, color: Rgb, x: f64, y: f64, s: &str) {
        let mut op = format!(
            "BT {} {} {} rg /{} {} Tf {} {} Td ",
            n(color.0),
            n(color.1),
            n(color.2),
            font.resource,
            n(size),
            n(x),
            n(y)
        )
        .into_bytes();
        op.extend(literal(s));
        op.extend(b" Tj ET\n");
        self.out().extend(op);
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, font: &Font, size: f64, color: Rgb, right: f64, y: f64, s: &str) {
        let x = right - font.width(s, size);
        self.text(font, size, color, x, y, s);
    }

    pub fn text_center(&mut self, font: &Font, size: f64, color: Rgb, y: f64, s: &str) {
        let x = (WIDTH - font.width(s, size)) / 2.0;
        self.text(font, size, color, x, y, s);
    }

    pub fn fill(&mut self, color: Rgb, x: f64, y: f64, w: f64, h: f64) {
        let op = format!(
            "{} {} {} rg {} {} {} {} re f\n",
            n(color.0),
            n(color.1),
            n(color.2),
            n(x),
            n(y),
            n(w),
            n(h)
        );
        self.out().extend(op.into_bytes());
    }

    pub fn rule(&mut self, color: Rgb, width: f64, x1: f64, y: f64, x2: f64) {
        let op = format!(
            "{} {} {} RG {} w {} {} m {} {} l S\n",
            n(color.0),
            n(color.1),
            n(color.2),
            n(width),
            n(x1),
            n(y),
            n(x2),
            n(y)
        );
        self.out().extend(op.into_bytes());
    }
}

/// `text` cut into lines no wider than `width` (words kept whole unless one alone is wider).
pub fn wrap(font: &Font, size: f64, width: f64, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if font.width(&candidate, size) <= width || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_string();
            }
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}
