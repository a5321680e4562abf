//! A small, safe XML tree for e-invoices: quick-xml events folded into one flat arena of elements
//! keyed by local name, borrowing names, attribute values and text from the input.
//!
//! E-invoice XML arrives from strangers, so this is where the attacks stop: a document that declares
//! a DTD is refused outright (no internal subset, so no external entities and no billion laughs),
//! only the five predefined entities and character references are expanded, and size and nesting
//! depth are capped before anything is built. Mappers only need local names (CII, UBL and
//! ZUGFeRD 1.0 never reuse a local name for two meanings on the paths we read), so namespace
//! prefixes are dropped; the root keeps its namespace URI so the format can be recognised.
//!
//! Speed shaped the layout (the XML path is meant to read thousands of documents a second): the
//! input is checked as UTF-8 once, elements live in one `Vec` linked by index (first child, next
//! sibling) instead of a `Vec` of children each, and text and attribute values are slices of the
//! input unless an entity had to be expanded. Whitespace between elements is not kept: the text of
//! an element is only ever read trimmed.

mod parse;

use std::borrow::Cow;

pub use parse::parse;

/// Documents larger than this are refused before parsing (real invoices are well under 1 MiB).
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Deeper nesting than this is refused (CII lines are about 8 levels deep).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("document is {0} bytes; e-invoice XML larger than {MAX_BYTES} bytes is refused")]
    TooLarge(usize),
    #[error("document is not UTF-8 at line {line}, column {column}; e-invoice XML is read as UTF-8 only")]
    NotUtf8 { line: usize, column: usize },
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

/// Index meaning "no such element" in the arena's links.
const NONE: u32 = u32::MAX;

/// One element as stored: links into the arena instead of owned children.
#[derive(Debug)]
struct Node<'a> {
    name: &'a str,
    text: Cow<'a, str>,
    /// Range of this element's attributes in `Tree::attrs`.
    attrs: (u32, u32),
    first_child: u32,
    next_sibling: u32,
}

/// A parsed document: every element in document order, the root first.
#[derive(Debug)]
pub struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    /// Attributes by local name, each element's contiguous.
    attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// Namespace URI of the root element's prefix.
    namespace: Option<Cow<'a, str>>,
}

impl<'a> Tree<'a> {
    /// The root element (a parsed tree always has one).
    pub fn root(&self) -> Element<'_> {
        Element { tree: self, idx: 0 }
    }

    /// Namespace URI of the root element's prefix, if declared on the root.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

static EMPTY_TREE: Tree<'static> = Tree {
    nodes: Vec::new(),
    attrs: Vec::new(),
    namespace: None,
};

/// An element with nothing in it, for walking optional containers without branching.
pub static EMPTY: Element<'static> = Element {
    tree: &EMPTY_TREE,
    idx: 0,
};

/// A handle on one element of a `Tree`; cheap to copy. A handle past the arena (only `EMPTY`)
/// reads as an element with no name, text, attributes or children.
#[derive(Debug, Clone, Copy)]
pub struct Element<'d> {
    tree: &'d Tree<'d>,
    idx: u32,
}

impl<'d> Element<'d> {
    fn node(self) -> Option<&'d Node<'d>> {
        self.tree.nodes.get(self.idx as usize)
    }

    fn at(self, idx: u32) -> Option<Element<'d>> {
        (idx != NONE).then_some(Element {
            tree: self.tree,
            idx,
        })
    }

    /// Local name (namespace prefix dropped).
    pub fn name(self) -> &'d str {
        self.node().map_or("", |n| n.name)
    }

    /// The element's own text, untrimmed (whitespace between child elements is not kept).
    pub fn text(self) -> &'d str {
        self.node().map_or("", |n| &n.text)
    }

    /// Children in document order.
    pub fn children(self) -> Children<'d> {
        Children {
            tree: self.tree,
            next: self.node().map_or(NONE, |n| n.first_child),
        }
    }

    pub fn first_child(self) -> Option<Element<'d>> {
        self.at(self.node()?.first_child)
    }

    /// First child with this local name.
    pub fn child(self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name() == name)
    }

    /// First child whose local name is any of `names` (for names that differ between versions).
    pub fn child_any(self, names: &[&str]) -> Option<Element<'d>> {
        self.children().find(|c| names.contains(&c.name()))
    }

    /// All children with this local name.
    pub fn all<'n>(self, name: &'n str) -> impl Iterator<Item = Element<'d>> + 'n
    where
        'd: 'n,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// Follows a path of local names, taking the first match at each step.
    pub fn path(self, steps: &[&str]) -> Option<Element<'d>> {
        steps.iter().try_fold(self, |el, step| el.child(step))
    }

    /// Trimmed text of the element at `steps`, when present and not empty.
    pub fn text_at(self, steps: &[&str]) -> Option<String> {
        self.path(steps).and_then(Element::value)
    }

    /// Trimmed text, `None` when empty; borrowed, for values that are parsed rather than kept.
    pub fn trimmed(self) -> Option<&'d str> {
        let t = self.text().trim();
        (!t.is_empty()).then_some(t)
    }

    /// Trimmed text as an owned string, `None` when empty.
    pub fn value(self) -> Option<String> {
        self.trimmed().map(str::to_string)
    }

    pub fn attr(self, name: &str) -> Option<&'d str> {
        let (start, end) = self.node()?.attrs;
        self.tree
            .attrs
            .get(start as usize..end as usize)?
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// Iterator over an element's children.
pub struct Children<'d> {
    tree: &'d Tree<'d>,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;
    fn next(&mut self) -> Option<Element<'d>> {
        let idx = self.next;
        let node = self.tree.nodes.get(idx as usize)?;
        self.next = node.next_sibling;
        Some(Element {
            tree: self.tree,
            idx,
        })
    }
}
