//! Where every key of a TOML file is, from `toml::Spanned`: checks made after parsing (a bad regex,
//! an `http://` token URL, a threshold outside 0–1) name the key by its path (`source.1.folder.0.
//! subject`) and get the exact line and column, even when the same key text appears earlier in the
//! file. Nothing here searches text.

use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::ops::Range;

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
type Table = BTreeMap<Key, Val>;

/// A key and where it is written.
#[derive(Debug)]
struct Key {
    span: Option<Range<usize>>,
    name: String,
}

/// A value and where it is written. An implicit table (`approval` in `[[approval.rule]]`) has no
/// span of its own: `toml::Spanned` refuses it, which is why these are not `Spanned`.
#[derive(Debug)]
struct Val {
    span: Option<Range<usize>>,
    node: Node,
}

#[derive(Debug)]
enum Node {
    Table(Table),
    Array(Vec<Val>),
    Leaf,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(&other.name)
    }
}
impl std::borrow::Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.name
    }
}

impl SpanTree {
    /// The tree of `text`; an empty tree when it does not parse (the parse errors are reported
    /// elsewhere, with their own positions).
    pub fn parse(text: &str) -> SpanTree {
        let root = toml::from_str::<Table>(text).unwrap_or_default();
        SpanTree { root }
    }

    /// The byte range of the key at `path` (of the element, for an index), or of its nearest
    /// ancestor that has one.
    pub fn span(&self, path: &[Step<'_>]) -> Option<std::ops::Range<usize>> {
        let Some((Step::Key(first), rest)) = path.split_first() else {
            return None;
        };
        let (key, mut node) = self.root.get_key_value(*first)?;
        let mut span = key.span.clone();
        for step in rest {
            let next = match (&node.node, step) {
                (Node::Table(t), Step::Key(k)) => {
                    t.get_key_value(*k).map(|(k, v)| (k.span.clone(), v))
                }
                (Node::Array(a), Step::Index(i)) => a.get(*i).map(|v| (v.span.clone(), v)),
                _ => None,
            };
            let Some((found, value)) = next else { break };
            span = found.or(span);
            node = value;
        }
        span
    }
}

// The names `toml` uses to hand a span to `Spanned` (serde_spanned's protocol).
const SPANNED: &str = "$__serde_spanned_private_Spanned";
const START: &str = "$__serde_spanned_private_start";
const END: &str = "$__serde_spanned_private_end";
const VALUE: &str = "$__serde_spanned_private_value";
const FIELDS: &[&str] = &[START, END, VALUE];

/// Reads `start`, `end` and the value of a span hand-over whose first key was just read.
fn spanned<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    mut map: A,
) -> Result<(Range<usize>, T), A::Error> {
    let start: usize = map.next_value()?;
    let _end_key: Key = map
        .next_key()?
        .ok_or_else(|| de::Error::missing_field(END))?;
    let end: usize = map.next_value()?;
    let _value_key: Key = map
        .next_key()?
        .ok_or_else(|| de::Error::missing_field(VALUE))?;
    Ok((start..end, map.next_value()?))
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED, FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TOML key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key {
            span: None,
            name: v.to_string(),
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        let _start_key: Key = map
            .next_key()?
            .ok_or_else(|| de::Error::missing_field(START))?;
        let (span, name) = spanned::<A, String>(map)?;
        Ok(Key {
            span: Some(span),
            name,
        })
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED, FIELDS, ValVisitor)
    }
}

struct ValVisitor;

macro_rules! leaf {
    ($out:expr; $($name:ident: $t:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Ok($out)
        })*
    };
}

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    leaf!(Val { span: None, node: Node::Leaf }; visit_bool: bool, visit_i64: i64, visit_u64: u64,
          visit_f64: f64, visit_str: &str);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let Some(first) = map.next_key::<Key>()? else {
            return Ok(Val {
                span: None,
                node: Node::Table(Table::new()),
            });
        };
        if first.span.is_none() && first.name == START {
            let (span, node) = spanned::<A, Node>(map)?;
            return Ok(Val {
                span: Some(span),
                node,
            });
        }
        // A table without a span of its own.
        let mut t = Table::new();
        t.insert(first, map.next_value()?);
        while let Some((k, v)) = map.next_entry::<Key, Val>()? {
            t.insert(k, v);
        }
        Ok(Val {
            span: None,
            node: Node::Table(t),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Val, A::Error> {
        Ok(Val {
            span: None,
            node: NodeVisitor.visit_seq(seq)?,
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    leaf!(Node::Leaf; visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64,
          visit_str: &str);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut t = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<Key, Val>()? {
            t.insert(k, v);
        }
        Ok(Node::Table(t))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut a = Vec::new();
        while let Some(v) = seq.next_element::<Val>()? {
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

    #[test]
    fn keys_below_an_implicit_table_have_their_spans() {
        let text = "name = \"p\"\n[[approval.rule]]\nname = \"a\"\n\
                    steps = [ { approvers = [\"x\"] } ]\n";
        let tree = SpanTree::parse(text);
        let path = [
            "approval".into(),
            "rule".into(),
            0.into(),
            "steps".into(),
            0.into(),
        ];
        let span = tree
            .span(&[&path[..], &["approvers".into()]].concat())
            .unwrap();
        assert_eq!(line_col(text, span.start), (4, 13));
    }
}
