//! People who sign in to the web dashboard (issue 14): who they are and what they may do
//! (`role`), how their secrets are kept (`password`: Argon2id; `totp`: RFC 6238 codes and
//! single-use recovery codes), and when a sign-in is refused for too many failures (`throttle`);
//! the tokens programs use for the REST API, scoped read or write (`api_token`).
//! Pure code only; the store keeps users and sessions, `web` signs people in, `cli::users`
//! creates them.

pub mod api_token;
pub mod password;
pub mod role;
pub mod throttle;
pub mod totp;

pub use password::{Password, PasswordHash};
pub use role::{Action, Role};

/// An address a person signs in with: trimmed, lower-cased, with one `@` between two
/// non-empty parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let e = s.trim().to_ascii_lowercase();
        match e.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !e.contains(char::is_whitespace)
                    && e.matches('@').count() == 1
                    && e.len() <= 254 =>
            {
                Ok(Email(e))
            }
            _ => Err(format!(
                "'{}' is not an email address; write e.g. daf@example.com",
                s.trim()
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_lower_cased() {
        assert_eq!(
            Email::parse(" DAF@Example.com ").unwrap().as_str(),
            "daf@example.com"
        );
        for bad in [
            "",
            "daf",
            "@example.com",
            "daf@",
            "daf@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
