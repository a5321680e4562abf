//! Configuration: one `facteur.toml` (path from `--config` or `FACTEUR_CONFIG`), environment overrides
//! `FACTEUR_<SECTION>__<KEY>`, and the pipeline files it lists (sources and workflow policy).
//!
//! Loading is two-phase, as in ripgrep: `Settings::load` parses and checks without touching the
//! world (no database, no folders created); `startup` builds running parts from it. Unknown keys are
//! errors with a "did you mean" hint; every error names the file, line and column.

pub mod diagnostics;
pub mod pipeline;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use diagnostics::{ConfigError, Diagnostic};
pub use pipeline::{Pipeline, SourceConfig};

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
    pub log: LogSettings,
    /// Pipeline files, relative to this file's folder. Default: every `pipelines/*.toml` beside it.
    #[serde(default)]
    pub pipelines: Option<Vec<PathBuf>>,
    /// Filled by `load`: the folder the config file is in (relative paths resolve from here).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Filled by `load`: the pipelines, parsed.
    #[serde(skip)]
    pub loaded_pipelines: Vec<Pipeline>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://var/facteur.db` (default; relative to the config folder) or `postgres://user@host/db`
    /// for a store shared by several workers and machines.
    #[serde(default = "default_database_url")]
    pub url: String,
    /// Pool size. SQLite has one writer whatever this says.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_database_url() -> String {
    "sqlite://var/facteur.db".to_string()
}
fn default_max_connections() -> u32 {
    8
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: default_database_url(),
            max_connections: default_max_connections(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// Largest document accepted, in MiB; bigger files are refused before being read into memory.
    #[serde(default = "default_max_document_mb")]
    pub max_document_mb: u64,
}

fn default_max_document_mb() -> u64 {
    100
}

impl Default for IntakeSettings {
    fn default() -> Self {
        IntakeSettings {
            max_document_mb: default_max_document_mb(),
        }
    }
}

impl IntakeSettings {
    pub fn max_document_bytes(&self) -> u64 {
        self.max_document_mb.saturating_mul(1024 * 1024)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Stage jobs processed at once by this worker process.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// A claimed job belongs to its worker this long; a crashed worker's jobs are reaped after it.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Attempts before a job is `dead` (kept, with its last error, for `documents show`).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt.
    #[serde(default = "default_backoff_secs")]
    pub backoff_secs: u64,
    /// How often an idle worker looks for new jobs.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
}

fn default_concurrency() -> usize {
    2
}
fn default_lease_secs() -> u64 {
    300
}
fn default_max_attempts() -> u32 {
    5
}
fn default_backoff_secs() -> u64 {
    10
}
fn default_poll_ms() -> u64 {
    500
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: default_concurrency(),
            lease_secs: default_lease_secs(),
            max_attempts: default_max_attempts(),
            backoff_secs: default_backoff_secs(),
            poll_interval_ms: default_poll_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSettings {
    /// Tesseract language for scans: `fra` reads English too (measured), `eng`, `deu`, `fra+eng`…
    #[serde(default = "default_ocr_language")]
    pub ocr_language: String,
    /// Pages per document OCR will read.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Pixels per page image, refused before decoding (decompression bombs).
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
    /// Seconds per OCR page.
    #[serde(default = "default_page_timeout")]
    pub page_timeout_secs: u64,
    /// Below this confidence (0–1) on number, date or total, a document goes to `needs_review`.
    #[serde(default = "default_review_threshold")]
    pub review_threshold: f32,
    /// Reader child processes (the sandbox); 0 means one per core.
    #[serde(default)]
    pub sandbox_workers: usize,
    /// Address-space limit of a reader child, MiB.
    #[serde(default = "default_sandbox_memory")]
    pub sandbox_memory_mb: u64,
    /// Wall-clock limit for reading one document, seconds.
    #[serde(default = "default_sandbox_timeout")]
    pub sandbox_timeout_secs: u64,
}

fn default_ocr_language() -> String {
    "fra".into()
}
fn default_max_pages() -> u32 {
    50
}
fn default_max_pixels() -> u64 {
    40_000_000
}
fn default_page_timeout() -> u64 {
    60
}
fn default_review_threshold() -> f32 {
    0.8
}
fn default_sandbox_memory() -> u64 {
    2048
}
fn default_sandbox_timeout() -> u64 {
    600
}

impl Default for ReadSettings {
    fn default() -> Self {
        ReadSettings {
            ocr_language: default_ocr_language(),
            max_pages: default_max_pages(),
            max_pixels: default_max_pixels(),
            page_timeout_secs: default_page_timeout(),
            review_threshold: default_review_threshold(),
            sandbox_workers: 0,
            sandbox_memory_mb: default_sandbox_memory(),
            sandbox_timeout_secs: default_sandbox_timeout(),
        }
    }
}

impl ReadSettings {
    pub fn read_options(&self) -> crate::read::ReadOptions {
        crate::read::ReadOptions {
            method: crate::read::MethodChoice::Auto,
            ocr_language: self.ocr_language.clone(),
            max_pages: self.max_pages,
            max_pixels: self.max_pixels,
            page_timeout_secs: self.page_timeout_secs,
        }
    }

    pub fn sandbox_config(&self) -> crate::read::sandbox::SandboxConfig {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        crate::read::sandbox::SandboxConfig {
            workers: if self.sandbox_workers == 0 {
                cores
            } else {
                self.sandbox_workers
            },
            memory_limit_mb: self.sandbox_memory_mb,
            cpu_limit_secs: self.sandbox_timeout_secs,
            wall_timeout_secs: self.sandbox_timeout_secs,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter: `info`, `facteur=debug,sqlx=warn`, …
    #[serde(default = "default_log_level")]
    pub level: String,
    #[serde(default)]
    pub format: LogFormat,
}

fn default_log_level() -> String {
    "info".into()
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: default_log_level(),
            format: LogFormat::Text,
        }
    }
}

/// Where the config file is: `--config`, else `FACTEUR_CONFIG`, else `./facteur.toml`.
pub fn config_path(cli: Option<&Path>) -> PathBuf {
    cli.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("FACTEUR_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("facteur.toml"))
}

impl Settings {
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
        Settings::deserialize(toml::Value::Table(table)).map_err(|e| {
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
        })
    }

    /// Checks what types alone cannot say.
    fn check(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            errors.push(ConfigError::at(
                path,
                text,
                "url",
                format!("database.url '{url}' is neither SQLite nor PostgreSQL"),
                Some("write url = \"sqlite://var/facteur.db\" or url = \"postgres://user@host:5432/facteur\"".into()),
            ));
        }
        if !(0.0..=1.0).contains(&self.read.review_threshold) {
            errors.push(ConfigError::at(
                path,
                text,
                "review_threshold",
                format!(
                    "read.review_threshold {} is outside 0–1",
                    self.read.review_threshold
                ),
                Some("write a confidence such as 0.8".into()),
            ));
        }
        if self.worker.concurrency == 0 {
            errors.push(ConfigError::at(
                path,
                text,
                "concurrency",
                "worker.concurrency must be at least 1",
                None,
            ));
        }
        // IMAP accounts: regexes and credentials, reported at load with the pipeline file's line.
        for p in &self.loaded_pipelines {
            let text = std::fs::read_to_string(&p.file).unwrap_or_default();
            for source in &p.sources {
                if let SourceConfig::Imap(c) = source {
                    errors.extend(crate::sources::imap::diagnose(c, &p.file, &text));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                diagnostics: errors.into_iter().flat_map(|e| e.diagnostics).collect(),
            })
        }
    }

    /// The database URL with a relative SQLite path resolved against the config folder.
    pub fn database_url(&self) -> String {
        let url = &self.database.url;
        match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(rest) if !rest.starts_with('/') && !rest.starts_with(":memory:") => {
                format!("sqlite://{}", self.base_dir.join(rest).display())
            }
            _ => url.clone(),
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
        assert_eq!(s.database.url, "sqlite://var/facteur.db");
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
        assert_eq!(s.database.url, "postgres://x@y/z");
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
}
