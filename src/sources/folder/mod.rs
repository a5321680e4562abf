//! Drop-folder source: watches folders, takes each file once it is stable, commits it through
//! intake, then files it under `processed/<date>/` (or `failed/` with a reason).
//!
//! One worker per folder: the store's named lease `folder:<source>` (two `facteur run` on one
//! share would both commit each file). File-system calls run on the blocking pool (files.rs
//! opens nothing through a symlink), and troubles (trouble.rs) are retried with a growing delay.
//!
//! Events (inotify) trigger scans, but the scan is the truth: a full rescan at start-up and on a
//! timer catches what events miss (SMB/NFS shares deliver none: `watch = "poll"`). The file is moved
//! only after the commit, so a crash in between re-delivers known bytes, which intake records as a
//! re-arrival of the same document.

mod config;
mod files;
mod scan;
mod trouble;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use config::{FolderConfig, WatchMode};
pub use scan::{ignore_set, DEFAULT_IGNORES};

use super::{Source, SourceContext};
use crate::domain::{Origin, RawDocument};
use crate::stages::intake::{self, IntakeError};
use files::Opened;

/// The folder lease: one worker per drop folder across processes and machines.
const LEASE_TTL: Duration = Duration::from_secs(30);

pub struct FolderSource {
    config: FolderConfig,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    Committed(PathBuf),
    Failed(PathBuf),
    /// Left in place to try again (store unavailable, a transient share error, filing failed).
    Retry,
}

/// What a running source carries from one scan to the next.
#[derive(Debug, Default)]
struct State {
    stability: scan::Stability,
    troubles: trouble::Troubles,
    /// The folder problem last reported (a symlinked processed/ or failed/), reported once.
    reported: Option<String>,
    lease_renewed: Option<Instant>,
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

    fn lease_name(&self) -> String {
        format!("folder:{}", self.config.name)
    }

    /// Takes or renews the folder lease; false when another worker holds it (or the store is
    /// down: taking files nobody can commit is pointless).
    async fn renew(&self, ctx: &SourceContext, state: &mut State) -> bool {
        match ctx
            .store
            .try_lease(&self.lease_name(), &ctx.worker_id, LEASE_TTL)
            .await
        {
            Ok(held) => {
                state.lease_renewed = held.then(Instant::now);
                held
            }
            Err(e) => {
                tracing::error!(source = %self.config.name, error = %e, "cannot take the folder lease; store unavailable?");
                false
            }
        }
    }

    /// Runs blocking file-system work off the async runtime, renewing the lease while it waits:
    /// a hung network mount must not freeze the worker nor let its leases lapse.
    async fn blocking<T: Send + 'static>(
        &self,
        ctx: &SourceContext,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let mut task = tokio::task::spawn_blocking(f);
        loop {
            tokio::select! {
                r = &mut task => return r.map_err(|e| tracing::error!(source = %self.config.name, error = %e, "file-system task failed")).ok(),
                _ = tokio::time::sleep(LEASE_TTL / 3) => {
                    tracing::warn!(source = %self.config.name, "file-system call still running (hung share?)");
                    let _ = ctx.store.try_lease(&self.lease_name(), &ctx.worker_id, LEASE_TTL).await;
                }
            }
        }
    }

    /// Files a rejected file under failed/ with its reason.
    async fn fail(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        path: &Path,
        reason: String,
    ) -> FileOutcome {
        tracing::warn!(file = %path.display(), %reason, "file refused");
        let (p, root) = (path.to_path_buf(), self.failed_root());
        match self
            .blocking(ctx, move || files::fail(&p, &root, &reason))
            .await
        {
            Some(Ok(dest)) => {
                state.troubles.clear(path);
                FileOutcome::Failed(dest)
            }
            Some(Err(e)) => {
                if state.troubles.failed(path, None, Instant::now()) == 1 {
                    tracing::error!(file = %path.display(), error = %e, "cannot move the file to failed/; retrying with a growing delay");
                }
                FileOutcome::Retry
            }
            None => FileOutcome::Retry,
        }
    }

    /// Files a committed file under processed/<date>/; a failure is retried later without
    /// committing the file again.
    async fn file(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        path: &Path,
        stat: scan::Stat,
    ) -> FileOutcome {
        let (p, root) = (path.to_path_buf(), self.processed_root());
        let today = chrono::Local::now().date_naive();
        match self
            .blocking(ctx, move || files::file_processed(&p, &root, today))
            .await
        {
            Some(Ok(dest)) => {
                state.troubles.clear(path);
                FileOutcome::Committed(dest)
            }
            Some(Err(e)) => {
                let n = state.troubles.failed(path, Some(stat), Instant::now());
                if n == 1 {
                    tracing::error!(file = %path.display(), error = %e, "committed, but cannot move to processed/; retrying with a growing delay, without committing it again");
                } else {
                    tracing::debug!(file = %path.display(), error = %e, attempts = n, "still cannot move to processed/");
                }
                FileOutcome::Retry
            }
            None => FileOutcome::Retry,
        }
    }

    /// Reads, commits and files one stable file.
    async fn take(&self, ctx: &SourceContext, state: &mut State, path: &Path) -> FileOutcome {
        if let Some(stat) = state.troubles.committed(path) {
            let p = path.to_path_buf();
            if self.blocking(ctx, move || files::stat_of(&p)).await == Some(Some(stat)) {
                return self.file(ctx, state, path, stat).await;
            }
            state.troubles.clear(path); // changed since: new bytes, take them again
        }
        let rel = path
            .strip_prefix(&self.config.path)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let name = path
            .file_name()
            .map_or_else(|| rel.clone(), |n| n.to_string_lossy().into_owned());
        let (p, max) = (path.to_path_buf(), ctx.intake.max_document_bytes());
        let Some(opened) = self
            .blocking(ctx, move || files::read_regular(&p, max))
            .await
        else {
            return FileOutcome::Retry;
        };
        let (bytes, stat) = match opened {
            Ok(Opened::Bytes(b, stat)) => (b, stat),
            Ok(Opened::Gone) => return FileOutcome::Retry,
            Ok(Opened::NotRegular(what)) => {
                tracing::warn!(file = %path.display(), "left alone: it became {what} after the scan");
                return FileOutcome::Retry;
            }
            // Size first: a 2 GB file is refused before a byte of it is read.
            Ok(Opened::TooLarge(len)) => {
                let why = intake::check_size(len, &ctx.intake).err();
                let why = why.unwrap_or_else(|| format!("too large: {len} bytes"));
                return self.fail(ctx, state, path, why).await;
            }
            Err(e) if trouble::is_transient(&e) => {
                let n = state.troubles.failed(path, None, Instant::now());
                if n >= trouble::TRANSIENT_ATTEMPTS {
                    let why = format!("cannot read the file ({n} attempts): {e}");
                    return self.fail(ctx, state, path, why).await;
                }
                if n == 1 {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read the file; retrying with a growing delay");
                }
                return FileOutcome::Retry;
            }
            Err(e) => {
                let why = format!("cannot read the file: {e}");
                return self.fail(ctx, state, path, why).await;
            }
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
            Ok(_) => self.file(ctx, state, path, stat).await,
            Err(IntakeError::Rejected(reason)) => self.fail(ctx, state, path, reason).await,
            Err(IntakeError::Store(e)) => {
                tracing::error!(file = %path.display(), error = %e, "store unavailable; will retry");
                FileOutcome::Retry
            }
        }
    }

    /// Refuses to work while processed/ or failed/ is a symlink; reports a change once.
    async fn roots_ok(&self, ctx: &SourceContext, state: &mut State) -> bool {
        let roots = [self.processed_root(), self.failed_root()];
        let problem = self
            .blocking(ctx, move || files::check_roots(&[&roots[0], &roots[1]]))
            .await
            .and_then(|r| r.err())
            .map(|e| e.to_string());
        if problem != state.reported {
            match &problem {
                Some(p) => {
                    tracing::error!(source = %self.config.name, problem = %p, "drop folder refused: no file is taken until this is fixed")
                }
                None if state.reported.is_some() => {
                    tracing::info!(source = %self.config.name, "drop folder fixed; taking files again")
                }
                None => {}
            }
            state.reported = problem.clone();
        }
        problem.is_none()
    }

    /// One scan: observe, then take what is stable and due. Returns the outcomes.
    async fn scan_once(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        ignore: &globset::GlobSet,
    ) -> Vec<FileOutcome> {
        if !self.roots_ok(ctx, state).await {
            return Vec::new();
        }
        let (root, recursive) = (self.config.path.clone(), self.config.recursive);
        let (processed, failed) = (self.processed_root(), self.failed_root());
        let ignore = ignore.clone();
        let listing = self.blocking(ctx, move || {
            let mut errors = Vec::new();
            let listed = if root.is_dir() {
                scan::list_files(
                    &root,
                    recursive,
                    &[&processed, &failed],
                    &ignore,
                    &mut errors,
                )
            } else {
                errors.push(format!(
                    "folder {} does not exist (or is not a folder)",
                    root.display()
                ));
                Vec::new()
            };
            (listed, errors)
        });
        let Some((listed, errors)) = listing.await else {
            return Vec::new();
        };
        for e in errors {
            tracing::warn!(source = %self.config.name, "{e}");
        }
        let present = listed.iter().map(|(p, _)| p.clone()).collect();
        state.troubles.retain_present(&present);
        let window = Duration::from_secs(self.config.stable_secs);
        let now = Instant::now();
        let ready = state.stability.observe(listed, now, window);
        let mut outcomes = Vec::with_capacity(ready.len());
        for path in ready {
            if ctx.shutdown.is_cancelled() {
                break;
            }
            if !state.troubles.due(&path, Instant::now()) {
                continue;
            }
            let stale = state
                .lease_renewed
                .is_none_or(|t| t.elapsed() >= LEASE_TTL / 3);
            if stale && !self.renew(ctx, state).await {
                break; // another worker took the folder
            }
            let outcome = self.take(ctx, state, &path).await;
            if outcome != FileOutcome::Retry {
                state.stability.forget(&path);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Starts inotify on the folder; `None` (with a warning) when it cannot, and polling carries on.
    fn watch(&self, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
        use notify::Watcher;
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok_and(|e| wakes_a_scan(&e.kind)) {
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

/// Whether a file event can change what a scan finds. Opening or reading a file or the folder
/// cannot, and a scan itself opens the folder to list it: woken by those, the source scanned
/// and renewed its lease in a loop, about a thousand times a second while idle. A file closed
/// after writing can (its stability window starts over).
fn wakes_a_scan(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
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
        let mut state = State::default();
        loop {
            let wait = if self.renew(&ctx, &mut state).await {
                let outcomes = self.scan_once(&ctx, &mut state, &ignore).await;
                if watcher.is_none()
                    && self.config.watch == WatchMode::Notify
                    && self.config.path.is_dir()
                {
                    // The folder (re)appeared: try events again.
                    watcher = self.watch(tx.clone());
                }
                if state.stability.has_pending() || !outcomes.is_empty() {
                    settle
                } else {
                    rescan.min(LEASE_TTL / 3)
                }
            } else {
                // Another worker holds this folder: look again when its lease could lapse.
                LEASE_TTL / 3
            };
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                _ = rx.recv() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let _ = ctx
            .store
            .release_lease(&self.lease_name(), &ctx.worker_id)
            .await;
        tracing::info!(source = %self.config.name, "stopped");
        Ok(())
    }
}

#[cfg(test)]
mod wake_tests {
    use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};

    use super::wakes_a_scan;

    #[test]
    fn only_events_that_change_the_folder_wake_a_scan() {
        // What a scan does itself (open and list the folder, read a file) must not wake another.
        assert!(!wakes_a_scan(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!wakes_a_scan(&EventKind::Access(AccessKind::Read)));
        assert!(!wakes_a_scan(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        // A file arriving, growing, finished or moved does.
        assert!(wakes_a_scan(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(wakes_a_scan(&EventKind::Create(CreateKind::File)));
        assert!(wakes_a_scan(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(wakes_a_scan(&EventKind::Modify(ModifyKind::Any)));
        assert!(wakes_a_scan(&EventKind::Remove(
            notify::event::RemoveKind::File
        )));
    }
}
