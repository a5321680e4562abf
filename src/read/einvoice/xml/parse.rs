//! Events to arena: the one pass that checks the limits and builds a `Tree`.
//!
//! quick-xml reads from the UTF-8-checked body, and every name, attribute value and text it hands
//! out is a slice of that body, so they are taken back with the body's lifetime (`reborrow`)
//! instead of being copied or decoded a second time; only text with entities is unescaped into
//! an owned string.

use std::borrow::Cow;

use quick_xml::escape::unescape;
use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{Node, Tree, XmlError, MAX_BYTES, MAX_DEPTH, NONE};

/// Line and column (1-based) of a byte offset.
fn line_col(bytes: &[u8], pos: usize) -> (usize, usize) {
    let upto = &bytes[..pos.min(bytes.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// The name after the prefix; a plain loop, names being too short for memrchr to pay.
fn local(qname: &str) -> &str {
    match qname.bytes().rposition(|b| b == b':') {
        Some(i) => qname.get(i + 1..).unwrap_or(qname),
        None => qname,
    }
}

/// XML whitespace only (the four characters the XML spec calls white space).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The part of `input` that `piece` is: quick-xml's slice reader hands out slices of its input,
/// and this gives them the input's lifetime back.
fn reborrow<'a>(input: &'a str, piece: &[u8]) -> Option<&'a str> {
    let start = (piece.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    let s = input.get(start..start.checked_add(piece.len())?)?;
    (s.as_ptr() == piece.as_ptr()).then_some(s)
}

/// An open element while parsing: its index, its last child so far, its name as written.
struct Open<'a> {
    idx: u32,
    last_child: u32,
    qname: &'a str,
}

/// Parses `bytes` into a tree, refusing DTDs, oversize, non-UTF-8 and over-deep documents.
pub fn parse(bytes: &[u8]) -> Result<Tree<'_>, XmlError> {
    if bytes.len() > MAX_BYTES {
        return Err(XmlError::TooLarge(bytes.len()));
    }
    let raw = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let offset = bytes.len() - raw.len();
    let body = std::str::from_utf8(raw).map_err(|e| {
        let (line, column) = line_col(bytes, e.valid_up_to() + offset);
        XmlError::NotUtf8 { line, column }
    })?;
    let mut reader = Reader::from_str(body);
    reader.config_mut().check_end_names = true;
    let mut tree = Tree {
        // The corpus averages one element per ~300 bytes (attachments in base64 weigh a lot);
        // an estimate on the low side grows at most a few times and never over-reserves much.
        nodes: Vec::with_capacity(body.len() / 128),
        attrs: Vec::with_capacity(body.len() / 512),
        namespace: None,
    };
    let mut open: Vec<Open<'_>> = Vec::with_capacity(16);
    let mut closed_root = false;
    // Events are reported where they start (`before`), errors where the reader stopped.
    let pos = |p: u64| {
        line_col(
            bytes,
            usize::try_from(p)
                .unwrap_or(usize::MAX)
                .saturating_add(offset),
        )
    };
    let malformed = |pos: (usize, usize), open: &[Open<'_>], message: String| XmlError::Malformed {
        line: pos.0,
        column: pos.1,
        inside: open.last().map(|o| o.qname.to_string()),
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
            Event::Start(e) | Event::Empty(e) if closed_root => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                return Err(malformed(
                    pos(before),
                    &open,
                    format!("a second root element <{name}> after the document's end"),
                ));
            }
            Event::Start(_) | Event::Empty(_) if open.len() >= MAX_DEPTH => {
                let (line, column) = pos(before);
                return Err(XmlError::TooDeep {
                    line,
                    column,
                    inside: open.last().map(|o| o.qname.to_string()).unwrap_or_default(),
                });
            }
            Event::Start(e) => {
                let (idx, qname) = add_element(body, &e, &mut tree, &mut open)
                    .map_err(|m| malformed(pos(before), &open, m))?;
                open.push(Open {
                    idx,
                    last_child: NONE,
                    qname,
                });
            }
            Event::Empty(e) => {
                add_element(body, &e, &mut tree, &mut open)
                    .map_err(|m| malformed(pos(before), &open, m))?;
                closed_root = open.is_empty();
            }
            Event::End(_) => {
                open.pop();
                if open.is_empty() {
                    closed_root = true;
                }
            }
            Event::Text(t) => {
                // The body is already UTF-8: take the text as a slice of it, not through a decoder.
                let raw = reborrow(body, &t).ok_or_else(|| {
                    malformed(pos(before), &open, "text that is not in the input".into())
                })?;
                let s = unescape(raw).map_err(|e| {
                    malformed(
                        pos(before),
                        &open,
                        format!("{e} (only &lt; &gt; &amp; &apos; &quot; and character references are allowed)"),
                    )
                })?;
                add_text(&mut tree, &open, s).map_err(|m| malformed(pos(before), &open, m))?;
            }
            Event::CData(c) => {
                let s = c
                    .decode()
                    .map_err(|e| malformed(pos(before), &open, e.to_string()))?;
                add_text(&mut tree, &open, s).map_err(|m| malformed(pos(before), &open, m))?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if let Some(o) = open.last() {
        let (line, column) = line_col(bytes, bytes.len());
        return Err(XmlError::Malformed {
            line,
            column,
            inside: Some(o.qname.to_string()),
            message: format!("document ends before </{}>", o.qname),
        });
    }
    if tree.nodes.is_empty() {
        return Err(XmlError::NoRoot);
    }
    Ok(tree)
}

/// Appends the element `e` starts under the innermost open element; returns its index and name.
fn add_element<'a>(
    body: &'a str,
    e: &BytesStart<'_>,
    tree: &mut Tree<'a>,
    open: &mut [Open<'a>],
) -> Result<(u32, &'a str), String> {
    let content = reborrow(body, e).ok_or("the parser returned a tag that is not in the input")?;
    let qname = content.get(..e.name().as_ref().len()).unwrap_or(content);
    let idx = u32::try_from(tree.nodes.len())
        .ok()
        .filter(|&i| i != NONE)
        .ok_or("too many elements")?;
    let is_root = open.is_empty();
    let first_attr = tree.attrs.len();
    for attr in Attributes::new(content, qname.len()) {
        let attr = attr.map_err(|err| format!("bad attribute in <{qname}>: {err}"))?;
        let raw = reborrow(content, &attr.value).unwrap_or_default();
        let value =
            unescape(raw).map_err(|err| format!("bad attribute value in <{qname}>: {err}"))?;
        let key = reborrow(content, attr.key.as_ref()).unwrap_or_default();
        if is_root {
            let declares = match qname.split_once(':') {
                Some((prefix, _)) => key.strip_prefix("xmlns:") == Some(prefix),
                None => key == "xmlns",
            };
            if declares {
                tree.namespace = Some(value.clone());
            }
        }
        tree.attrs.push((local(key), value));
    }
    let attrs = (
        u32::try_from(first_attr).map_err(|_| "too many attributes")?,
        u32::try_from(tree.attrs.len()).map_err(|_| "too many attributes")?,
    );
    tree.nodes.push(Node {
        name: local(qname),
        text: Cow::Borrowed(""),
        attrs,
        first_child: NONE,
        next_sibling: NONE,
    });
    if let Some(parent) = open.last_mut() {
        let previous = std::mem::replace(&mut parent.last_child, idx);
        let link = match previous {
            NONE => tree
                .nodes
                .get_mut(parent.idx as usize)
                .map(|p| &mut p.first_child),
            prev => tree
                .nodes
                .get_mut(prev as usize)
                .map(|p| &mut p.next_sibling),
        };
        if let Some(link) = link {
            *link = idx;
        }
    }
    Ok((idx, qname))
}

/// Adds text to the innermost open element. Whitespace-only runs are dropped unless they sit
/// between two runs of text, so an element's trimmed text is exactly what the document says.
fn add_text<'a>(tree: &mut Tree<'a>, open: &[Open<'a>], s: Cow<'a, str>) -> Result<(), String> {
    let blank = is_blank(&s);
    let Some(o) = open.last() else {
        return if blank {
            Ok(())
        } else {
            Err("text outside the root element".into())
        };
    };
    let Some(node) = tree.nodes.get_mut(o.idx as usize) else {
        return Ok(());
    };
    // Text is only ever set from a run that is not blank, so empty means "nothing yet".
    if node.text.is_empty() {
        if !blank {
            node.text = s;
        }
    } else {
        node.text.to_mut().push_str(&s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Element, EMPTY};
    use super::*;

    #[test]
    fn builds_tree_by_local_name() {
        let doc = br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x"><a:B id="1">x &amp; y</a:B><C/></a:Root>"#;
        let tree = parse(doc).unwrap();
        let root = tree.root();
        assert_eq!(root.name(), "Root");
        assert_eq!(tree.namespace(), Some("urn:x"));
        assert_eq!(root.text_at(&["B"]).as_deref(), Some("x & y"));
        assert_eq!(root.path(&["B"]).unwrap().attr("id"), Some("1"));
        assert!(root.child("C").is_some());
        assert_eq!(root.children().count(), 2);
        assert_eq!(EMPTY.children().count(), 0);
        assert_eq!(EMPTY.name(), "");
    }

    #[test]
    fn text_runs_join_and_blank_runs_drop() {
        let doc = b"<r>\n <a> one <![CDATA[<two>]]> three </a>\n <b>\n  <c>x</c>\n </b></r>";
        let tree = parse(doc).unwrap();
        let root = tree.root();
        assert_eq!(root.text_at(&["a"]).as_deref(), Some("one <two> three"));
        assert_eq!(root.child("b").unwrap().trimmed(), None);
        assert_eq!(root.text(), "");
        let mixed = parse(b"<r>a<x/> <y/>b</r>").unwrap();
        assert_eq!(mixed.root().text(), "a b");
    }

    #[test]
    fn siblings_keep_document_order() {
        let tree = parse(b"<r><l n=\"1\"><x/></l><m/><l n=\"2\"/><l n=\"3\">t</l></r>").unwrap();
        let ns: Vec<&str> = tree.root().all("l").filter_map(|l| l.attr("n")).collect();
        assert_eq!(ns, ["1", "2", "3"]);
        assert_eq!(tree.root().first_child().map(Element::name), Some("l"));
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
    fn refuses_non_utf8_with_position() {
        let err = parse(b"<r>\n<n>M\xfcller</n></r>").unwrap_err();
        assert_eq!(err, XmlError::NotUtf8 { line: 2, column: 5 });
    }

    #[test]
    fn reports_where_malformed() {
        let err = parse(b"<r>\n  <a>\n  </b>\n</r>").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("<a>"), "{msg}");
        let err = parse(b"<r><a>").unwrap_err();
        assert!(err.to_string().contains("ends before </a>"), "{err}");
        let err = parse(b"<r/><s/>").unwrap_err();
        assert!(err.to_string().contains("second root"), "{err}");
        assert_eq!(parse(b"  ").unwrap_err(), XmlError::NoRoot);
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
