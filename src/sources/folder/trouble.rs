//! What the folder source remembers about files it could not finish, so it neither hammers a share
//! nor repeats work: a transient read error (EIO, EACCES, ESTALE… on a network share) is retried
//! with a doubling delay before the file goes to failed/, and a committed file that cannot be
//! filed (read-only share, a delete that fails) is retried with a doubling delay *without being
//! committed again* (each retry used to add an arrival row and, across devices, a new copy).
//! Each trouble is reported once, when it starts. In memory only: after a restart a committed
//! file is committed once more, which intake records as one re-arrival.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::scan::Stat;

/// Reads tried on a transient error before the file is filed under failed/.
pub const TRANSIENT_ATTEMPTS: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(300);

/// OS errors a network share returns for a while and then not (so worth retrying).
pub fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EIO
                | libc::EACCES
                | libc::EPERM
                | libc::ESTALE
                | libc::EAGAIN
                | libc::EBUSY
                | libc::EINTR
                | libc::ETIMEDOUT
                | libc::ENOTCONN
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::ENOLCK
                | libc::ECONNRESET
        )
    )
}

#[derive(Debug)]
struct Trouble {
    attempts: u32,
    next_at: Instant,
    /// Committed already, at this size and mtime: only filing it is owed.
    committed: Option<Stat>,
}

#[derive(Debug, Default)]
pub struct Troubles {
    files: HashMap<PathBuf, Trouble>,
}

impl Troubles {
    /// False while the file waits out its delay.
    pub fn due(&self, path: &Path, now: Instant) -> bool {
        self.files.get(path).is_none_or(|t| t.next_at <= now)
    }

    /// The stat the file had when it was committed, if only filing it is owed.
    pub fn committed(&self, path: &Path) -> Option<Stat> {
        self.files.get(path).and_then(|t| t.committed)
    }

    /// Counts one more failed attempt and schedules the next; returns the attempts so far
    /// (1: the trouble just started, report it).
    pub fn failed(&mut self, path: &Path, committed: Option<Stat>, now: Instant) -> u32 {
        let t = self.files.entry(path.to_path_buf()).or_insert(Trouble {
            attempts: 0,
            next_at: now,
            committed: None,
        });
        t.attempts += 1;
        t.committed = committed.or(t.committed);
        let factor = 2u32.saturating_pow(t.attempts.saturating_sub(1).min(16));
        t.next_at = now + FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY);
        t.attempts
    }

    pub fn clear(&mut self, path: &Path) {
        self.files.remove(path);
    }

    /// Forgets files no longer in the folder.
    pub fn retain_present(&mut self, present: &std::collections::HashSet<PathBuf>) {
        self.files.retain(|p, _| present.contains(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_commits_are_remembered() {
        let mut t = Troubles::default();
        let (p, now) = (PathBuf::from("a.pdf"), Instant::now());
        assert!(t.due(&p, now));
        assert_eq!(t.failed(&p, None, now), 1);
        assert!(!t.due(&p, now));
        assert!(t.due(&p, now + Duration::from_secs(1)));
        let stat = Stat {
            size: 3,
            mtime: None,
        };
        assert_eq!(t.failed(&p, Some(stat), now), 2);
        assert!(!t.due(&p, now + Duration::from_secs(1)));
        assert!(t.due(&p, now + Duration::from_secs(2)));
        assert_eq!(t.committed(&p), Some(stat));
        assert!(is_transient(&std::io::Error::from_raw_os_error(
            libc::ESTALE
        )));
        assert!(!is_transient(&std::io::Error::from_raw_os_error(
            libc::ENOENT
        )));
    }
}
