//! A content-stream lexer for the text interpreter (PDF 32000-1 §7.2–7.3, §7.8.2).
//!
//! lopdf's `Content::decode` builds an owned `Object` for every operand and a `String` for every
//! operator, which made content parsing the largest cost of reading a page. This lexer borrows
//! from the stream instead: operands are numbers, names and strings as slices (a literal string
//! is only copied when it holds escapes), and only `TJ` arrays allocate. Dictionaries (marked
//! content properties) and inline images are skipped. Malformed input never fails: an unknown
//! byte is skipped and an unterminated item ends the stream.

use std::borrow::Cow;

/// One operand of a content-stream operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<'a> {
    Num(f64),
    Name(&'a [u8]),
    Str(Cow<'a, [u8]>),
    Array(Vec<Operand<'a>>),
    /// Anything the text interpreter has no use for (dictionaries, booleans, null).
    Other,
}

impl Operand<'_> {
    pub fn num(&self) -> Option<f64> {
        match self {
            Operand::Num(v) if v.is_finite() => Some(*v),
            _ => None,
        }
    }
}

/// Items longer than this inside an array are a broken stream; the array is cut there.
const MAX_ARRAY: usize = 1 << 16;

pub struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// What the lexer found next.
enum Item<'a> {
    Operand(Operand<'a>),
    Operator(&'a [u8]),
    ArrayEnd,
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Lexer { data, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|c| c != b'\n' && c != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn regular(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_white(b) && !is_delim(b)) {
            self.pos += 1;
        }
        self.data.get(start..self.pos).unwrap_or_default()
    }

    /// Reads the operands before the next operator into `operands`; returns the operator, or
    /// `None` at the end of the stream.
    pub fn next_op(&mut self, operands: &mut Vec<Operand<'a>>) -> Option<&'a [u8]> {
        operands.clear();
        loop {
            match self.item(0)? {
                Item::Operand(o) => {
                    if operands.len() < 64 {
                        operands.push(o);
                    }
                }
                Item::Operator(b"BI") => self.skip_inline_image(),
                Item::Operator(op) => return Some(op),
                Item::ArrayEnd => {}
            }
        }
    }

    fn item(&mut self, depth: usize) -> Option<Item<'a>> {
        self.skip_space();
        let b = self.peek()?;
        Some(match b {
            b'/' => {
                self.pos += 1;
                Item::Operand(Operand::Name(self.regular()))
            }
            b'(' => Item::Operand(Operand::Str(self.literal())),
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.skip_dict();
                Item::Operand(Operand::Other)
            }
            b'<' => Item::Operand(Operand::Str(Cow::Owned(self.hex()))),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                // Nesting deeper than 8 is garbage: the array is read as empty.
                if depth < 8 {
                    loop {
                        match self.item(depth + 1) {
                            Some(Item::Operand(o)) if items.len() < MAX_ARRAY => items.push(o),
                            Some(Item::Operand(_) | Item::Operator(_)) => {}
                            Some(Item::ArrayEnd) | None => break,
                        }
                    }
                }
                Item::Operand(Operand::Array(items))
            }
            b']' => {
                self.pos += 1;
                Item::ArrayEnd
            }
            b'{' | b'}' | b')' | b'>' => {
                self.pos += 1;
                Item::Operand(Operand::Other)
            }
            _ => {
                let word = self.regular();
                if word.is_empty() {
                    self.pos += 1;
                    return Some(Item::Operand(Operand::Other));
                }
                match word.first() {
                    Some(b'0'..=b'9' | b'+' | b'-' | b'.') => Item::Operand(
                        std::str::from_utf8(word)
                            .ok()
                            .and_then(|s| s.parse::<f64>().ok())
                            .map_or(Operand::Other, Operand::Num),
                    ),
                    _ if matches!(word, b"true" | b"false" | b"null") => {
                        Item::Operand(Operand::Other)
                    }
                    _ => Item::Operator(word),
                }
            }
        })
    }

    /// A literal string, `(` at `pos`; borrowed when it has no escapes.
    fn literal(&mut self) -> Cow<'a, [u8]> {
        self.pos += 1;
        let start = self.pos;
        let mut depth = 1usize;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => {
                    escaped = true;
                    self.pos += 2;
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.data.len());
        self.pos = end + 1;
        let raw = self.data.get(start..end).unwrap_or_default();
        if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }

    fn hex(&mut self) -> Vec<u8> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => continue,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    fn skip_dict(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                    depth += 1;
                    self.pos += 2;
                }
                b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                b'(' => {
                    let _ = self.literal();
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Skips `... ID <data> EI` after `BI`.
    fn skip_inline_image(&mut self) {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let Some(id) = rest.windows(2).position(|w| w == b"ID") else {
            self.pos = self.data.len();
            return;
        };
        let mut i = id + 2;
        while let Some(w) = rest.get(i..i + 3) {
            if is_white(w[0])
                && &w[1..] == b"EI"
                && rest.get(i + 3).is_none_or(|&b| is_white(b) || is_delim(b))
            {
                self.pos += i + 3;
                return;
            }
            i += 1;
        }
        self.pos = self.data.len();
    }
}

fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = raw.get(i) else { break };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'\r' => {
                if raw.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => {}
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xFF) as u8);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(data: &[u8]) -> Vec<(String, Vec<Operand<'_>>)> {
        let mut lx = Lexer::new(data);
        let mut operands = Vec::new();
        let mut out = Vec::new();
        while let Some(op) = lx.next_op(&mut operands) {
            out.push((String::from_utf8_lossy(op).into_owned(), operands.clone()));
        }
        out
    }

    #[test]
    fn operators_and_operands() {
        let got = ops(
            b"BT /F1 12 Tf 1 0 0 1 -56.5 .5 Tm (a\\(b\\) \\101\\nc) Tj [(x) -250 <0041 42>] TJ ET",
        );
        let names: Vec<_> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(names, ["BT", "Tf", "Tm", "Tj", "TJ", "ET"]);
        assert_eq!(got[1].1, vec![Operand::Name(b"F1"), Operand::Num(12.0)]);
        assert_eq!(got[2].1.get(4), Some(&Operand::Num(-56.5)));
        assert_eq!(
            got[3].1,
            vec![Operand::Str(Cow::Borrowed(&b"a(b) A\nc"[..]))]
        );
        assert_eq!(
            got[4].1,
            vec![Operand::Array(vec![
                Operand::Str(Cow::Borrowed(&b"x"[..])),
                Operand::Num(-250.0),
                Operand::Str(Cow::Borrowed(&b"\x00\x41\x42"[..])),
            ])]
        );
    }

    #[test]
    fn dictionaries_inline_images_and_garbage_are_skipped() {
        let got = ops(b"/P <</MCID 0 /A (x>>)>> BDC BI /W 2 /H 1 ID \x00EI\xff EI Q (unterminated");
        let names: Vec<_> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(names, ["BDC", "Q"]);
        for junk in [
            &b"[[[[[[[[[[[[[[["[..],
            b"<<<<",
            b"(\\",
            b"<4",
            b"]]]) >> }",
        ] {
            let _ = ops(junk);
        }
    }
}
