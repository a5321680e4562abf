//! Where every key of a TOML file is, from `toml::Spanned`: checks made after parsing (a bad regex,
//! an `http://` token URL, a threshold outside 0–1) name the key by its path (`source.1.folder.0.
//! subject`) and get the exact line and column, even when the same key text appears earlier in the
//! file. Nothing here searches text.

use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(k: &'a str) -> Self {
        Step::Key(k)
    }
}

impl From<usize> for Step<'_> {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// A parsed file as a tree of spans: tables, arrays, and leaves (whose values are not kept).
#[derive(Debug, Default)]
pub struct SpanTree {
    root: Table,
}

/// Each key with where the key itself is written, and its value.
type Table = BTreeMap<Spanned<String>, Spanned<Node>>;

#[derive(Debug)]
enum Node {
    Table(Table),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

impl SpanTree {
    /// The tree of `text`; an empty tree when it does not parse (the parse errors are reported
    /// elsewhere, with their own positions).
    pub fn parse(text: &str) -> SpanTree {
        let root = toml::from_str::<Table>(text).unwrap_or_default();
        SpanTree { root }
    }

    /// The byte range of the key at `path` (of the element, for an index), or of its nearest
    /// ancestor that exists.
    pub fn span(&self, path: &[Step<'_>]) -> Option<std::ops::Range<usize>> {
        let Some((Step::Key(first), rest)) = path.split_first() else {
            return None;
        };
        let (key, mut node) = self.root.get_key_value(*first)?;
        let mut span = key.span();
        for step in rest {
            match (node.get_ref(), step) {
                (Node::Table(t), Step::Key(k)) => match t.get_key_value(*k) {
                    Some((key, value)) => {
                        span = key.span();
                        node = value;
                    }
                    None => break,
                },
                (Node::Array(a), Step::Index(i)) => match a.get(*i) {
                    Some(value) => {
                        span = value.span();
                        node = value;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        Some(span)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

macro_rules! leaf {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $t) -> Result<Node, E> {
            Ok(Node::Leaf)
        })*
    };
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    leaf!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut t = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<Spanned<String>, Spanned<Node>>()? {
            t.insert(k, v);
        }
        Ok(Node::Table(t))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut a = Vec::new();
        while let Some(v) = seq.next_element::<Spanned<Node>>()? {
            a.push(v);
        }
        Ok(Node::Array(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostics::line_col;

    #[test]
    fn finds_the_key_of_the_second_table_not_the_first() {
        let text = "[[source]]\nname = \"a\"\nsubject = \"x\"\n[[source]]\nname = \"b\"\n  subject = \"(\"\n";
        let tree = SpanTree::parse(text);
        let span = tree
            .span(&["source".into(), 1.into(), "subject".into()])
            .unwrap();
        assert_eq!(line_col(text, span.start), (6, 3));
        // A missing key falls back to its table.
        let span = tree
            .span(&["source".into(), 1.into(), "user".into()])
            .unwrap();
        assert_eq!(line_col(text, span.start).0, 4);
    }
}
