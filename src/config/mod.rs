//! Configuration: one `facteur.toml` (path from `--config` or `FACTEUR_CONFIG`), environment overrides
//! `FACTEUR_<SECTION>__<KEY>`, and the pipeline files it lists (sources and workflow policy).
//!
//! Loading is two-phase, as in ripgrep: `Settings::load` parses and checks without touching the
//! world (no database, no folders created); `startup` builds running parts from it. Unknown keys are
//! errors with a "did you mean" hint; every error names the file, line and column.

mod delivery;
pub mod diagnostics;
pub mod pipeline;
mod sections;
pub mod spans;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::receivables::reminders::ReminderSettings;
pub use crate::receivables::settings::SalesSettings;
pub use crate::secret::{DatabaseUrl, SecretString};
pub use crate::stages::intake::IntakeSettings;
pub use delivery::{SmtpSecurity, SmtpSettings, WebSettings};
pub use diagnostics::{ConfigError, Diagnostic};
pub use pipeline::{Pipeline, SourceConfig};
pub use sections::{
    CompanySettings, DatabaseSettings, DedupeSettings, LogFormat, LogSettings, ReadSettings,
    WorkerSettings,
};
use spans::{SpanTree, Step};

/// The whole `facteur.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub intake: IntakeSettings,
    #[serde(default)]
    pub worker: WorkerSettings,
    #[serde(default)]
    pub read: ReadSettings,
    #[serde(default)]
    pub dedupe: DedupeSettings,
    #[serde(default)]
    pub company: CompanySettings,
    /// Issued invoices: numbering, the seller's address and legal mentions (receivables).
    #[serde(default)]
    pub sales: SalesSettings,
    /// Reminders of unpaid issued invoices: the ladders, per customer category.
    #[serde(default)]
    pub reminders: ReminderSettings,
    #[serde(default)]
    pub log: LogSettings,
    /// Outgoing mail (approval requests); without it, mail waits in the outbox.
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
    #[serde(default)]
    pub web: WebSettings,
    /// Pipeline files, relative to this file's folder. Default: every `pipelines/*.toml` beside it.
    #[serde(default)]
    pub pipelines: Option<Vec<PathBuf>>,
    /// Filled by `load`: the folder the config file is in (relative paths resolve from here).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Filled by `load`: the pipelines, parsed.
    #[serde(skip)]
    pub loaded_pipelines: Vec<Pipeline>,
    /// Filled by `parse`: the `FACTEUR_*` variables that overrode the file (checks name them).
    #[serde(skip)]
    pub overrides: Vec<String>,
}

/// Where the config file is: `--config`, else `FACTEUR_CONFIG`, else `./facteur.toml`.
pub fn config_path(cli: Option<&Path>) -> PathBuf {
    cli.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("FACTEUR_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("facteur.toml"))
}

impl Settings {
    /// How documents are read: the `[read]` section, and the workspace's supplier templates
    /// (`models/suppliers/` beside this config file).
    pub fn read_options(&self) -> crate::read::ReadOptions {
        crate::read::ReadOptions {
            suppliers_dir: Some(self.base_dir.join("models/suppliers")),
            ..self.read.read_options()
        }
    }

    /// Reads the file, applies `FACTEUR_*` overrides, loads the pipelines, and checks it all.
    /// A missing file is not an error when `allow_missing` (defaults apply, e.g. for `extract`).
    pub fn load(path: &Path, allow_missing: bool) -> Result<Settings, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && allow_missing => String::new(),
            Err(e) => {
                return Err(ConfigError::single(
                    path,
                    format!("cannot read the configuration file: {e}"),
                    Some(
                        "run `facteur init` to write a commented one, or pass --config PATH".into(),
                    ),
                ))
            }
        };
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut settings = Self::parse(path, &text, std::env::vars())?;
        settings.base_dir = base_dir.to_path_buf();
        settings.loaded_pipelines = pipeline::load_all(&settings)?;
        settings.check(path, &text)?;
        Ok(settings)
    }

    /// Parses the text then applies overrides from `env` (`FACTEUR_SECTION__KEY=value`).
    pub fn parse(
        path: &Path,
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let settings: Settings = diagnostics::parse_all(path, text)?;
        let overrides: Vec<(String, String)> = env
            .filter(|(k, _)| k.starts_with("FACTEUR_") && k.contains("__"))
            .collect();
        if overrides.is_empty() {
            return Ok(settings);
        }
        let names = overrides.iter().map(|(k, _)| k.clone()).collect();
        let mut table: toml::Table = toml::from_str(text).unwrap_or_default();
        for (key, value) in &overrides {
            let path_parts: Vec<String> = key["FACTEUR_".len()..]
                .split("__")
                .map(|p| p.to_ascii_lowercase())
                .collect();
            let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(value.clone()));
            let mut cursor = &mut table;
            for part in &path_parts[..path_parts.len() - 1] {
                let entry = cursor
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                let Some(t) = entry.as_table_mut() else {
                    return Err(ConfigError::single(
                        Path::new(key),
                        format!("`{part}` is not a section, so {key} cannot set a key inside it"),
                        None,
                    ));
                };
                cursor = t;
            }
            cursor.insert(path_parts[path_parts.len() - 1].clone(), parsed);
        }
        let mut settings = Settings::deserialize(toml::Value::Table(table)).map_err(|e| {
            ConfigError::single(
                Path::new("environment"),
                format!(
                    "an override from {} is invalid: {e}",
                    overrides
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some("names are FACTEUR_<SECTION>__<KEY>, e.g. FACTEUR_DATABASE__URL".into()),
            )
        })?;
        settings.overrides = names;
        Ok(settings)
    }

    /// Checks what types alone cannot say, each at its key's line and column (from
    /// `toml::Spanned`), or naming the environment variable that set it. Public so the fuzz
    /// harness (`crate::fuzzing`) runs `load`'s checks on text without touching the disk.
    pub fn check(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let spans = SpanTree::parse(text);
        let at = |key: [&str; 2], message: String, hint: Option<&str>| {
            let var = format!("FACTEUR_{}__{}", key[0], key[1]).to_ascii_uppercase();
            let hint = hint.map(str::to_string);
            if self.overrides.contains(&var) {
                return Diagnostic {
                    file: PathBuf::from("environment"),
                    line: 0,
                    column: 0,
                    message: format!("{var}: {message}"),
                    hint,
                };
            }
            let (line, column) = spans
                .span(&[Step::Key(key[0]), Step::Key(key[1])])
                .map_or((0, 0), |r| diagnostics::line_col(text, r.start));
            Diagnostic {
                file: path.to_path_buf(),
                line,
                column,
                message,
                hint,
            }
        };
        let mut diagnostics = Vec::new();
        let url = self.database.url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            diagnostics.push(at(
                ["database", "url"],
                format!(
                    "database.url '{}' is neither SQLite nor PostgreSQL",
                    self.database.url
                ),
                Some("write url = \"sqlite://var/facteur.db\" or url = \"postgres://user@host:5432/facteur\""),
            ));
        }
        if !(0.0..=1.0).contains(&self.read.review_threshold) {
            diagnostics.push(at(
                ["read", "review_threshold"],
                format!(
                    "read.review_threshold {} is outside 0–1",
                    self.read.review_threshold
                ),
                Some("write a confidence such as 0.8"),
            ));
        }
        if !(1..=12).contains(&self.dedupe.fiscal_year_start_month) {
            diagnostics.push(at(
                ["dedupe", "fiscal_year_start_month"],
                format!(
                    "dedupe.fiscal_year_start_month {} is not a month",
                    self.dedupe.fiscal_year_start_month
                ),
                Some("write a month number from 1 (January) to 12"),
            ));
        }
        if let Err(why) = self.reminders.check() {
            diagnostics.push(at(
                ["reminders", "categories"],
                why,
                Some("name categories as customers carry them: key_accounts, public-sector"),
            ));
        }
        if self.reminders.every_minutes == 0 {
            diagnostics.push(at(
                ["reminders", "every_minutes"],
                "reminders.every_minutes 0 would look for reminders without pause".into(),
                Some("write how many minutes `facteur run` waits between passes: 60"),
            ));
        }
        if !(1..=12).contains(&self.company.fiscal_year_start_month) {
            diagnostics.push(at(
                ["company", "fiscal_year_start_month"],
                format!(
                    "company.fiscal_year_start_month {} is not a month",
                    self.company.fiscal_year_start_month
                ),
                Some("write a month number from 1 (January) to 12"),
            ));
        }
        if !(0..=366).contains(&self.dedupe.window_days) {
            diagnostics.push(at(
                ["dedupe", "window_days"],
                format!(
                    "dedupe.window_days {} is outside 0–366",
                    self.dedupe.window_days
                ),
                Some("write a number of days such as 30"),
            ));
        }
        if self.dedupe.amount_tolerance.is_sign_negative()
            || self.dedupe.near_amount_percent.is_sign_negative()
        {
            diagnostics.push(at(
                ["dedupe", "amount_tolerance"],
                "dedupe.amount_tolerance and near_amount_percent cannot be negative".into(),
                Some("write amount_tolerance = \"0.01\" and near_amount_percent = \"1\""),
            ));
        }
        let delivery = self
            .smtp
            .iter()
            .flat_map(|s| s.problems().into_iter().map(|p| ("smtp", p)))
            .chain(self.web.problems().into_iter().map(|p| ("web", p)));
        for (section, (key, message, hint)) in delivery {
            diagnostics.push(at([section, key], message, hint));
        }
        if self.worker.concurrency == 0 {
            diagnostics.push(at(
                ["worker", "concurrency"],
                "worker.concurrency must be at least 1".into(),
                None,
            ));
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { diagnostics })
        }
    }

    /// The database URL with a relative SQLite path resolved against the config folder.
    /// It carries the password: pass it to the store, never print it (`database.url` prints safely).
    pub fn database_url(&self) -> String {
        let url = self.database.url.expose();
        match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(rest) if !rest.starts_with('/') && !rest.starts_with(":memory:") => {
                format!("sqlite://{}", self.base_dir.join(rest).display())
            }
            _ => url.to_string(),
        }
    }

    /// Resolves a path from the config against its folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_an_empty_file() {
        let s = Settings::parse(Path::new("f"), "", std::iter::empty()).unwrap();
        assert_eq!(s.database.url.expose(), "sqlite://var/facteur.db");
        assert_eq!(s.intake.max_document_mb, 100);
    }

    #[test]
    fn env_overrides_win() {
        let env = vec![
            (
                "FACTEUR_DATABASE__URL".to_string(),
                "postgres://x@y/z".to_string(),
            ),
            ("FACTEUR_WORKER__CONCURRENCY".to_string(), "7".to_string()),
        ];
        let s = Settings::parse(
            Path::new("f"),
            "[database]\nurl = \"sqlite://a.db\"\n",
            env.into_iter(),
        )
        .unwrap();
        assert_eq!(s.database.url.expose(), "postgres://x@y/z");
        assert_eq!(s.worker.concurrency, 7);
    }

    #[test]
    fn typo_is_reported_with_line() {
        let e = Settings::parse(
            Path::new("facteur.toml"),
            "[worker]\nconcurency = 2\n",
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("facteur.toml:2:1"), "{e}");
        assert!(e.to_string().contains("did you mean `concurrency`"), "{e}");
    }

    fn check(text: &str, env: Vec<(String, String)>) -> String {
        let s = Settings::parse(Path::new("facteur.toml"), text, env.into_iter()).unwrap();
        s.check(Path::new("facteur.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn checks_point_at_the_key_of_their_section_even_when_its_text_appears_earlier() {
        // `concurrency` and `url` are written first in [log] (a comment-like string, and a key of a
        // table that would be ignored) — a text search would point there.
        let text = "[log]\nlevel = \"info\"\n[worker]\nlease_secs = 30\n  concurrency = 0\n\
                    [read]\nreview_threshold = 1.5\n[database]\nurl = \"mysql://ap:hunter2@db/x\"\n";
        let text = format!("# concurrency = 4\n# url = \"sqlite://a.db\"\n{text}");
        let e = check(&text, vec![]);
        assert!(e.contains("facteur.toml:7:3: worker.concurrency"), "{e}");
        assert!(e.contains("facteur.toml:9:1: read.review_threshold"), "{e}");
        assert!(e.contains("facteur.toml:11:1: database.url"), "{e}");
        assert!(!e.contains("hunter2"), "the password is never printed: {e}");
        assert!(e.contains("mysql://ap:***@db/x"), "{e}");
    }

    #[test]
    fn dedupe_thresholds_are_read_and_checked() {
        let s = Settings::parse(
            Path::new("f"),
            "[dedupe]\namount_tolerance = \"0.05\"\nwindow_days = 45\nnear_amount_percent = \"2\"\n\
             fiscal_year_start_month = 7\n",
            std::iter::empty(),
        )
        .unwrap();
        let t = s.dedupe.thresholds();
        assert_eq!(t.amount_tolerance, rust_decimal::Decimal::new(5, 2));
        assert_eq!(t.near_amount, rust_decimal::Decimal::new(2, 2));
        assert_eq!((t.window_days, t.fiscal_year_start_month), (45, 7));
        let e = check(
            "[dedupe]\nwindow_days = 30\nfiscal_year_start_month = 13\n",
            vec![],
        );
        assert!(
            e.contains("facteur.toml:3:1: dedupe.fiscal_year_start_month 13 is not a month"),
            "{e}"
        );
    }

    #[test]
    fn smtp_and_web_are_checked_at_their_keys() {
        let e = check(
            "[web]\nlogin_above = \"-1\"\n[smtp]\nhost = \"mail.example.com\"\n\
             security = \"none\"\nfrom = \"ap@example.com\"\n",
            vec![],
        );
        assert!(
            e.contains("facteur.toml:2:1: web.login_above is negative"),
            "{e}"
        );
        assert!(
            e.contains("facteur.toml:5:1: smtp.security = \"none\""),
            "{e}"
        );
        let s = Settings::parse(
            Path::new("f"),
            "[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"ap@x.test\"\n",
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(s.smtp.as_ref().map(|s| s.port()), Some(25));
        assert!(
            s.check(Path::new("f"), "").is_ok(),
            "loopback without TLS is allowed"
        );
        let env = vec![(
            "FACTEUR_SMTP__HOST".to_string(),
            "smtp.example.com".to_string(),
        )];
        let s = Settings::parse(
            Path::new("f"),
            "[smtp]\nhost = \"x\"\nfrom = \"ap@x.test\"\n",
            env.into_iter(),
        )
        .unwrap();
        assert_eq!(s.smtp.unwrap().host, "smtp.example.com");
    }

    #[test]
    fn a_check_on_an_overridden_key_names_the_variable() {
        let env = vec![("FACTEUR_WORKER__CONCURRENCY".to_string(), "0".to_string())];
        let e = check("[worker]\nconcurrency = 2\n", env);
        assert!(
            e.starts_with("environment: FACTEUR_WORKER__CONCURRENCY: worker.concurrency"),
            "{e}"
        );
    }

    #[test]
    fn debug_never_shows_the_database_password() {
        let s = Settings::parse(
            Path::new("f"),
            "[database]\nurl = \"postgres://ap:hunter2@db/facteur\"\n",
            std::iter::empty(),
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("postgres://ap:***@db/facteur"), "{debug}");
        assert_eq!(s.database_url(), "postgres://ap:hunter2@db/facteur");
    }
}
