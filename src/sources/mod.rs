//! Sources turn the outside world into `RawDocument`s and hand them to intake; they never parse.
//!
//! A source acknowledges to the outside world (moves a file to `processed/`, moves a mail) only
//! after intake has committed the document, so a crash between the two re-delivers bytes that
//! intake recognises by their hash: nothing is lost and nothing is doubled.

pub mod folder;
pub mod imap;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::{IntakeSettings, SourceConfig};
use crate::store::Store;

/// What every source is given to deliver documents.
#[derive(Clone)]
pub struct SourceContext {
    pub store: Arc<dyn Store>,
    pub intake: IntakeSettings,
    /// This worker process's identity (`host:pid`), for leases.
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
