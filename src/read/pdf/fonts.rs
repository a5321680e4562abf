//! PDF fonts as the text interpreter needs them: how to split a string into codes, each code's
//! Unicode text and its advance width (PDF 32000-1 §9.6–9.10).
//!
//! Parsed once per document and cached by object id (`FontCache`), because re-reading fonts on
//! every page was most of pdf-extract's cost. Every lookup is fallible and falls back to a
//! sensible default (a missing width is the font's default width, an unknown code maps to
//! U+FFFD, which `has_usable_text` counts against the page), so no font can stop a page.
//! Base encodings and glyph names come from lopdf's own tables (reached through its public
//! `Encoding` API); `/ToUnicode` CMaps are parsed by `cmap.rs`.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

use super::cmap::ToUnicode;
use super::metrics::Standard;

/// Largest `/ToUnicode` stream decoded (a real one is a few KiB).
const MAX_CMAP_BYTES: usize = 4 << 20;

/// One font, ready to decode strings.
#[derive(Debug)]
pub struct Font {
    /// Composite (Type0) fonts use 2-byte codes.
    two_byte: bool,
    /// Codes are UTF-16 code units themselves (`Uni*-UCS2-*`/`UTF16` CMaps).
    unicode_codes: bool,
    /// Text of each 1-byte code from the font's encoding (simple fonts).
    encoding: Vec<Option<char>>,
    to_unicode: Option<ToUnicode>,
    first_char: u32,
    widths: Vec<f64>,
    /// CID widths from `/W`: `(first, last, width)`, sorted.
    cid_widths: Vec<(u32, u32, f64)>,
    default_width: f64,
    standard: Option<Standard>,
    /// Glyph space → text space (1/1000, or a Type3 font's `/FontMatrix`).
    scale: f64,
}

pub fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    doc.dereference(obj).ok().map(|(_, o)| o)
}

pub fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key).ok().and_then(|o| resolve(doc, o))
}

pub fn num(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

fn get_num(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<f64> {
    get(doc, dict, key).and_then(num).filter(|v| v.is_finite())
}

/// The 256-entry table of a predefined encoding, read once through lopdf.
fn base_table(name: &[u8]) -> &'static [Option<char>] {
    static TABLES: OnceLock<[Vec<Option<char>>; 4]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        [
            &b"StandardEncoding"[..],
            b"WinAnsiEncoding",
            b"MacRomanEncoding",
            b"MacExpertEncoding",
        ]
        .map(|n| {
            let mut d = Dictionary::new();
            d.set("Type", Object::Name(b"Font".to_vec()));
            d.set("Encoding", Object::Name(n.to_vec()));
            let doc = Document::new();
            let enc = d.get_font_encoding(&doc).ok();
            (0u8..=255)
                .map(|b| {
                    enc.as_ref()
                        .and_then(|e| e.bytes_to_string(&[b]).ok())
                        .and_then(|s| s.chars().next())
                })
                .collect()
        })
    });
    let i = match name {
        b"WinAnsiEncoding" => 1,
        b"MacRomanEncoding" => 2,
        b"MacExpertEncoding" => 3,
        _ => 0,
    };
    tables.get(i).map(Vec::as_slice).unwrap_or_default()
}

/// Unicode for a glyph name: `uniXXXX`, `uXXXX[XX]`, or the Adobe Glyph List (lopdf's copy).
pub fn glyph_char(name: &[u8], cache: &mut HashMap<Vec<u8>, Option<char>>) -> Option<char> {
    if let Some(c) = cache.get(name) {
        return *c;
    }
    let hex = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .and_then(char::from_u32)
    };
    let c = match name {
        [b'u', b'n', b'i', rest @ ..] if rest.len() == 4 => hex(rest),
        [b'u', rest @ ..] if (4..=6).contains(&rest.len()) => hex(rest),
        _ => {
            let mut enc = Dictionary::new();
            enc.set("BaseEncoding", Object::Name(b"StandardEncoding".to_vec()));
            enc.set(
                "Differences",
                Object::Array(vec![Object::Integer(0), Object::Name(name.to_vec())]),
            );
            let mut d = Dictionary::new();
            d.set("Type", Object::Name(b"Font".to_vec()));
            d.set("Encoding", Object::Dictionary(enc));
            let doc = Document::new();
            let found = match d.get_font_encoding(&doc) {
                Ok(e @ Encoding::Differences(_)) => e.bytes_to_string(&[0]).ok(),
                _ => None,
            };
            found.and_then(|s| s.chars().next())
        }
    };
    if cache.len() < 4096 {
        cache.insert(name.to_vec(), c);
    }
    c
}

impl Font {
    fn parse(
        doc: &Document,
        dict: &Dictionary,
        names: &mut HashMap<Vec<u8>, Option<char>>,
    ) -> Font {
        let subtype = get(doc, dict, b"Subtype")
            .and_then(|o| o.as_name().ok())
            .unwrap_or_default();
        let base_font = get(doc, dict, b"BaseFont")
            .and_then(|o| o.as_name().ok())
            .unwrap_or_default();
        let to_unicode = get(doc, dict, b"ToUnicode")
            .and_then(|o| o.as_stream().ok())
            .and_then(|s| decompressed(s, MAX_CMAP_BYTES))
            .map(|data| ToUnicode::parse(&data))
            .filter(|m| !m.is_empty());
        let mut font = Font {
            two_byte: false,
            unicode_codes: false,
            encoding: Vec::new(),
            to_unicode,
            first_char: 0,
            widths: Vec::new(),
            cid_widths: Vec::new(),
            default_width: 0.0,
            standard: None,
            scale: 0.001,
        };
        if subtype == b"Type0" {
            font.parse_composite(doc, dict);
        } else {
            font.parse_simple(doc, dict, subtype, base_font, names);
        }
        font
    }

    fn parse_composite(&mut self, doc: &Document, dict: &Dictionary) {
        self.two_byte = true;
        self.default_width = 1000.0;
        if let Some(Object::Name(enc)) = get(doc, dict, b"Encoding") {
            let s = String::from_utf8_lossy(enc);
            self.unicode_codes =
                s.starts_with("Uni") && (s.contains("UCS2") || s.contains("UTF16"));
        }
        let Some(desc) = get(doc, dict, b"DescendantFonts")
            .and_then(|o| o.as_array().ok())
            .and_then(|a| a.first())
            .and_then(|o| resolve(doc, o))
            .and_then(|o| o.as_dict().ok())
        else {
            return;
        };
        if let Some(dw) = get_num(doc, desc, b"DW") {
            self.default_width = dw;
        }
        let Some(w) = get(doc, desc, b"W").and_then(|o| o.as_array().ok()) else {
            return;
        };
        let mut i = 0;
        while let Some(first) = w.get(i).and_then(|o| resolve(doc, o)).and_then(num) {
            let first = first.max(0.0) as u32;
            match w.get(i + 1).and_then(|o| resolve(doc, o)) {
                Some(Object::Array(list)) => {
                    for (k, v) in list.iter().enumerate() {
                        if let Some(v) = resolve(doc, v).and_then(num) {
                            let c = first.saturating_add(k as u32);
                            self.cid_widths.push((c, c, v));
                        }
                    }
                    i += 2;
                }
                Some(last) => {
                    let (Some(last), Some(v)) = (
                        num(last),
                        w.get(i + 2).and_then(|o| resolve(doc, o)).and_then(num),
                    ) else {
                        break;
                    };
                    self.cid_widths.push((first, last.max(0.0) as u32, v));
                    i += 3;
                }
                None => break,
            }
        }
        self.cid_widths.sort_by_key(|r| r.0);
    }

    fn parse_simple(
        &mut self,
        doc: &Document,
        dict: &Dictionary,
        subtype: &[u8],
        base_font: &[u8],
        names: &mut HashMap<Vec<u8>, Option<char>>,
    ) {
        self.standard = Standard::from_base_font(base_font);
        if subtype == b"Type3" {
            if let Some(a) = get(doc, dict, b"FontMatrix")
                .and_then(|o| o.as_array().ok())
                .and_then(|m| m.first())
                .and_then(num)
            {
                self.scale = a;
            }
        }
        let default_base: &[u8] = if subtype == b"TrueType" {
            b"WinAnsiEncoding"
        } else {
            b"StandardEncoding"
        };
        let mut table = base_table(default_base).to_vec();
        match get(doc, dict, b"Encoding") {
            Some(Object::Name(n)) => table = base_table(n).to_vec(),
            Some(Object::Dictionary(e)) => {
                if let Some(Object::Name(n)) = get(doc, e, b"BaseEncoding") {
                    table = base_table(n).to_vec();
                }
                if let Some(diffs) = get(doc, e, b"Differences").and_then(|o| o.as_array().ok()) {
                    let mut code: usize = 0;
                    for d in diffs {
                        match resolve(doc, d) {
                            Some(Object::Integer(i)) => code = (*i).clamp(0, 256) as usize,
                            Some(Object::Name(n)) => {
                                if let Some(slot) = table.get_mut(code) {
                                    *slot = glyph_char(n, names);
                                }
                                code += 1;
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        self.encoding = table;
        self.first_char = get_num(doc, dict, b"FirstChar").unwrap_or(0.0).max(0.0) as u32;
        if let Some(ws) = get(doc, dict, b"Widths").and_then(|o| o.as_array().ok()) {
            self.widths = ws
                .iter()
                .map(|o| resolve(doc, o).and_then(num).unwrap_or(0.0))
                .collect();
        }
        let missing = get(doc, dict, b"FontDescriptor")
            .and_then(|o| o.as_dict().ok())
            .and_then(|fd| get_num(doc, fd, b"MissingWidth"));
        self.default_width = missing.unwrap_or(match self.standard {
            Some(s) => s.width('n'),
            None => 500.0,
        });
    }

    /// Splits a string operand into `(code, byte length)`.
    pub fn codes<'a>(&self, bytes: &'a [u8]) -> impl Iterator<Item = (u32, usize)> + 'a {
        let step = if self.two_byte { 2 } else { 1 };
        bytes.chunks(step).map(|c| {
            let code = c.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
            (code, c.len())
        })
    }

    /// Appends the text of `code` to `out`.
    pub fn decode(&self, code: u32, out: &mut String) {
        if let Some(m) = &self.to_unicode {
            if m.lookup(code, out) {
                return;
            }
        }
        if self.two_byte {
            let c = if self.unicode_codes {
                char::from_u32(code)
            } else {
                None
            };
            out.push(c.unwrap_or('\u{FFFD}'));
            return;
        }
        match self.encoding.get(code as usize).copied().flatten() {
            Some(c) => out.push(c),
            // An unmapped code in a simple font: take it as Latin-1, as most writers meant.
            None => out.push(char::from_u32(code).unwrap_or('\u{FFFD}')),
        }
    }

    /// Advance of `code` in text space per unit of font size; `text` is its decoded text (for
    /// standard-14 widths).
    pub fn width(&self, code: u32, text: &str) -> f64 {
        let w = if self.two_byte {
            let idx = self.cid_widths.partition_point(|r| r.0 <= code);
            idx.checked_sub(1)
                .and_then(|k| self.cid_widths.get(k))
                .filter(|r| code <= r.1)
                .map(|r| r.2)
                .unwrap_or(self.default_width)
        } else if let Some(w) = code
            .checked_sub(self.first_char)
            .and_then(|i| self.widths.get(i as usize))
        {
            *w
        } else if let (Some(s), Some(c)) = (self.standard, text.chars().next()) {
            s.width(c)
        } else {
            self.default_width
        };
        w * self.scale
    }
}

pub fn decompressed(s: &lopdf::Stream, limit: usize) -> Option<Vec<u8>> {
    if s.dict.get(b"Filter").is_ok() {
        s.decompressed_content_with_limit(limit).ok()
    } else {
        // An uncompressed stream is held to the same limit as an inflated one.
        (s.content.len() <= limit).then(|| s.content.clone())
    }
}

/// Fonts of one document, parsed on first use.
#[derive(Default)]
pub struct FontCache {
    by_id: HashMap<ObjectId, Rc<Font>>,
    names: HashMap<Vec<u8>, Option<char>>,
}

impl FontCache {
    /// The font an `/Font` resource entry refers to (parsed once per object id; a font written
    /// inline in the resources is parsed on each use).
    pub fn font(&mut self, doc: &Document, entry: &Object) -> Option<Rc<Font>> {
        let (id, obj) = doc.dereference(entry).ok()?;
        let dict = obj.as_dict().ok()?;
        if let Some(id) = id {
            if let Some(f) = self.by_id.get(&id) {
                return Some(f.clone());
            }
            let f = Rc::new(Font::parse(doc, dict, &mut self.names));
            self.by_id.insert(id, f.clone());
            return Some(f);
        }
        Some(Rc::new(Font::parse(doc, dict, &mut self.names)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_tables_and_glyph_names() {
        assert_eq!(base_table(b"WinAnsiEncoding").get(0x80), Some(&Some('€')));
        assert_eq!(base_table(b"WinAnsiEncoding").get(0xE9), Some(&Some('é')));
        assert_eq!(base_table(b"MacRomanEncoding").get(0x8E), Some(&Some('é')));
        assert_eq!(base_table(b"StandardEncoding").get(0x41), Some(&Some('A')));
        let mut cache = HashMap::new();
        assert_eq!(glyph_char(b"eacute", &mut cache), Some('é'));
        assert_eq!(glyph_char(b"Euro", &mut cache), Some('€'));
        assert_eq!(glyph_char(b"uni20AC", &mut cache), Some('€'));
        assert_eq!(glyph_char(b"g123", &mut cache), None);
    }
}
