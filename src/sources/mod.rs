//! Sources turn the outside world into `RawDocument`s and hand them to intake; they never parse.
//!
//! A source acknowledges to the outside world (moves a file to `processed/`, moves a mail) only
//! after intake has committed the document, so a crash between the two re-delivers bytes that
//! intake recognises by their hash: nothing is lost and nothing is doubled.
//!
//! Each source kind owns its configuration type and its checks (`SourceConfig::problems`), which
//! name the offending key by its path in the source's table; the config loader turns that path
//! into a file, line and column. So sources know nothing of config files or their text.

pub mod folder;
pub mod imap;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use serde::Deserialize;

use crate::stages::intake::IntakeSettings;
use crate::store::Store;

/// A source, by kind (`[[source]] type = "…"` in a pipeline file). Source names must be unique
/// across all pipelines: they key documents' origins.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A watched drop folder.
    Folder(folder::FolderConfig),
    /// An IMAP mailbox account.
    /// (Boxed: an account's config is several times a folder's.)
    Imap(Box<imap::ImapConfig>),
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Folder(f) => &f.name,
            SourceConfig::Imap(i) => &i.name,
        }
    }

    /// Resolves relative paths against `base`, the folder of the file the source is written in.
    pub fn resolved(self, base: &std::path::Path) -> Self {
        match self {
            SourceConfig::Folder(f) => SourceConfig::Folder(f.resolved(base)),
            SourceConfig::Imap(i) => SourceConfig::Imap(Box::new(i.resolved(base))),
        }
    }

    /// What types alone cannot say (credentials, regexes, URLs); empty when the source will start.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            SourceConfig::Folder(_) => Vec::new(),
            SourceConfig::Imap(c) => imap::diagnose(c),
        }
    }
}

/// One step of the path to a key inside a source's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStep {
    Key(&'static str),
    Index(usize),
}

/// A problem in a source's configuration, at the key `path` (relative to the source's table).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: Vec<KeyStep>,
    pub message: String,
    pub hint: Option<String>,
}

/// What every source is given to deliver documents.
#[derive(Clone)]
pub struct SourceContext {
    pub store: Arc<dyn Store>,
    pub intake: IntakeSettings,
    /// This worker process's identity (`host:pid:pidns`, see `worker::identity`), for leases.
    pub worker_id: String,
    pub shutdown: CancellationToken,
}

/// A running source: delivers documents until `ctx.shutdown` is cancelled.
#[async_trait]
pub trait Source: Send {
    fn name(&self) -> &str;
    async fn run(self: Box<Self>, ctx: SourceContext) -> anyhow::Result<()>;
}

/// Turns a source's configuration into a runnable source.
pub fn build(config: &SourceConfig) -> Box<dyn Source> {
    match config {
        SourceConfig::Folder(c) => Box::new(folder::FolderSource::new(c.clone())),
        SourceConfig::Imap(c) => Box::new(imap::ImapSource::new((**c).clone())),
    }
}
