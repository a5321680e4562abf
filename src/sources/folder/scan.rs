//! Which files in a drop folder are ready: not ignored, and stable (size and mtime unchanged across
//! observations at least `stable_secs` apart). Pure bookkeeping over `stat` results, so it is tested
//! without sleeping. Observation-based rather than "mtime is old" because copies from Windows shares
//! keep the source file's mtime while the bytes are still arriving.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// File names never taken: temporary, hidden and system files, and our own reason files.
pub const DEFAULT_IGNORES: &[&str] = &[
    ".*",
    "~$*",
    "*.part",
    "*.tmp",
    "*.crdownload",
    "*.swp",
    "Thumbs.db",
    "desktop.ini",
    "*.reason.txt",
];

pub fn ignore_set(extra: &[String]) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for p in DEFAULT_IGNORES
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        b.add(Glob::new(p)?);
    }
    b.build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    pub mtime: Option<SystemTime>,
}

#[derive(Debug)]
struct Seen {
    stat: Stat,
    since: Instant,
}

/// Tracks candidate files across scans.
#[derive(Debug, Default)]
pub struct Stability {
    seen: HashMap<PathBuf, Seen>,
}

impl Stability {
    /// Records this scan's observations and returns the files stable for `window`, oldest first.
    /// Files no longer present are forgotten.
    pub fn observe(
        &mut self,
        files: Vec<(PathBuf, Stat)>,
        now: Instant,
        window: Duration,
    ) -> Vec<PathBuf> {
        let present: std::collections::HashSet<PathBuf> =
            files.iter().map(|(p, _)| p.clone()).collect();
        self.seen.retain(|p, _| present.contains(p));
        let mut ready = Vec::new();
        for (path, stat) in files {
            match self.seen.get_mut(&path) {
                Some(s) if s.stat == stat => {
                    if now.duration_since(s.since) >= window {
                        ready.push((s.since, path));
                    }
                }
                Some(s) => {
                    s.stat = stat;
                    s.since = now;
                }
                None => {
                    self.seen.insert(path, Seen { stat, since: now });
                }
            }
        }
        ready.sort();
        ready.into_iter().map(|(_, p)| p).collect()
    }

    /// Forgets a file once it was handled (moved away, or failed).
    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// True while some file is waiting for its window to pass.
    pub fn has_pending(&self) -> bool {
        !self.seen.is_empty()
    }
}

/// Lists regular files under `root` (recursively if asked), skipping `skip` folders and ignored
/// names. Unreadable folders are reported, not fatal.
pub fn list_files(
    root: &Path,
    recursive: bool,
    skip: &[&Path],
    ignore: &GlobSet,
    errors: &mut Vec<String>,
) -> Vec<(PathBuf, Stat)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                errors.push(format!("cannot list {}: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if ignore.is_match(Path::new(&name)) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                if recursive && !skip.iter().any(|s| *s == path) {
                    stack.push(path);
                }
            } else if meta.is_file() {
                out.push((
                    path,
                    Stat {
                        size: meta.len(),
                        mtime: meta.modified().ok(),
                    },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_ready_only_after_its_window() {
        let mut s = Stability::default();
        let t0 = Instant::now();
        let w = Duration::from_secs(5);
        let st = |size| Stat { size, mtime: None };
        let p = PathBuf::from("a.pdf");
        assert!(s.observe(vec![(p.clone(), st(10))], t0, w).is_empty());
        // Grew: the window restarts.
        assert!(s
            .observe(vec![(p.clone(), st(20))], t0 + Duration::from_secs(4), w)
            .is_empty());
        assert!(s
            .observe(vec![(p.clone(), st(20))], t0 + Duration::from_secs(8), w)
            .is_empty());
        assert_eq!(
            s.observe(vec![(p.clone(), st(20))], t0 + Duration::from_secs(9), w),
            vec![p]
        );
        assert!(s
            .observe(vec![], t0 + Duration::from_secs(10), w)
            .is_empty());
        assert!(!s.has_pending());
    }

    #[test]
    fn default_ignores() {
        let g = ignore_set(&["*.bak".into()]).unwrap();
        for n in [
            ".hidden.pdf",
            "~$facture.pdf",
            "x.part",
            "x.tmp",
            "Thumbs.db",
            "a.pdf.reason.txt",
            "o.bak",
        ] {
            assert!(g.is_match(n), "{n}");
        }
        assert!(!g.is_match("facture.pdf"));
    }
}
