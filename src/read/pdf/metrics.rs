//! Glyph widths of the standard 14 fonts, for simple fonts that omit `/Widths` (PDF 32000-1
//! §9.6.2.2 lets writers do that for these fonts).
//!
//! Only what word positions need: widths of printable ASCII (from the Adobe AFM files) for the
//! Helvetica, Times and Courier families; accented Latin letters take their base letter's width
//! and a table of common non-ASCII glyphs covers the rest (else the family's typical width).
//! Helvetica-Oblique shares Helvetica's widths; Times-BoldItalic takes Times-Bold's.

/// Widths (1/1000 em) of U+0020..=U+007E.
type AsciiWidths = [u16; 95];

#[rustfmt::skip]
const HELVETICA: AsciiWidths = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

#[rustfmt::skip]
const HELVETICA_BOLD: AsciiWidths = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

#[rustfmt::skip]
const TIMES: AsciiWidths = [
    250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444,
    921, 722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722,
    556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333, 469, 500,
    333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500,
    500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
];

#[rustfmt::skip]
const TIMES_BOLD: AsciiWidths = [
    250, 333, 555, 500, 500, 1000, 833, 278, 333, 333, 500, 570, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 333, 333, 570, 570, 570, 500,
    930, 722, 667, 722, 722, 667, 611, 778, 778, 389, 500, 778, 667, 944, 722, 778,
    611, 778, 722, 556, 667, 722, 722, 1000, 722, 722, 667, 333, 278, 333, 581, 500,
    333, 500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833, 556, 500,
    556, 556, 444, 389, 333, 556, 500, 722, 500, 500, 444, 394, 220, 394, 520,
];

#[rustfmt::skip]
const TIMES_ITALIC: AsciiWidths = [
    250, 333, 420, 500, 500, 833, 778, 214, 333, 333, 500, 675, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 333, 333, 675, 675, 675, 500,
    920, 611, 611, 667, 722, 611, 611, 722, 722, 333, 444, 667, 556, 833, 667, 722,
    611, 722, 611, 500, 556, 722, 611, 833, 611, 556, 556, 389, 278, 389, 422, 500,
    333, 500, 500, 444, 500, 444, 278, 500, 500, 278, 278, 444, 278, 722, 500, 500,
    500, 500, 389, 389, 278, 500, 444, 667, 444, 444, 389, 400, 275, 400, 541,
];

/// Widths of common non-ASCII glyphs: (char, Helvetica, Helvetica-Bold, Times family).
#[rustfmt::skip]
const EXTRA: &[(char, u16, u16, u16)] = &[
    ('°', 400, 400, 400), ('’', 222, 278, 333), ('‘', 222, 278, 333), ('‚', 222, 278, 333),
    ('“', 333, 500, 444), ('”', 333, 500, 444), ('„', 333, 500, 444), ('€', 556, 556, 500),
    ('«', 556, 556, 500), ('»', 556, 556, 500), ('‹', 333, 333, 333), ('›', 333, 333, 333),
    ('–', 556, 556, 500), ('—', 1000, 1000, 1000), ('•', 350, 350, 350), ('…', 1000, 1000, 1000),
    ('·', 278, 278, 250), ('¹', 333, 333, 300), ('²', 333, 333, 300), ('³', 333, 333, 300),
    ('µ', 556, 611, 500), ('§', 556, 556, 500), ('©', 737, 737, 760), ('®', 737, 737, 760),
    ('×', 584, 584, 564), ('÷', 584, 584, 564), ('±', 584, 584, 564), ('¬', 584, 584, 564),
    ('ß', 611, 611, 500), ('æ', 889, 889, 667), ('Æ', 1000, 1000, 889), ('œ', 944, 944, 722),
    ('Œ', 1000, 1000, 889), ('¢', 556, 556, 500), ('£', 556, 556, 500), ('¥', 556, 556, 500),
    ('¤', 556, 556, 500), ('¦', 260, 280, 200), ('ª', 370, 370, 276), ('º', 365, 365, 310),
    ('¶', 537, 556, 453), ('¼', 834, 834, 750), ('½', 834, 834, 750), ('¾', 834, 834, 750),
    ('¿', 611, 611, 444), ('¡', 333, 333, 333), ('‰', 1000, 1000, 1000), ('†', 556, 556, 500),
    ('‡', 556, 556, 500), ('ƒ', 556, 556, 500), ('™', 1000, 1000, 980), ('\u{ad}', 333, 333, 333),
    ('¨', 333, 333, 333), ('´', 333, 333, 333), ('¸', 333, 333, 333), ('¯', 333, 333, 333),
    ('ˆ', 333, 333, 333), ('˜', 333, 333, 333), ('Š', 667, 667, 556), ('š', 500, 556, 389),
    ('Ž', 611, 611, 611), ('ž', 500, 500, 444), ('Ÿ', 667, 667, 722), ('ð', 556, 611, 500),
    ('Ð', 722, 722, 722), ('þ', 556, 611, 500), ('Þ', 667, 667, 556),
];

/// The standard-14 family a `/BaseFont` name belongs to (subset prefixes like `ABCDEF+` and
/// style suffixes are ignored); `None` for any other font.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standard {
    Helvetica,
    HelveticaBold,
    Times,
    TimesBold,
    TimesItalic,
    Courier,
}

impl Standard {
    pub fn from_base_font(name: &[u8]) -> Option<Standard> {
        let name = match name.iter().position(|&b| b == b'+') {
            Some(p) => name.get(p + 1..).unwrap_or_default(),
            None => name,
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let bold = name.contains("bold");
        if name.starts_with("helvetica") || name.starts_with("arial") {
            Some(if bold {
                Standard::HelveticaBold
            } else {
                Standard::Helvetica
            })
        } else if name.starts_with("times") {
            Some(if bold {
                Standard::TimesBold
            } else if name.contains("italic") {
                Standard::TimesItalic
            } else {
                Standard::Times
            })
        } else if name.starts_with("courier") {
            Some(Standard::Courier)
        } else {
            None
        }
    }

    /// Width of `c` in 1/1000 em.
    pub fn width(self, c: char) -> f64 {
        let table = match self {
            Standard::Courier => return 600.0,
            Standard::Helvetica => &HELVETICA,
            Standard::HelveticaBold => &HELVETICA_BOLD,
            Standard::Times => &TIMES,
            Standard::TimesBold => &TIMES_BOLD,
            Standard::TimesItalic => &TIMES_ITALIC,
        };
        if let Some(&(_, h, hb, t)) = EXTRA.iter().find(|e| e.0 == c) {
            return f64::from(match self {
                Standard::Helvetica => h,
                Standard::HelveticaBold => hb,
                _ => t,
            });
        }
        let base = fold_accent(c);
        match (base as usize).checked_sub(0x20).and_then(|i| table.get(i)) {
            Some(&w) => f64::from(w),
            None => f64::from(table.get(('n' as usize) - 0x20).copied().unwrap_or(500)),
        }
    }
}

/// The unaccented letter of a Latin-1 accented letter (À → A), else `c`.
fn fold_accent(c: char) -> char {
    match c {
        'À'..='Å' => 'A',
        'Ç' => 'C',
        'È'..='Ë' => 'E',
        'Ì'..='Ï' => 'I',
        'Ñ' => 'N',
        'Ò'..='Ö' | 'Ø' => 'O',
        'Ù'..='Ü' => 'U',
        'Ý' => 'Y',
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        '\u{a0}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_widths() {
        assert_eq!(
            Standard::from_base_font(b"ABCDEF+Helvetica-Bold"),
            Some(Standard::HelveticaBold)
        );
        assert_eq!(
            Standard::from_base_font(b"Times-Italic"),
            Some(Standard::TimesItalic)
        );
        assert_eq!(Standard::Helvetica.width('°'), 400.0);
        assert_eq!(Standard::TimesItalic.width('K'), 667.0);
        assert_eq!(Standard::from_base_font(b"DejaVuSans"), None);
        assert_eq!(Standard::Helvetica.width(' '), 278.0);
        assert_eq!(Standard::Helvetica.width('W'), 944.0);
        assert_eq!(Standard::Helvetica.width('é'), 556.0);
        assert_eq!(Standard::Times.width('~'), 541.0);
        assert_eq!(Standard::Courier.width('€'), 600.0);
    }
}
