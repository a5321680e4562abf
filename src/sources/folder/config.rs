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
    /// Resolves relative paths against `base` (the pipeline file's folder), once each: `path`,
    /// `processed_dir` and `failed_dir` as written are relative to the file; the defaults are
    /// `processed/` and `failed/` inside the (already resolved) `path`.
    pub fn resolved(mut self, base: &Path) -> Self {
        self.path = base.join(&self.path); // join keeps an absolute path as it is
        self.processed_dir = Some(match self.processed_dir.take() {
            Some(p) => base.join(p),
            None => self.path.join("processed"),
        });
        self.failed_dir = Some(match self.failed_dir.take() {
            Some(p) => base.join(p),
            None => self.path.join("failed"),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> FolderConfig {
        toml::from_str(&format!("name = \"inbox\"\npath = \"../inbox\"\n{extra}")).unwrap()
    }

    #[test]
    fn relative_paths_resolve_once_against_the_pipeline_folder() {
        let c = config("").resolved(Path::new("ws/pipelines"));
        assert_eq!(c.path, Path::new("ws/pipelines/../inbox"));
        assert_eq!(
            c.processed_dir.as_deref(),
            Some(Path::new("ws/pipelines/../inbox/processed"))
        );
        assert_eq!(
            c.failed_dir.as_deref(),
            Some(Path::new("ws/pipelines/../inbox/failed"))
        );
        let c = config("processed_dir = \"../done\"\nfailed_dir = \"/srv/refused\"\n")
            .resolved(Path::new("ws/pipelines"));
        assert_eq!(
            c.processed_dir.as_deref(),
            Some(Path::new("ws/pipelines/../done"))
        );
        assert_eq!(c.failed_dir.as_deref(), Some(Path::new("/srv/refused")));
    }
}
