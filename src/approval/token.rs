//! The secret in an approval link: 256 random bits from the OS generator, written as 64 hex
//! digits. Only its SHA-256 is stored, so a copy of the database cannot approve anything; a link
//! is looked up by the hash of what it carries, and anything that is not 64 hex digits is simply
//! unknown (404), never an error that says more.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Length of a token in hex digits (256 bits).
pub const TOKEN_HEX_LEN: usize = 64;

/// A fresh token: (the text for the link, the hash to store).
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = hex::encode(bytes);
    let hash = hash(&text);
    (text, hash)
}

/// The stored form of a token; None when `text` cannot be a token (wrong length or alphabet).
pub fn parse_and_hash(text: &str) -> Option<String> {
    (text.len() == TOKEN_HEX_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash(&text.to_ascii_lowercase()))
}

fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A random nonce for a form (CSRF), 128 bits.
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_256_bits_and_only_its_hash_matches() {
        let (text, hash) = generate();
        assert_eq!(text.len(), TOKEN_HEX_LEN);
        assert_ne!(text, hash, "the stored form is not the token");
        assert_eq!(parse_and_hash(&text).as_deref(), Some(hash.as_str()));
        assert_eq!(
            parse_and_hash(&text.to_uppercase()).as_deref(),
            Some(hash.as_str())
        );
        let (other, _) = generate();
        assert_ne!(text, other);
    }

    #[test]
    fn what_cannot_be_a_token_is_unknown() {
        assert_eq!(parse_and_hash("abc"), None);
        assert_eq!(parse_and_hash(&"z".repeat(64)), None);
        assert_eq!(parse_and_hash(&"a".repeat(65)), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abcd", "abc"));
    }
}
