//! Drop-folder source: watches folders, takes each file once it is stable, commits it through
//! intake, then files it under `processed/<date>/` (or `failed/` with a reason).
//!
//! Events (inotify) trigger scans, but the scan is the truth: a full rescan at start-up and on a
//! timer catches what events miss (SMB/NFS shares deliver none: `watch = "poll"`). The file is moved
//! only after the commit, so a crash in between re-delivers known bytes, which intake records as a
//! re-arrival of the same document.

mod config;
mod files;
mod scan;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use config::{FolderConfig, WatchMode};
pub use scan::{ignore_set, DEFAULT_IGNORES};

use super::{Source, SourceContext};
use crate::domain::{Origin, RawDocument};
use crate::stages::intake::{self, IntakeError};

pub struct FolderSource {
    config: FolderConfig,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    Committed(PathBuf),
    Failed(PathBuf),
    /// Left in place to try again (the store was unavailable).
    Retry,
}

impl FolderSource {
    pub fn new(config: FolderConfig) -> Self {
        FolderSource { config }
    }

    fn processed_root(&self) -> PathBuf {
        self.config
            .processed_dir
            .clone()
            .unwrap_or_else(|| self.config.path.join("processed"))
    }

    fn failed_root(&self) -> PathBuf {
        self.config
            .failed_dir
            .clone()
            .unwrap_or_else(|| self.config.path.join("failed"))
    }

    /// Reads, commits and files one stable file.
    async fn take(&self, ctx: &SourceContext, path: &Path) -> FileOutcome {
        let rel = path
            .strip_prefix(&self.config.path)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let name = path
            .file_name()
            .map_or_else(|| rel.clone(), |n| n.to_string_lossy().into_owned());
        let fail = |reason: String| {
            tracing::warn!(file = %path.display(), %reason, "file refused");
            match files::fail(path, &self.failed_root(), &reason) {
                Ok(dest) => FileOutcome::Failed(dest),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot move the file to failed/");
                    FileOutcome::Retry
                }
            }
        };
        // Size first: a 2 GB file is refused before a byte of it is read.
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileOutcome::Retry,
            Err(e) => return fail(format!("cannot read the file's metadata: {e}")),
        };
        if let Err(reason) = intake::check_size(len, &ctx.intake) {
            return fail(reason);
        }
        let bytes = match tokio::fs::read(path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileOutcome::Retry,
            Err(e) => return fail(format!("cannot read the file: {e}")),
        };
        let raw = RawDocument {
            bytes,
            name,
            origin: Origin::Folder {
                source: self.config.name.clone(),
                path: rel,
            },
        };
        match intake::accept(ctx.store.as_ref(), &raw, &ctx.intake).await {
            Ok(_) => {
                let dir =
                    files::processed_dir(&self.processed_root(), chrono::Local::now().date_naive());
                match files::move_into(path, &dir) {
                    Ok(dest) => FileOutcome::Committed(dest),
                    Err(e) => {
                        // Committed already; the next scan re-delivers it as a known re-arrival.
                        tracing::error!(file = %path.display(), error = %e, "committed, but cannot move to processed/");
                        FileOutcome::Retry
                    }
                }
            }
            Err(IntakeError::Rejected(reason)) => fail(reason),
            Err(IntakeError::Store(e)) => {
                tracing::error!(file = %path.display(), error = %e, "store unavailable; will retry");
                FileOutcome::Retry
            }
        }
    }

    /// One scan: observe, then take what is stable. Returns the outcomes, for tests and logs.
    pub async fn scan_once(
        &self,
        ctx: &SourceContext,
        stability: &mut scan::Stability,
        ignore: &globset::GlobSet,
    ) -> Vec<FileOutcome> {
        let (processed, failed) = (self.processed_root(), self.failed_root());
        let mut errors = Vec::new();
        let listed = if self.config.path.is_dir() {
            scan::list_files(
                &self.config.path,
                self.config.recursive,
                &[&processed, &failed],
                ignore,
                &mut errors,
            )
        } else {
            errors.push(format!(
                "folder {} does not exist (or is not a folder)",
                self.config.path.display()
            ));
            Vec::new()
        };
        for e in errors {
            tracing::warn!(source = %self.config.name, "{e}");
        }
        let window = Duration::from_secs(self.config.stable_secs);
        let ready = stability.observe(listed, Instant::now(), window);
        let mut outcomes = Vec::with_capacity(ready.len());
        for path in ready {
            if ctx.shutdown.is_cancelled() {
                break;
            }
            let outcome = self.take(ctx, &path).await;
            if outcome != FileOutcome::Retry {
                stability.forget(&path);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Starts inotify on the folder; `None` (with a warning) when it cannot, and polling carries on.
    fn watch(&self, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
        use notify::Watcher;
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok() {
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| tracing::warn!(error = %e, "file events unavailable; polling only"))
        .ok()?;
        let mode = if self.config.recursive {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        match w.watch(&self.config.path, mode) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(folder = %self.config.path.display(), error = %e, "cannot watch; polling only");
                None
            }
        }
    }
}

#[async_trait]
impl Source for FolderSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> anyhow::Result<()> {
        let ignore = scan::ignore_set(&self.config.ignore)
            .map_err(|e| anyhow::anyhow!("source {}: bad ignore pattern: {e}", self.config.name))?;
        let poll = Duration::from_secs(self.config.poll_interval_secs.max(1));
        let rescan = match self.config.watch {
            WatchMode::Poll => poll,
            WatchMode::Notify => poll * 6,
        };
        // While files wait for their stability window, look again soon.
        let settle = Duration::from_millis((self.config.stable_secs * 1000 / 2).clamp(200, 1000));
        let (tx, mut rx) = mpsc::channel(1);
        let mut watcher = match self.config.watch {
            WatchMode::Notify => self.watch(tx.clone()),
            WatchMode::Poll => None,
        };
        tracing::info!(source = %self.config.name, folder = %self.config.path.display(), "watching");
        let mut stability = scan::Stability::default();
        loop {
            let outcomes = self.scan_once(&ctx, &mut stability, &ignore).await;
            if watcher.is_none()
                && self.config.watch == WatchMode::Notify
                && self.config.path.is_dir()
            {
                // The folder (re)appeared: try events again.
                watcher = self.watch(tx.clone());
            }
            let wait = if stability.has_pending() || !outcomes.is_empty() {
                settle
            } else {
                rescan
            };
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                _ = rx.recv() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!(source = %self.config.name, "stopped");
        Ok(())
    }
}
