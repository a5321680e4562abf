//! API tokens (issue 14's REST API): what a program sends as `Authorization: Bearer fct_…`.
//!
//! A token is `fct_` and 64 hex digits (256 random bits from the OS generator). The prefix makes a
//! leaked token recognisable to people and to secret scanners; only its SHA-256 is stored, so a
//! copy of the database authenticates nobody. A token acts as its user, with the user's role, and
//! never above its `Scope`: a `read` token only reads, whatever the role.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// What every token starts with.
pub const PREFIX: &str = "fct_";
/// Hex digits after the prefix (256 bits).
const SECRET_HEX_LEN: usize = 64;
/// Characters of a token kept in clear to tell tokens apart in lists (`fct_` + 6 hex digits).
pub const SHOWN_LEN: usize = PREFIX.len() + 6;

/// What a token may do, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// GET only: documents, originals, entries, `me`.
    Read,
    /// Also uploads, decisions and exports, as far as the user's role goes.
    Write,
}

impl Scope {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            _ => Err(format!("unknown token scope '{s}': read or write")),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fresh token: (the text shown once, the hash to store).
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = format!("{PREFIX}{}", hex::encode(bytes));
    let hash = hash(&text);
    (text, hash)
}

/// The stored form of what a client sent; None when it cannot be a token (so it is simply not
/// known, and the answer says no more than that).
pub fn parse_and_hash(text: &str) -> Option<String> {
    let secret = text.strip_prefix(PREFIX)?;
    (secret.len() == SECRET_HEX_LEN && secret.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash(&format!("{PREFIX}{}", secret.to_ascii_lowercase())))
}

/// The part of a token shown in lists.
pub fn shown(text: &str) -> String {
    text.chars().take(SHOWN_LEN).collect()
}

fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_recognisable_and_only_its_hash_is_kept() {
        let (text, hash) = generate();
        assert!(text.starts_with("fct_"));
        assert_eq!(text.len(), 4 + 64);
        assert_ne!(text, hash);
        assert_eq!(parse_and_hash(&text).as_deref(), Some(hash.as_str()));
        let upper = format!("fct_{}", text[4..].to_uppercase());
        assert_eq!(parse_and_hash(&upper).as_deref(), Some(hash.as_str()));
        assert_ne!(generate().0, text);
        assert_eq!(shown(&text), text[..10]);
    }

    #[test]
    fn what_cannot_be_a_token_is_unknown() {
        let (text, _) = generate();
        for bad in [
            "",
            "fct_",
            &text[4..],
            &format!("xyz_{}", &text[4..]),
            &format!("{text}0"),
            &format!("fct_{}", "g".repeat(64)),
        ] {
            assert_eq!(parse_and_hash(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(Scope::parse(" Write ").unwrap(), Scope::Write);
        assert_eq!(Scope::parse("read").unwrap(), Scope::Read);
        assert!(Scope::parse("admin").unwrap_err().contains("read or write"));
    }
}
