//! Our own text-layer interpreter on lopdf: content-stream text operators → positioned glyphs →
//! the `WordCollector`'s words (PDF 32000-1 §8.4, §9.3–9.4).
//!
//! It replaces pdf-extract on the hot path (pdf-extract re-parses every font on every page and
//! panics or balloons on hostile files). Constraints: no panic on any input (every lookup is
//! fallible), bounded work (operations per page and per document, form nesting, content bytes
//! per stream and per document, compressed or not), fonts parsed once per document
//! (`FontCache`). Only what text extraction needs is interpreted: text state and positioning,
//! the CTM through `q`/`Q`/`cm`, and form XObjects.
//!
//! Going over a per-page or per-stream limit cuts that page or skips that stream (the page may
//! then be OCRed); going over a per-document budget refuses the document (`InterpError::Limit`),
//! because every page after it would be cut too and a document that big is hostile, not an
//! invoice.

use std::rc::Rc;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use super::budget::Budget;
use super::fonts::{decompressed, get, num, resolve, Font, FontCache};
use super::glyphs::WordCollector;
use super::lexer::{Lexer, Operand};
use super::space::{mul, translate, Matrix, PageFrame, IDENTITY};
use crate::read::layout::Page;

/// Largest decompressed stream (content, form or object stream); an uncompressed one too.
pub const MAX_STREAM_BYTES: usize = 64 << 20;
/// Content bytes interpreted per document, all pages and every form invocation together,
/// whether the streams were compressed or not.
pub const MAX_DOC_BYTES: usize = 256 << 20;
/// Operations interpreted per page (forms included); the rest of the page is skipped.
pub const MAX_OPS: usize = 2_000_000;
/// Operations interpreted per document, all pages together (a dense invoice page has a few
/// thousand; this is five pages at the per-page limit).
pub const MAX_DOC_OPS: usize = 10_000_000;
/// Form XObjects nested deeper than this are skipped (and refused in the pdf-extract fallback).
pub const MAX_FORM_DEPTH: usize = 8;
/// `q` without `Q` beyond this depth is ignored.
const MAX_STACK: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("cannot parse the PDF structure: {0}")]
    Load(String),
    #[error("the PDF is encrypted and cannot be opened without a password")]
    Encrypted,
    #[error("the PDF has no pages")]
    NoPages,
    #[error("{0}")]
    Limit(String),
}

/// Graphics state that matters to text (`q`/`Q` save and restore all of it).
#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    h_scale: f64,
    leading: f64,
    rise: f64,
}

struct Interp<'a> {
    doc: &'a Document,
    fonts: &'a mut FontCache,
    out: WordCollector,
    frame: PageFrame,
    ops: usize,
    budget: &'a mut Budget,
    text: String,
}

/// Reads every page's words with our interpreter.
pub fn text_pages(bytes: &[u8]) -> Result<Vec<Page>, InterpError> {
    let opts = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, opts)
        .map_err(|e| InterpError::Load(e.to_string()))?;
    if doc.is_encrypted() {
        return Err(InterpError::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(InterpError::NoPages);
    }
    let mut fonts = FontCache::default();
    let mut budget = Budget::new();
    let mut out = Vec::with_capacity(pages.len());
    for (&n, &id) in &pages {
        out.push(page(&doc, n, id, &mut fonts, &mut budget));
        if let Some(why) = budget.exceeded.take() {
            return Err(InterpError::Limit(why));
        }
    }
    Ok(out)
}

fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..32 {
        if let Some(v) = get(doc, node, key) {
            return Some(v);
        }
        node = get(doc, node, b"Parent")?.as_dict().ok()?;
    }
    None
}

fn rect(o: Option<&Object>, doc: &Document) -> Option<[f64; 4]> {
    let a = o?.as_array().ok()?;
    let v: Vec<f64> = a
        .iter()
        .filter_map(|x| resolve(doc, x).and_then(num))
        .collect();
    match v.as_slice() {
        [x0, y0, x1, y1]
            if [x0, y0, x1, y1].iter().all(|v| v.is_finite()) && x0 != x1 && y0 != y1 =>
        {
            Some([x0.min(*x1), y0.min(*y1), x0.max(*x1), y0.max(*y1)])
        }
        _ => None,
    }
}

fn page(
    doc: &Document,
    number: u32,
    id: ObjectId,
    fonts: &mut FontCache,
    budget: &mut Budget,
) -> Page {
    let mut out = WordCollector::new(number);
    let Ok(dict) = doc.get_dictionary(id) else {
        return out.empty_page();
    };
    let media = rect(inherited(doc, dict, b"MediaBox"), doc).unwrap_or([0.0, 0.0, 595.0, 842.0]);
    let crop = rect(inherited(doc, dict, b"CropBox"), doc).unwrap_or(media);
    let rotate = inherited(doc, dict, b"Rotate")
        .and_then(num)
        .map(|r| (r as i64).rem_euclid(360))
        .unwrap_or(0);
    let frame = PageFrame {
        llx: crop[0],
        lly: crop[1],
        urx: crop[2],
        ury: crop[3],
        rotate,
    };
    let (w, h) = frame.size();
    out.set_size(w, h);
    let Ok(content) = doc.get_page_content_with_limit(id, MAX_STREAM_BYTES) else {
        return out.empty_page();
    };
    if !budget.bytes(content.len()) {
        return out.empty_page();
    }
    let resources = page_resources(doc, id);
    let mut it = Interp {
        doc,
        fonts,
        out,
        frame,
        ops: 0,
        budget,
        text: String::new(),
    };
    let state = State {
        ctm: IDENTITY,
        font: None,
        size: 0.0,
        char_spacing: 0.0,
        word_spacing: 0.0,
        h_scale: 1.0,
        leading: 0.0,
        rise: 0.0,
    };
    it.run(&content, &resources, state, 0);
    it.out.finish()
}

/// The page's resource dictionaries, nearest first (inline, then referenced, up the tree).
fn page_resources(doc: &Document, id: ObjectId) -> Vec<&Dictionary> {
    let Ok((inline, ids)) = doc.get_page_resources(id) else {
        return Vec::new();
    };
    inline
        .into_iter()
        .chain(ids.into_iter().filter_map(|i| doc.get_dictionary(i).ok()))
        .collect()
}

/// The entry `name` of resource category `cat` (`/Font`, `/XObject`).
fn resource<'a>(
    doc: &'a Document,
    res: &[&'a Dictionary],
    cat: &[u8],
    name: &[u8],
) -> Option<&'a Object> {
    res.iter().find_map(|r| {
        let d = get(doc, r, cat)?.as_dict().ok()?;
        d.get(name).ok()
    })
}

fn operand(ops: &[Operand], i: usize) -> f64 {
    ops.get(i).and_then(Operand::num).unwrap_or(0.0)
}

fn matrix(ops: &[Operand]) -> Option<Matrix> {
    if ops.len() < 6 {
        return None;
    }
    Some([0, 1, 2, 3, 4, 5].map(|i| operand(ops, i)))
}

/// A `/Matrix` array of a form XObject.
fn object_matrix(doc: &Document, a: &[Object]) -> Option<Matrix> {
    let v: Vec<f64> = a
        .iter()
        .filter_map(|o| resolve(doc, o).and_then(num))
        .filter(|v| v.is_finite())
        .collect();
    match v.as_slice() {
        [a, b, c, d, e, f] => Some([*a, *b, *c, *d, *e, *f]),
        _ => None,
    }
}

impl Interp<'_> {
    fn run(&mut self, content: &[u8], res: &[&Dictionary], mut gs: State, depth: usize) {
        let mut lexer = Lexer::new(content);
        let mut operands = Vec::new();
        let mut stack: Vec<State> = Vec::new();
        let mut tm = IDENTITY;
        let mut tlm = IDENTITY;
        while let Some(op) = lexer.next_op(&mut operands) {
            self.ops += 1;
            if self.ops > MAX_OPS || !self.budget.op() {
                return;
            }
            let o = operands.as_slice();
            match op {
                b"q" if stack.len() < MAX_STACK => stack.push(gs.clone()),
                b"Q" => {
                    if let Some(s) = stack.pop() {
                        gs = s;
                    }
                }
                b"cm" => {
                    if let Some(m) = matrix(o) {
                        gs.ctm = mul(&m, &gs.ctm);
                    }
                }
                b"BT" => {
                    tm = IDENTITY;
                    tlm = IDENTITY;
                }
                b"Tf" => {
                    gs.size = operand(o, 1);
                    gs.font = match o.first() {
                        Some(Operand::Name(n)) => Some(*n),
                        _ => None,
                    }
                    .and_then(|n| resource(self.doc, res, b"Font", n))
                    .and_then(|f| self.fonts.font(self.doc, f));
                }
                b"Tc" => gs.char_spacing = operand(o, 0),
                b"Tw" => gs.word_spacing = operand(o, 0),
                b"Tz" => gs.h_scale = operand(o, 0) / 100.0,
                b"TL" => gs.leading = operand(o, 0),
                b"Ts" => gs.rise = operand(o, 0),
                b"Td" | b"TD" => {
                    let (tx, ty) = (operand(o, 0), operand(o, 1));
                    if op == b"TD" {
                        gs.leading = -ty;
                    }
                    tlm = translate(tx, ty, &tlm);
                    tm = tlm;
                }
                b"Tm" => {
                    if let Some(m) = matrix(o) {
                        tlm = m;
                        tm = m;
                    }
                }
                b"T*" => {
                    tlm = translate(0.0, -gs.leading, &tlm);
                    tm = tlm;
                }
                b"Tj" => {
                    if let Some(Operand::Str(s)) = o.first() {
                        self.show(&gs, &mut tm, s);
                    }
                }
                b"'" | b"\"" => {
                    if op == b"\"" {
                        gs.word_spacing = operand(o, 0);
                        gs.char_spacing = operand(o, 1);
                    }
                    tlm = translate(0.0, -gs.leading, &tlm);
                    tm = tlm;
                    if let Some(Operand::Str(s)) = o.last() {
                        self.show(&gs, &mut tm, s);
                    }
                }
                b"TJ" => {
                    let Some(Operand::Array(items)) = o.first() else {
                        continue;
                    };
                    for item in items {
                        match item {
                            Operand::Str(s) => self.show(&gs, &mut tm, s),
                            other => {
                                if let Some(adj) = other.num() {
                                    let tx = -adj / 1000.0 * gs.size * gs.h_scale;
                                    tm = translate(tx, 0.0, &tm);
                                }
                            }
                        }
                    }
                }
                b"Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(Operand::Name(name)) = o.first() {
                        self.form(res, name, &gs, depth);
                    }
                }
                _ => {}
            }
        }
    }

    /// Interprets form XObject `name` with its own resources and matrix.
    fn form(&mut self, res: &[&Dictionary], name: &[u8], gs: &State, depth: usize) {
        let doc = self.doc;
        let Some(stream) = resource(doc, res, b"XObject", name)
            .and_then(|o| resolve(doc, o))
            .and_then(|o| o.as_stream().ok())
        else {
            return;
        };
        if get(doc, &stream.dict, b"Subtype").and_then(|o| o.as_name().ok()) != Some(b"Form") {
            return;
        }
        let Some(data) = decompressed(stream, MAX_STREAM_BYTES) else {
            return;
        };
        if !self.budget.bytes(data.len()) {
            return;
        }
        let own = get(doc, &stream.dict, b"Resources").and_then(|o| o.as_dict().ok());
        let res: Vec<&Dictionary> = match own {
            Some(d) => std::iter::once(d).chain(res.iter().copied()).collect(),
            None => res.to_vec(),
        };
        let mut inner = gs.clone();
        if let Some(m) = get(doc, &stream.dict, b"Matrix")
            .and_then(|o| o.as_array().ok())
            .and_then(|a| object_matrix(doc, a))
        {
            inner.ctm = mul(&m, &gs.ctm);
        }
        self.run(&data, &res, inner, depth + 1);
    }

    /// Shows one string: each code becomes a glyph at the current text position, which then
    /// advances by the glyph's width and the character/word spacing.
    fn show(&mut self, gs: &State, tm: &mut Matrix, s: &[u8]) {
        let Some(font) = gs.font.clone() else {
            return;
        };
        for (code, len) in font.codes(s) {
            self.text.clear();
            font.decode(code, &mut self.text);
            let w0 = font.width(code, &self.text);
            let trm = mul(
                &mul(&[gs.h_scale, 0.0, 0.0, 1.0, 0.0, gs.rise], tm),
                &gs.ctm,
            );
            let sx = (trm[0] * trm[0] + trm[1] * trm[1]).sqrt();
            let sy = (trm[2] * trm[2] + trm[3] * trm[3]).sqrt();
            let (x, y) = self.frame.map(trm[4], trm[5]);
            self.out
                .push_glyph(&self.text, x, y, w0 * gs.size * sx, gs.size * sy);
            let mut spacing = gs.char_spacing;
            if code == 32 && len == 1 {
                spacing += gs.word_spacing;
            }
            let tx = (w0 * gs.size + spacing) * gs.h_scale;
            *tm = translate(tx, 0.0, tm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_pdfs() -> Vec<Vec<u8>> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
        let mut out = Vec::new();
        for dir in ["invoice2data", "mustang", "horstoeko-zugferd"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths
                .iter()
                .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
                .take(4)
            {
                if let Ok(b) = std::fs::read(p) {
                    out.push(b);
                }
            }
        }
        out
    }

    #[test]
    fn corrupted_pdfs_never_panic() {
        let files = corpus_pdfs();
        assert!(files.len() >= 8, "corpus not found");
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let (mut runs, mut read) = (0, 0);
        for bytes in &files {
            for cut in [bytes.len() / 3, 2 * bytes.len() / 3] {
                runs += 1;
                read += usize::from(text_pages(bytes.get(..cut).unwrap_or_default()).is_ok());
            }
            for _ in 0..12 {
                let mut b = bytes.clone();
                for _ in 0..40 {
                    let i = next() % b.len().max(1);
                    if let Some(x) = b.get_mut(i) {
                        *x = (next() & 0xFF) as u8;
                    }
                }
                runs += 1;
                read += usize::from(text_pages(&b).is_ok());
            }
        }
        // Reaching here means no panic; most mutated files still open.
        assert!(read > 0 && runs > 0, "{read}/{runs}");
    }

    /// A one-page PDF whose content stream is `content`, Flate-compressed.
    fn compressed_pdf(content: Vec<u8>) -> Vec<u8> {
        use lopdf::{dictionary, Stream};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let mut stream = Stream::new(dictionary! {}, content);
        stream.compress().expect("deflate");
        let content_id = doc.add_object(stream);
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content_id,
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => vec![page_id.into()],
                "Count" => 1,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("save");
        out
    }

    #[test]
    fn a_flate_bomb_is_cut_at_the_stream_limit() {
        // 80 MiB of spaces compress to ~80 KiB; inflating them is refused past 64 MiB.
        let bomb = compressed_pdf(vec![b' '; 80 << 20]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let pages = text_pages(&bomb).expect("the document itself opens");
        assert_eq!(pages.len(), 1);
        assert!(pages[0].words.is_empty());
        // The same page under the limit is read.
        let small = compressed_pdf(b"BT 10 800 Td (x) Tj ET".to_vec());
        assert_eq!(text_pages(&small).expect("opens").len(), 1);
    }
}
