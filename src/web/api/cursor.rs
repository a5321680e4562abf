//! Pagination by cursor. A list is read by keyset (documents: ids below the last one seen, newest
//! first; entries: ids above it, in posting order), so documents or entries added between two
//! pages neither repeat a row nor hide one. The cursor is opaque to clients (URL-safe base64): it
//! names the list, the last key, and a fingerprint of the filters, so a cursor replayed with other
//! filters or on another list is refused instead of silently answering something else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::problem::{Kind, Problem};

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most rows a page may have.
pub const MAX_LIMIT: u32 = 200;

/// The page size asked, checked.
pub fn limit(asked: Option<u32>) -> Result<u32, Problem> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(Problem::new(
            Kind::Invalid,
            format!("limit={n}: a page holds 1 to {MAX_LIMIT} rows"),
            format!("limit={n} : une page contient de 1 à {MAX_LIMIT} lignes"),
        )),
    }
}

/// Where the next page of a list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `documents` or `entries`.
    pub list: &'static str,
    /// The last key of the page before.
    pub key: i64,
    /// The filters the list was asked with (`fingerprint`).
    pub filters: String,
}

/// A short digest of a list's filters, in a fixed order.
pub fn fingerprint(parts: &[Option<String>]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_deref().unwrap_or("\u{0}").as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Cuts rows read with one extra (`limit + 1`) to a page, and the cursor of the next page when
/// that extra row showed there is one.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: u32,
    list: &'static str,
    filters: &str,
    key: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = rows.last().filter(|_| more).map(|last| {
        Cursor {
            list,
            key: key(last),
            filters: filters.to_string(),
        }
        .encode()
    });
    (rows, next)
}

/// The key a page starts after: None for the first page, else the key of the cursor sent back.
pub fn start(
    sent: Option<&str>,
    list: &'static str,
    filters: &str,
) -> Result<Option<i64>, Problem> {
    sent.map(|c| Cursor::decode(c, list, filters).map(|c| c.key))
        .transpose()
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1|{}|{}|{}", self.list, self.key, self.filters))
    }

    /// The cursor a client sent back, for `list` asked with `filters`.
    pub fn decode(text: &str, list: &'static str, filters: &str) -> Result<Cursor, Problem> {
        let bad = || {
            Problem::new(
                Kind::Invalid,
                "this cursor is not one this API gave: pass the `next` of the page before as it is",
                "ce curseur ne vient pas de cette API : renvoyez tel quel le `next` de la page précédente",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.split('|');
        let (Some("v1"), Some(l), Some(key), Some(f), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let key: i64 = key.parse().map_err(|_| bad())?;
        if l != list || f != filters {
            return Err(Problem::new(
                Kind::Invalid,
                "this cursor belongs to another list or to other filters: ask the first page \
                 again with these filters, without `cursor`",
                "ce curseur appartient à une autre liste ou à d'autres filtres : redemandez la \
                 première page avec ces filtres, sans `cursor`",
            ));
        }
        Ok(Cursor {
            list,
            key,
            filters: filters.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_is_tied_to_its_filters() {
        let f = fingerprint(&[Some("posted".into()), None]);
        let c = Cursor {
            list: "documents",
            key: 42,
            filters: f.clone(),
        };
        let text = c.encode();
        assert!(!text.contains("42|"), "opaque: {text}");
        assert_eq!(Cursor::decode(&text, "documents", &f).unwrap(), c);
        let other = fingerprint(&[Some("rejected".into()), None]);
        assert_ne!(other, f);
        assert!(Cursor::decode(&text, "documents", &other).is_err());
        assert!(Cursor::decode(&text, "entries", &f).is_err());
        assert!(Cursor::decode("bm9wZQ", "documents", &f).is_err());
        assert!(Cursor::decode("***", "documents", &f).is_err());
    }

    #[test]
    fn a_page_has_a_next_only_when_more_rows_came() {
        let (rows, next) = page(vec![9, 8, 7], 2, "documents", "f", |r| *r);
        assert_eq!(rows, vec![9, 8]);
        let c = Cursor::decode(&next.unwrap(), "documents", "f").unwrap();
        assert_eq!(c.key, 8);
        let (rows, next) = page(vec![9, 8], 2, "documents", "f", |r| *r);
        assert_eq!((rows.len(), next), (2, None));
    }

    #[test]
    fn limits_are_one_to_two_hundred() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }

    #[test]
    fn absent_and_empty_filters_differ() {
        assert_ne!(fingerprint(&[None]), fingerprint(&[Some(String::new())]));
        assert_ne!(
            fingerprint(&[Some("a".into()), None]),
            fingerprint(&[None, Some("a".into())])
        );
    }
}
