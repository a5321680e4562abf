//! A small, safe XML tree for e-invoices: quick-xml events folded into elements keyed by local name.
//!
//! E-invoice XML arrives from strangers, so this is where the attacks stop: a document that declares
//! a DTD is refused outright (no internal subset, so no external entities and no billion laughs),
//! only the five predefined entities and character references are expanded, and size and nesting
//! depth are capped before anything is built. Mappers only need local names (CII, UBL and
//! ZUGFeRD 1.0 never reuse a local name for two meanings on the paths we read), so namespace
//! prefixes are dropped; the root keeps its namespace URI so the format can be recognised.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Documents larger than this are refused before parsing (real invoices are well under 1 MiB).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Deeper nesting than this is refused (CII lines are about 8 levels deep).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("document is {0} bytes; e-invoice XML larger than {MAX_BYTES} bytes is refused")]
    TooLarge(usize),
    #[error("document declares a DTD (<!DOCTYPE> at line {line}, column {column}); e-invoices never need one and DTDs are refused to rule out entity attacks")]
    Dtd { line: usize, column: usize },
    #[error("elements nested deeper than {MAX_DEPTH} levels at line {line}, column {column} (inside <{inside}>)")]
    TooDeep {
        line: usize,
        column: usize,
        inside: String,
    },
    #[error(
        "malformed XML at line {line}, column {column}{}: {message}",
        where_(inside)
    )]
    Malformed {
        line: usize,
        column: usize,
        inside: Option<String>,
        message: String,
    },
    #[error("document has no root element")]
    NoRoot,
}

fn where_(inside: &Option<String>) -> String {
    match inside {
        Some(name) => format!(" (inside <{name}>)"),
        None => String::new(),
    }
}

/// One element: local name, attributes by local name, direct text, children in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// Namespace URI of the element's prefix, resolved only for the root.
    pub namespace: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// First child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// First child whose local name is any of `names` (for names that differ between versions).
    pub fn child_any(&self, names: &[&str]) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| names.contains(&c.name.as_str()))
    }

    /// All children with this local name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follows a path of local names, taking the first match at each step.
    pub fn path(&self, steps: &[&str]) -> Option<&Element> {
        steps.iter().try_fold(self, |el, step| el.child(step))
    }

    /// Trimmed text of the element at `steps`, when present and not empty.
    pub fn text_at(&self, steps: &[&str]) -> Option<String> {
        self.path(steps).and_then(Element::value)
    }

    /// Trimmed text, `None` when empty.
    pub fn value(&self) -> Option<String> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An element with nothing in it, for walking optional containers without branching.
pub static EMPTY: Element = Element {
    name: String::new(),
    namespace: None,
    attrs: Vec::new(),
    text: String::new(),
    children: Vec::new(),
};

/// Line and column (1-based) of a byte offset.
fn line_col(bytes: &[u8], pos: usize) -> (usize, usize) {
    let upto = &bytes[..pos.min(bytes.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

fn qname(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn local(raw: &[u8]) -> String {
    let l = match raw.iter().rposition(|&b| b == b':') {
        Some(i) => &raw[i + 1..],
        None => raw,
    };
    String::from_utf8_lossy(l).into_owned()
}

/// Parses `bytes` into a tree, refusing DTDs, oversize and over-deep documents.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    if bytes.len() > MAX_BYTES {
        return Err(XmlError::TooLarge(bytes.len()));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let offset = bytes.len() - body.len();
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    // Qualified names of the open elements, for error messages; the tree being built beside it.
    let mut open: Vec<String> = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    // Events are reported where they start (`before`), errors where the reader stopped.
    let pos = |p: u64| {
        line_col(
            bytes,
            usize::try_from(p)
                .unwrap_or(usize::MAX)
                .saturating_add(offset),
        )
    };
    let malformed = |pos: (usize, usize), open: &[String], message: String| XmlError::Malformed {
        line: pos.0,
        column: pos.1,
        inside: open.last().cloned(),
        message,
    };
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| malformed(pos(reader.error_position()), &open, e.to_string()))?;
        match event {
            Event::DocType(_) => {
                let (line, column) = pos(before);
                return Err(XmlError::Dtd { line, column });
            }
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                return Err(malformed(
                    pos(before),
                    &open,
                    format!(
                        "a second root element <{}> after the document's end",
                        qname(&e)
                    ),
                ));
            }
            Event::Start(_) | Event::Empty(_) if stack.len() >= MAX_DEPTH => {
                let (line, column) = pos(before);
                return Err(XmlError::TooDeep {
                    line,
                    column,
                    inside: open.last().cloned().unwrap_or_default(),
                });
            }
            Event::Start(e) => {
                let el = start_element(&e, stack.is_empty())
                    .map_err(|m| malformed(pos(before), &open, m))?;
                open.push(qname(&e));
                stack.push(el);
            }
            Event::Empty(e) => {
                let el = start_element(&e, stack.is_empty())
                    .map_err(|m| malformed(pos(before), &open, m))?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                open.pop();
                if let Some(el) = stack.pop() {
                    close(el, &mut stack, &mut root);
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| {
                    malformed(
                        pos(before),
                        &open,
                        format!("{e} (only &lt; &gt; &amp; &apos; &quot; and character references are allowed)"),
                    )
                })?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(malformed(
                            pos(before),
                            &open,
                            "text outside the root element".into(),
                        ))
                    }
                }
            }
            Event::CData(c) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if let Some(name) = open.last() {
        let (line, column) = line_col(bytes, bytes.len());
        return Err(XmlError::Malformed {
            line,
            column,
            inside: Some(name.clone()),
            message: format!("document ends before </{name}>"),
        });
    }
    root.ok_or(XmlError::NoRoot)
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn start_element(e: &BytesStart<'_>, is_root: bool) -> Result<Element, String> {
    let name = local(e.name().as_ref());
    let prefix = e.name().prefix().map(|p| p.as_ref().to_vec());
    let mut el = Element {
        name,
        ..Element::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute in <{}>: {err}", qname(e)))?;
        let value = attr
            .unescape_value()
            .map_err(|err| format!("bad attribute value in <{}>: {err}", qname(e)))?
            .into_owned();
        let key = attr.key.as_ref();
        if is_root {
            let ns_key: &[u8] = match &prefix {
                Some(p) => &[b"xmlns:", p.as_slice()].concat(),
                None => b"xmlns",
            };
            if key == ns_key {
                el.namespace = Some(value.clone());
            }
        }
        el.attrs.push((local(key), value));
    }
    Ok(el)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tree_by_local_name() {
        let doc = br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x"><a:B id="1">x &amp; y</a:B><C/></a:Root>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.namespace.as_deref(), Some("urn:x"));
        assert_eq!(root.text_at(&["B"]).as_deref(), Some("x & y"));
        assert_eq!(root.path(&["B"]).unwrap().attr("id"), Some("1"));
        assert!(root.child("C").is_some());
    }

    #[test]
    fn refuses_dtd_and_unknown_entities() {
        let xxe = b"<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<r>&x;</r>";
        assert!(matches!(parse(xxe), Err(XmlError::Dtd { line: 2, .. })));
        let undeclared = b"<r><s>&x;</s></r>";
        let err = parse(undeclared).unwrap_err();
        assert!(
            matches!(&err, XmlError::Malformed { inside: Some(n), .. } if n == "s"),
            "{err}"
        );
    }

    #[test]
    fn reports_where_malformed() {
        let err = parse(b"<r>\n  <a>\n  </b>\n</r>").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("<a>"), "{msg}");
        let err = parse(b"<r><a>").unwrap_err();
        assert!(err.to_string().contains("ends before </a>"), "{err}");
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(XmlError::TooDeep { .. })
        ));
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
    }
}
