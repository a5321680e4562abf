//! IMAP config checks (`ImapConfig::validate`, which also compiles the folder rules) and their
//! errors as load-time problems: the config loader calls `diagnose` (through
//! `SourceConfig::problems`) for each IMAP source, so a bad regex, a missing credential or an
//! `http://` token URL is reported when the config loads, with the pipeline file, line and column,
//! instead of when the source first starts. Each problem names its key by path in the source's
//! table; the loader finds that key with `toml::Spanned`, never by searching text.

use regex::Regex;

use super::config::ImapConfig;
use crate::sources::{KeyStep, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("source {source_name}: folder {folder}: `{field}` = '{pattern}' is not a valid regex: {why}")]
    BadRegex {
        source_name: String,
        folder: String,
        /// The folder's place in the list, for the diagnostic's position.
        folder_index: usize,
        field: &'static str,
        pattern: String,
        why: String,
    },
    #[error("source {0}: give exactly one of password_env, password_file or [source.oauth2]")]
    Credentials(String),
    #[error("source {0}: list at least one [[source.folder]]")]
    NoFolder(String),
    #[error("source {source_name}: [source.oauth2] {why}")]
    OAuth2 {
        source_name: String,
        /// The offending key, for the diagnostic's position.
        key: &'static str,
        why: String,
    },
}

/// A folder's rules, compiled.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    pub from: Option<Regex>,
    pub to: Option<Regex>,
    pub subject: Option<Regex>,
    pub filename: Option<Regex>,
}

impl ImapConfig {
    /// Checks what serde cannot: exactly one credential, folders, regexes.
    pub fn validate(&self) -> Result<Vec<CompiledRules>, ConfigError> {
        let creds = [
            self.password_env.is_some(),
            self.password_file.is_some(),
            self.oauth2.is_some(),
        ];
        if creds.iter().filter(|c| **c).count() != 1 {
            return Err(ConfigError::Credentials(self.name.clone()));
        }
        if self.folders.is_empty() {
            return Err(ConfigError::NoFolder(self.name.clone()));
        }
        if let Some(o) = &self.oauth2 {
            let err = |key, why: &str| ConfigError::OAuth2 {
                source_name: self.name.clone(),
                key,
                why: why.to_string(),
            };
            if o.client_secret_env.is_some() && o.client_secret_file.is_some() {
                return Err(err(
                    "client_secret_file",
                    "give client_secret_env or client_secret_file, not both",
                ));
            }
            match (&o.refresh_token_env, &o.refresh_token_file) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        "refresh_token_file",
                        "give refresh_token_env or refresh_token_file, not both",
                    ))
                }
                (None, None) => {
                    return Err(err(
                        "token_url",
                        "needs the first refresh token: refresh_token_env or refresh_token_file",
                    ))
                }
                _ => {}
            }
            if !o.token_url.starts_with("https://") {
                return Err(err(
                    "token_url",
                    "token_url must be an https:// URL: the refresh token and client secret cross it",
                ));
            }
        }
        self.folders
            .iter()
            .enumerate()
            .map(|(folder_index, f)| {
                let re = |field: &'static str, p: &Option<String>| {
                    p.as_deref()
                        .map(|pat| {
                            regex::RegexBuilder::new(pat)
                                .case_insensitive(true)
                                .build()
                                .map_err(|e| ConfigError::BadRegex {
                                    source_name: self.name.clone(),
                                    folder: f.name.clone(),
                                    folder_index,
                                    field,
                                    pattern: pat.to_string(),
                                    why: e.to_string(),
                                })
                        })
                        .transpose()
                };
                Ok(CompiledRules {
                    from: re("from", &f.from)?,
                    to: re("to", &f.to)?,
                    subject: re("subject", &f.subject)?,
                    filename: re("filename", &f.filename)?,
                })
            })
            .collect()
    }
}

/// Checks one IMAP source; empty means `validate()` will pass at start-up too.
pub fn diagnose(cfg: &ImapConfig) -> Vec<Problem> {
    let Err(err) = cfg.validate() else {
        return Vec::new();
    };
    let (path, hint) = match &err {
        ConfigError::BadRegex {
            field,
            folder_index,
            ..
        } => (
            vec![
                KeyStep::Key("folder"),
                KeyStep::Index(*folder_index),
                KeyStep::Key(field),
            ],
            Some("rules are Rust regexes matched case-insensitively, e.g. subject = \"factur|invoice\"".into()),
        ),
        ConfigError::Credentials(_) => {
            let key = if cfg.password_file.is_some() {
                "password_file"
            } else if cfg.password_env.is_some() {
                "password_env"
            } else {
                "user"
            };
            (
                vec![KeyStep::Key(key)],
                Some("password_env = \"AP_IMAP_PASSWORD\" names an environment variable; password_file a file; [source.oauth2] logs in with XOAUTH2".into()),
            )
        }
        ConfigError::NoFolder(_) => (vec![KeyStep::Key("name")], None),
        ConfigError::OAuth2 { key, .. } => {
            let hint = (*key == "token_url").then(|| {
                "e.g. token_url = \"https://oauth2.googleapis.com/token\"; for a private CA add ca_file".into()
            });
            (vec![KeyStep::Key("oauth2"), KeyStep::Key(key)], hint)
        }
    };
    vec![Problem {
        path,
        message: err.to_string(),
        hint,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(extra: &str) -> ImapConfig {
        toml::from_str(&format!(
            "name = \"a\"\nhost = \"h\"\nuser = \"u\"\npassword_env = \"P\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn problems_name_their_key_by_path() {
        assert!(diagnose(&source("")).is_empty());
        let bad_re =
            source("[[folder]]\nname = \"A\"\n[[folder]]\nname = \"B\"\nsubject = \"(x\"\n");
        let p = diagnose(&bad_re);
        assert_eq!(
            p[0].path,
            [
                KeyStep::Key("folder"),
                KeyStep::Index(1),
                KeyStep::Key("subject")
            ]
        );
        let two = source("password_file = \"p\"\n");
        assert_eq!(diagnose(&two)[0].path, [KeyStep::Key("password_file")]);
    }

    #[test]
    fn oauth2_without_a_refresh_token_or_with_http_is_refused() {
        let mut c = source(
            "[oauth2]\ntoken_url = \"https://oauth2.googleapis.com/token\"\nclient_id = \"x\"\n",
        );
        c.password_env = None;
        let p = diagnose(&c);
        assert!(
            p[0].message
                .contains("refresh_token_env or refresh_token_file"),
            "{p:?}"
        );
        let mut c = source(
            "[oauth2]\ntoken_url = \"http://127.0.0.1:8080/token\"\nclient_id = \"x\"\nrefresh_token_env = \"R\"\n",
        );
        c.password_env = None;
        let p = diagnose(&c);
        assert!(p[0].message.contains("https://"), "{p:?}");
        assert_eq!(
            p[0].path,
            [KeyStep::Key("oauth2"), KeyStep::Key("token_url")]
        );
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
                let problems = super::diagnose(c);
                assert!(problems.is_empty(), "{problems:?}\n{text}");
            }
        }
    }
}
