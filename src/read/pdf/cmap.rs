//! `/ToUnicode` CMaps: character codes → Unicode text (PDF 32000-1 §9.10.3).
//!
//! Only `bfchar` and `bfrange` sections matter for text extraction; everything else in the CMap
//! program (codespace ranges, dictionaries, comments) is skipped. Codes are looked up by value
//! (1- and 2-byte sources share one table: a simple font's CMap sometimes writes `<0041>` for
//! byte 0x41). The parser never fails: a malformed CMap yields whatever mappings were readable.

use std::collections::HashMap;

/// Mappings read from one `/ToUnicode` stream.
#[derive(Debug, Default)]
pub struct ToUnicode {
    chars: HashMap<u32, String>,
    /// `(lo, hi, first)`: code `lo + k` maps to `first` with its last UTF-16 unit increased by k.
    ranges: Vec<(u32, u32, Vec<u16>)>,
}

/// One lexical item of a CMap program.
enum Tok<'a> {
    Hex(Vec<u8>),
    Word(&'a [u8]),
    Open,
    Close,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn tokens(data: &[u8]) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        match b {
            b'%' => {
                while data.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if data.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                i += 1;
                let mut nibbles = Vec::new();
                while let Some(&c) = data.get(i) {
                    i += 1;
                    if c == b'>' {
                        break;
                    }
                    if let Some(v) = hex_val(c) {
                        nibbles.push(v);
                    }
                }
                if nibbles.len() % 2 == 1 {
                    nibbles.push(0);
                }
                let bytes = nibbles.chunks(2).map(|p| p[0] << 4 | p[1]).collect();
                out.push(Tok::Hex(bytes));
            }
            b'[' => {
                out.push(Tok::Open);
                i += 1;
            }
            b']' => {
                out.push(Tok::Close);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                i += 1;
                while data
                    .get(i)
                    .is_some_and(|&c| !c.is_ascii_whitespace() && !b"<>[]%/(){}".contains(&c))
                {
                    i += 1;
                }
                out.push(Tok::Word(data.get(start..i).unwrap_or_default()));
            }
        }
    }
    out
}

fn code_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|p| match p {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from(*a),
            _ => 0,
        })
        .collect()
}

/// A bfrange destination bigger than this is a broken or hostile CMap; it is clamped.
const MAX_RANGE: u32 = 0xFFFF;

impl ToUnicode {
    pub fn parse(data: &[u8]) -> ToUnicode {
        let toks = tokens(data);
        let mut map = ToUnicode::default();
        let mut i = 0;
        while let Some(t) = toks.get(i) {
            i += 1;
            match t {
                Tok::Word(b"beginbfchar") => {
                    while let (Some(Tok::Hex(src)), Some(Tok::Hex(dst))) =
                        (toks.get(i), toks.get(i + 1))
                    {
                        map.chars
                            .insert(code_of(src), String::from_utf16_lossy(&utf16_units(dst)));
                        i += 2;
                    }
                }
                Tok::Word(b"beginbfrange") => {
                    while let (Some(Tok::Hex(lo)), Some(Tok::Hex(hi))) =
                        (toks.get(i), toks.get(i + 1))
                    {
                        let (lo, hi) = (code_of(lo), code_of(hi));
                        let hi = hi.min(lo.saturating_add(MAX_RANGE));
                        match toks.get(i + 2) {
                            Some(Tok::Hex(dst)) => {
                                if lo <= hi {
                                    map.ranges.push((lo, hi, utf16_units(dst)));
                                }
                                i += 3;
                            }
                            Some(Tok::Open) => {
                                i += 3;
                                let mut code = lo;
                                while let Some(Tok::Hex(dst)) = toks.get(i) {
                                    if code <= hi {
                                        map.chars.insert(
                                            code,
                                            String::from_utf16_lossy(&utf16_units(dst)),
                                        );
                                    }
                                    code = code.saturating_add(1);
                                    i += 1;
                                }
                                if matches!(toks.get(i), Some(Tok::Close)) {
                                    i += 1;
                                }
                            }
                            _ => break,
                        }
                    }
                }
                _ => {}
            }
        }
        map.ranges.sort_by_key(|r| r.0);
        map
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty() && self.ranges.is_empty()
    }

    /// Writes the text of `code` into `out`; false when the CMap does not map it.
    pub fn lookup(&self, code: u32, out: &mut String) -> bool {
        if let Some(s) = self.chars.get(&code) {
            out.push_str(s);
            return true;
        }
        let idx = self.ranges.partition_point(|r| r.0 <= code);
        let Some((lo, hi, first)) = idx.checked_sub(1).and_then(|k| self.ranges.get(k)) else {
            return false;
        };
        if code > *hi {
            return false;
        }
        let mut units = first.clone();
        if let Some(last) = units.last_mut() {
            // `code - lo` is at most MAX_RANGE, so it fits a u16.
            *last = last.wrapping_add((code - lo) as u16);
        }
        out.push_str(&String::from_utf16_lossy(&units));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &ToUnicode, code: u32) -> Option<String> {
        let mut s = String::new();
        m.lookup(code, &mut s).then_some(s)
    }

    #[test]
    fn bfchar_and_bfrange_in_one_and_two_bytes() {
        let m = ToUnicode::parse(
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
              1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
              2 beginbfchar <0003> <0020> <01A2> <00660069> endbfchar\n\
              2 beginbfrange <0010> <0019> <0030> <0041> <0042> [<00C9> <20AC>] endbfrange\n\
              1 beginbfchar <61> <0061> endbfchar endcmap",
        );
        assert_eq!(text(&m, 3).as_deref(), Some(" "));
        assert_eq!(text(&m, 0x1A2).as_deref(), Some("fi"));
        assert_eq!(text(&m, 0x10).as_deref(), Some("0"));
        assert_eq!(text(&m, 0x19).as_deref(), Some("9"));
        assert_eq!(text(&m, 0x41).as_deref(), Some("É"));
        assert_eq!(text(&m, 0x42).as_deref(), Some("€"));
        assert_eq!(text(&m, 0x61).as_deref(), Some("a"));
        assert_eq!(text(&m, 0x1A), None);
    }

    #[test]
    fn garbage_does_not_panic() {
        for junk in [
            &b"beginbfrange <00> <FFFFFFFF> <0041"[..],
            b"<<<[[]]>>> beginbfchar <",
            b"\xff\xfe",
        ] {
            let m = ToUnicode::parse(junk);
            let _ = text(&m, 0x41);
        }
    }
}
