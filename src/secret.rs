//! Secrets (in settings, and in flight to a server): types whose `Debug` and `Display` never show them, so a derived `Debug`, a
//! log field or an error message cannot leak a password. The value is read only through `expose`,
//! at the one place that needs it (a login, a connection).

use std::fmt;

use serde::Deserialize;

/// A password or token: printed as `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A database URL, whose password (`user:password@`, or `?password=`) is a secret: printed with
/// the password as `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(s: impl Into<String>) -> Self {
        DatabaseUrl(s.into())
    }
    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `url` with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(s) = out.find("://") {
        let authority_end = out[s + 3..]
            .find(['/', '?'])
            .map_or(out.len(), |i| s + 3 + i);
        if let Some(at) = out[..authority_end].rfind('@') {
            if let Some(colon) = out[s + 3..at].find(':') {
                out.replace_range(s + 3 + colon + 1..at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let u = DatabaseUrl::new("postgres://ap:s3cr3t@db:5432/facteur?sslmode=require");
        assert_eq!(
            u.to_string(),
            "postgres://ap:***@db:5432/facteur?sslmode=require"
        );
        assert!(!format!("{u:?}").contains("s3cr3t"));
        let q = DatabaseUrl::new("postgres://db/facteur?user=ap&password=s3cr3t&sslmode=require");
        assert_eq!(
            q.to_string(),
            "postgres://db/facteur?user=ap&password=***&sslmode=require"
        );
        assert_eq!(redact_url("sqlite://var/f.db"), "sqlite://var/f.db");
        assert_eq!(redact_url("postgres://ap@db/x"), "postgres://ap@db/x");
        assert_eq!(format!("{:?}", SecretString::new("tok")), "***");
    }
}
