//! How deep a document nests form XObjects, measured before pdf-extract interprets it.
//!
//! pdf-extract follows `Do` recursively with no depth limit: a form that draws itself recurses
//! until the stack overflows, which aborts the process (no `catch_unwind` catches it). So the
//! fallback path first walks what pdf-extract would walk — each page's content, the `Do` names it
//! draws, each XObject's content with its own `/Resources` or, lacking them, the caller's (as
//! pdf-extract resolves them) — and refuses the document when a chain is deeper than
//! `MAX_FORM_DEPTH` or loops. Each (stream, resources) pair is measured once, so a wide fan-out
//! costs no more than its distinct forms, and content read for the walk counts against
//! `MAX_WALK_BYTES`.

use std::collections::HashMap;

use pdf_extract::{Dictionary, Document, Object, ObjectId, Stream};

use super::interp::MAX_FORM_DEPTH;
use super::lexer::{Lexer, Operand};

/// Content bytes decompressed for the walk, all streams together (the interpreter's own budget).
const MAX_WALK_BYTES: usize = super::interp::MAX_DOC_BYTES;

/// Why pdf-extract must not be given this document, if it must not.
pub fn refuse_deep_forms(doc: &Document) -> Option<String> {
    let mut walk = Walk {
        doc,
        heights: HashMap::new(),
        bytes_left: MAX_WALK_BYTES,
    };
    let empty = Dictionary::new();
    for (number, id) in doc.get_pages() {
        let res = page_resources(doc, id).unwrap_or(&empty);
        let content = doc.get_page_content(id).unwrap_or_default();
        match walk.height(&content, res, 0) {
            Ok(h) if h <= MAX_FORM_DEPTH => {}
            Ok(_) | Err(Deep) => {
                return Some(format!(
                    "page {number} nests form XObjects deeper than {MAX_FORM_DEPTH} levels or in \
                     a loop (a form that draws itself)"
                ))
            }
            Err(TooBig) => {
                return Some(format!(
                    "the PDF's forms add up to more than {} MiB of content",
                    MAX_WALK_BYTES >> 20
                ))
            }
        }
    }
    None
}

/// Why a walk stopped.
enum Stop {
    Deep,
    TooBig,
}
use Stop::{Deep, TooBig};

/// A form (by address) drawn with a resource dictionary (by address): pdf-extract's unit of
/// recursion. Addresses are stable because the document is borrowed for the whole walk.
type Key = (usize, usize);

struct Walk<'a> {
    doc: &'a Document,
    /// `None` while a pair is being measured: meeting it again is a loop.
    heights: HashMap<Key, Option<usize>>,
    bytes_left: usize,
}

impl<'a> Walk<'a> {
    /// Levels of forms below `content` drawn with `res`.
    fn height(&mut self, content: &[u8], res: &'a Dictionary, depth: usize) -> Result<usize, Stop> {
        if depth > MAX_FORM_DEPTH {
            return Err(Deep);
        }
        let mut lexer = Lexer::new(content);
        let mut operands = Vec::new();
        let mut deepest = 0;
        while let Some(op) = lexer.next_op(&mut operands) {
            if op != b"Do" {
                continue;
            }
            let Some(Operand::Name(name)) = operands.first() else {
                continue;
            };
            let Some(form) = xobject(self.doc, res, name) else {
                continue;
            };
            let inner = stream_resources(self.doc, form).unwrap_or(res);
            let key = (
                form as *const Stream as usize,
                inner as *const Dictionary as usize,
            );
            let h = match self.heights.get(&key) {
                Some(Some(h)) => *h,
                Some(None) => return Err(Deep),
                None => {
                    self.heights.insert(key, None);
                    let data = self.content(form)?;
                    let h = self.height(&data, inner, depth + 1)?;
                    self.heights.insert(key, Some(h));
                    h
                }
            };
            deepest = deepest.max(h + 1);
        }
        Ok(deepest)
    }

    /// A stream's content as pdf-extract reads it (decoded when it can be, else raw).
    fn content(&mut self, s: &Stream) -> Result<Vec<u8>, Stop> {
        let data = if s.filters().is_ok() {
            s.decompressed_content()
                .unwrap_or_else(|_| s.content.clone())
        } else {
            s.content.clone()
        };
        self.bytes_left = self.bytes_left.checked_sub(data.len()).ok_or(TooBig)?;
        Ok(data)
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn dict_entry<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    d.get(key).ok().and_then(|o| deref(doc, o))
}

/// The page's `/Resources`, inherited from the page tree as pdf-extract looks them up.
fn page_resources(doc: &Document, id: ObjectId) -> Option<&Dictionary> {
    let mut node = doc.get_dictionary(id).ok()?;
    for _ in 0..32 {
        if let Some(Object::Dictionary(d)) = dict_entry(doc, node, b"Resources") {
            return Some(d);
        }
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn xobject<'a>(doc: &'a Document, res: &'a Dictionary, name: &[u8]) -> Option<&'a Stream> {
    let Object::Dictionary(x) = dict_entry(doc, res, b"XObject")? else {
        return None;
    };
    match dict_entry(doc, x, name)? {
        Object::Stream(s) => Some(s),
        _ => None,
    }
}

fn stream_resources<'a>(doc: &'a Document, s: &'a Stream) -> Option<&'a Dictionary> {
    match dict_entry(doc, &s.dict, b"Resources")? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}
