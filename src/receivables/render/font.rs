//! The embedded fonts: DejaVu Sans and DejaVu Sans Bold (models/fonts, Bitstream Vera licence)
//! as simple TrueType fonts in WinAnsiEncoding, the whole font file embedded (PDF/A requires
//! every font embedded; WinAnsi keeps text extractable without a ToUnicode map). Widths come
//! from the font's own metrics so the page and the font agree.

use std::sync::OnceLock;

const REGULAR: &[u8] = include_bytes!("../../../models/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../models/fonts/DejaVuSans-Bold.ttf");

/// One font's metrics, in thousandths of the font size (PDF glyph space).
#[derive(Debug)]
pub struct Font {
    /// The PDF resource name (`F1`) and the PostScript name.
    pub resource: &'static str,
    pub base_name: &'static str,
    pub bytes: &'static [u8],
    /// Widths of codes 32..=255.
    pub widths: Vec<i64>,
    pub ascent: i64,
    pub descent: i64,
    pub cap_height: i64,
    pub bbox: [i64; 4],
}

/// The characters 0x80–0x9F of WinAnsiEncoding (PDF 32000-1 annex D); the rest is Latin-1.
const WIN_ANSI_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// The character a WinAnsi code shows.
pub fn decode(code: u8) -> Option<char> {
    match code {
        0x20..=0x7e | 0xa0..=0xff => Some(char::from(code)),
        0x80..=0x9f => WIN_ANSI_HIGH[usize::from(code - 0x80)],
        _ => None,
    }
}

/// The WinAnsi code of a character; what the encoding lacks becomes `?` (narrow spaces become
/// no-break spaces).
pub fn encode_char(c: char) -> u8 {
    match c {
        '\u{202f}' | '\u{2009}' => 0xa0,
        c if (' '..='~').contains(&c) || ('\u{a0}'..='\u{ff}').contains(&c) => c as u32 as u8,
        c => WIN_ANSI_HIGH
            .iter()
            .position(|h| *h == Some(c))
            .map_or(b'?', |i| 0x80 + i as u8),
    }
}

pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(encode_char).collect()
}

impl Font {
    fn load(resource: &'static str, base_name: &'static str, bytes: &'static [u8]) -> Font {
        // The fonts are part of the build, tested below: a parse failure is a build defect.
        let face = ttf_parser::Face::parse(bytes, 0).expect("the embedded font parses");
        let em = f64::from(face.units_per_em());
        let scale = |v: f64| (v * 1000.0 / em).round() as i64;
        let widths = (32u8..=255)
            .map(|code| {
                decode(code)
                    .and_then(|c| face.glyph_index(c))
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0, |w| scale(f64::from(w)))
            })
            .collect();
        let b = face.global_bounding_box();
        Font {
            resource,
            base_name,
            bytes,
            widths,
            ascent: scale(f64::from(face.ascender())),
            descent: scale(f64::from(face.descender())),
            cap_height: scale(f64::from(face.capital_height().unwrap_or(face.ascender()))),
            bbox: [
                scale(f64::from(b.x_min)),
                scale(f64::from(b.y_min)),
                scale(f64::from(b.x_max)),
                scale(f64::from(b.y_max)),
            ],
        }
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let units: i64 = encode(text)
            .iter()
            .map(|&b| {
                self.widths
                    .get(usize::from(b).wrapping_sub(32))
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        units as f64 * size / 1000.0
    }
}

pub fn regular() -> &'static Font {
    static F: OnceLock<Font> = OnceLock::new();
    F.get_or_init(|| Font::load("F1", "DejaVuSans", REGULAR))
}

pub fn bold() -> &'static Font {
    static F: OnceLock<Font> = OnceLock::new();
    F.get_or_init(|| Font::load("F2", "DejaVuSans-Bold", BOLD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fonts_load_and_measure_french_text() {
        let r = regular();
        assert!(r.width("Échéance 1 234,56 €", 10.0) > 50.0);
        assert!(bold().width("W", 10.0) > r.width("i", 10.0));
        assert_eq!(encode("€é’\u{202f}ж"), vec![0x80, 0xe9, 0x92, 0xa0, b'?']);
        for code in 0x20..=0xffu8 {
            if let Some(c) = decode(code) {
                assert_eq!(encode_char(c), code);
                assert!(r.widths[usize::from(code - 32)] > 0, "{c:?} has no glyph");
            }
        }
    }
}
