//! Configuration of a drop-folder source (`[[source]] type = "folder"` in a pipeline file).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How a folder notices new files.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// Kernel file events (inotify), plus a slow rescan as a safety net.
    #[default]
    Notify,
    /// Rescan every `poll_interval_secs`: for SMB/NFS shares, where events do not arrive.
    Poll,
}

/// `[[source]] type = "folder"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
    /// Unique source name, recorded on every document it delivers.
    pub name: String,
    /// The folder people drop invoices into (relative to the pipeline file's folder).
    pub path: PathBuf,
    /// Also take files from subfolders (never from processed/ and failed/).
    #[serde(default)]
    pub recursive: bool,
    #[serde(default)]
    pub watch: WatchMode,
    /// Rescan interval in seconds (`watch = "poll"`; with notify, the safety-net rescan is 6× this).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    /// A file is taken once its size and mtime have not changed for this many seconds.
    #[serde(default = "default_stable_secs")]
    pub stable_secs: u64,
    /// Extra glob patterns to ignore, beside the built-in ones (dotfiles, `~$*`, `*.part`, `*.tmp`,
    /// `Thumbs.db`, `desktop.ini`, `*.reason.txt`).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Where committed files go (date-stamped subfolders). Default: `<path>/processed`.
    pub processed_dir: Option<PathBuf>,
    /// Where unreadable files go, with `<name>.reason.txt`. Default: `<path>/failed`.
    pub failed_dir: Option<PathBuf>,
}

fn default_poll_interval() -> u64 {
    10
}
fn default_stable_secs() -> u64 {
    5
}

impl FolderConfig {
    /// Resolves relative paths against `base` (the pipeline file's folder).
    pub fn resolved(mut self, base: &Path) -> Self {
        self.path = base.join(&self.path); // join keeps an absolute path as it is
        let processed = self
            .processed_dir
            .take()
            .unwrap_or_else(|| self.path.join("processed"));
        let failed = self
            .failed_dir
            .take()
            .unwrap_or_else(|| self.path.join("failed"));
        self.processed_dir = Some(base.join(processed));
        self.failed_dir = Some(base.join(failed));
        self
    }
}
