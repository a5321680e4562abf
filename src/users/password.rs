//! Passwords: a `Password` is one a person may choose (12 characters at least, not one repeated
//! character, at most 1024 bytes so hashing cannot be made to take long), kept only as an
//! Argon2id hash in the PHC string format with the `argon2` crate's defaults (19 MiB, 2 passes,
//! one lane: OWASP's recommendation).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// Longest accepted, in bytes.
const MAX_BYTES: usize = 1024;

/// A password as typed, checked against the rules. Never printed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(s: &str) -> Result<Password, String> {
        let n = s.chars().count();
        if n < MIN_CHARS {
            return Err(format!(
                "a password has at least {MIN_CHARS} characters (this one has {n}); a few words \
                 make a good one"
            ));
        }
        if s.len() > MAX_BYTES {
            return Err(format!("a password has at most {MAX_BYTES} bytes"));
        }
        let first = s.chars().next();
        if s.chars().all(|c| Some(c) == first) {
            return Err("a password of one repeated character is refused".into());
        }
        Ok(Password(s.to_string()))
    }

    /// The hash to store (a fresh random salt each time).
    pub fn hash(&self) -> Result<PasswordHash, String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| format!("cannot hash the password: {e}"))
    }
}

/// A stored Argon2id hash (PHC string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl PasswordHash {
    /// Whether `candidate` is the password. An unreadable hash never matches.
    pub fn verify(&self, candidate: &str) -> bool {
        if candidate.len() > MAX_BYTES {
            return false;
        }
        argon2::password_hash::PasswordHash::new(&self.0).is_ok_and(|h| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &h)
                .is_ok()
        })
    }

    /// A hash no password matches, verified against when the address is unknown so that a
    /// sign-in takes as long for an unknown address as for a wrong password.
    pub fn decoy() -> PasswordHash {
        PasswordHash(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
             Yw3d2vVJ0KYB3lHQ9Ydb2Ygkzv3r6bZ5vQfm0yq0H3c"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_a_round_trip() {
        assert!(Password::parse("short")
            .unwrap_err()
            .contains("at least 12"));
        assert!(Password::parse(&"a".repeat(20))
            .unwrap_err()
            .contains("repeated"));
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(…)");
        let h = p.hash().unwrap();
        assert!(
            h.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.0
        );
        assert!(h.verify("correct horse battery"));
        assert!(!h.verify("correct horse battery "));
        assert_ne!(h, p.hash().unwrap(), "a fresh salt each time");
        assert!(!PasswordHash::decoy().verify("correct horse battery"));
        assert!(!PasswordHash("not a hash".into()).verify("x"));
    }
}
