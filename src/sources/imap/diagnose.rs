//! IMAP config errors as load-time diagnostics: `Settings::check` calls `diagnose` for each IMAP
//! source so a bad regex or a missing credential is reported when the config loads, with the
//! pipeline file, line and column, instead of when the source first starts.
//!
//! A pipeline file can hold several accounts with the same keys, so positions are searched from the
//! source's own `name = "…"` line onwards, not from the top of the file.

use std::path::Path;

use super::config::{ConfigError, ImapConfig};
use crate::config::ConfigError as Diagnostics;

/// Byte offset of the line that names `source` (`name = "ap"`), or 0.
fn source_start(text: &str, source: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("name") {
            let v = rest.trim_start().strip_prefix('=').unwrap_or("").trim();
            let unquoted = v.trim_matches(|c| c == '"' || c == '\'');
            if unquoted == source {
                return offset;
            }
        }
        offset += line.len();
    }
    0
}

/// A diagnostic at `key` (searched from the source's name line, then from the top).
fn at(
    file: &Path,
    text: &str,
    source: &str,
    key: &str,
    message: String,
    hint: Option<String>,
) -> Diagnostics {
    let start = source_start(text, source);
    let tail = text.get(start..).unwrap_or(text);
    let mut e = Diagnostics::at(file, tail, key, message.clone(), hint.clone());
    let skipped_lines = text.get(..start).map_or(0, |h| h.matches('\n').count());
    match e.diagnostics.first_mut() {
        Some(d) if d.line > 0 => d.line += skipped_lines,
        _ => e = Diagnostics::at(file, text, "name", message, hint),
    }
    e
}

/// Checks one IMAP source; no error means `validate()` will pass at start-up too.
pub fn diagnose(cfg: &ImapConfig, file: &Path, text: &str) -> Option<Diagnostics> {
    let err = cfg.validate().err()?;
    let msg = err.to_string();
    let src = cfg.name.as_str();
    Some(match &err {
        ConfigError::BadRegex { field, .. } => at(
            file,
            text,
            src,
            field,
            msg,
            Some("rules are Rust regexes matched case-insensitively, e.g. subject = \"factur|invoice\"".into()),
        ),
        ConfigError::Credentials(_) => {
            let key = ["password_env", "password_file"]
                .into_iter()
                .find(|k| {
                    let start = source_start(text, src);
                    text.get(start..)
                        .and_then(|t| crate::config::diagnostics::find_key(t, k))
                        .is_some()
                })
                .unwrap_or("user");
            at(
                file,
                text,
                src,
                key,
                msg,
                Some("password_env = \"AP_IMAP_PASSWORD\" names an environment variable; password_file a file; [source.oauth2] logs in with XOAUTH2".into()),
            )
        }
        ConfigError::NoFolder(_) => at(file, text, src, "name", msg, None),
        ConfigError::OAuth2 { key, .. } => at(file, text, src, key, msg, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[[source]]\ntype = \"imap\"\nname = \"a\"\nhost = \"h\"\nuser = \"u\"\n\
                        password_env = \"P\"\n\n[[source]]\ntype = \"imap\"\nname = \"b\"\nhost = \"h\"\n\
                        user = \"u\"\npassword_env = \"P\"\npassword_file = \"p\"\n\
                        [[source.folder]]\nname = \"INBOX\"\nsubject = \"(facture\"\n";

    fn source(name: &str, extra: &str) -> ImapConfig {
        toml::from_str(&format!(
            "name = \"{name}\"\nhost = \"h\"\nuser = \"u\"\npassword_env = \"P\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn points_at_the_line_of_the_right_source() {
        let bad_re = source(
            "b",
            "[[folder]]\nname = \"INBOX\"\nsubject = \"(facture\"\n",
        );
        let d = diagnose(&bad_re, Path::new("p.toml"), TEXT).unwrap();
        let s = d.to_string();
        assert!(
            s.starts_with("p.toml:17:1: source b: folder INBOX: `subject`"),
            "{s}"
        );
        let two = source("b", "password_file = \"p\"\n");
        let s = diagnose(&two, Path::new("p.toml"), TEXT)
            .unwrap()
            .to_string();
        assert!(
            s.starts_with("p.toml:13:1: source b: give exactly one"),
            "{s}"
        );
        assert!(diagnose(&source("a", ""), Path::new("p.toml"), TEXT).is_none());
    }

    #[test]
    fn oauth2_without_a_refresh_token_is_refused() {
        let c = source(
            "a",
            "[oauth2]\ntoken_url = \"https://oauth2.googleapis.com/token\"\nclient_id = \"x\"\n",
        );
        let mut c = c;
        c.password_env = None;
        let s = diagnose(&c, Path::new("p.toml"), TEXT).unwrap().to_string();
        assert!(s.contains("refresh_token_env or refresh_token_file"), "{s}");
    }
}

#[cfg(test)]
mod doc_examples {
    use std::path::Path;

    use crate::config::{Pipeline, SourceConfig};

    /// Every TOML example in docs/imap.md parses as a pipeline file and passes the load-time
    /// checks, so the user manual cannot drift from the code.
    #[test]
    fn the_user_manual_examples_load() {
        let doc = include_str!("../../../docs/imap.md");
        let blocks: Vec<&str> = doc
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert!(blocks.len() >= 4, "examples found: {}", blocks.len());
        for text in blocks {
            let file = Path::new("docs/imap.md");
            let p = Pipeline::parse(file, text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(p.sources.len(), 1, "{text}");
            for s in &p.sources {
                let SourceConfig::Imap(c) = s else {
                    panic!("not an IMAP source: {text}")
                };
                if let Some(e) = super::diagnose(c, file, text) {
                    panic!("{e}\n{text}");
                }
            }
        }
    }
}
