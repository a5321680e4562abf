//! Glyph widths of the standard 14 fonts, for simple fonts that omit `/Widths` (PDF 32000-1
//! §9.6.2.2 lets writers do that for these fonts).
//!
//! Only what word positions need: widths of printable ASCII (from the Adobe AFM files) for the
//! Helvetica, Times and Courier families; accented Latin letters take their base letter's width
//! and anything else the family's typical width. Bold and italic variants share the regular
//! family's table except Helvetica-Bold, whose widths differ enough to move words.

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

/// The standard-14 family a `/BaseFont` name belongs to (subset prefixes like `ABCDEF+` and
/// style suffixes are ignored); `None` for any other font.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standard {
    Helvetica,
    HelveticaBold,
    Times,
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
            Some(Standard::Times)
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
        };
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
            Some(Standard::Times)
        );
        assert_eq!(Standard::from_base_font(b"DejaVuSans"), None);
        assert_eq!(Standard::Helvetica.width(' '), 278.0);
        assert_eq!(Standard::Helvetica.width('W'), 944.0);
        assert_eq!(Standard::Helvetica.width('é'), 556.0);
        assert_eq!(Standard::Times.width('~'), 541.0);
        assert_eq!(Standard::Courier.width('€'), 600.0);
    }
}
