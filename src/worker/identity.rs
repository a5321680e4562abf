//! Who a worker is, for leases: `host:pid:pidns`. Every claim also gets its own random token (see
//! store/queue.rs), so this identity is only for people and for start-up recovery: a worker may
//! take back at once the leases of a process of *its own host* that no longer exists, instead of
//! waiting for them to expire (a full lease: 5 minutes for a read).
//!
//! "Own host" means the same host name *and* the same PID namespace (the inode of
//! /proc/self/ns/pid): two containers with the same host name, each with its own PID 1, are
//! different hosts here, so one never takes the other's live jobs on a PID that only exists in
//! the other's namespace. When in doubt (no namespace to read, a PID alive or reused) nothing is
//! taken back early and the lease expires as usual.

use std::fmt;

/// A running worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerId {
    pub host: String,
    pub pid: u32,
    /// The PID namespace's inode; 0 when it cannot be read (then never "own host").
    pub pidns: u64,
}

impl WorkerId {
    /// This process.
    pub fn current() -> WorkerId {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        WorkerId {
            host,
            pid: std::process::id(),
            pidns: pid_namespace(),
        }
    }

    /// Reads an owner string back; `None` for owners written by other versions or by hand.
    pub fn parse(s: &str) -> Option<WorkerId> {
        let mut it = s.rsplitn(3, ':');
        let pidns = it.next()?.parse().ok()?;
        let pid = it.next()?.parse().ok()?;
        let host = it.next()?.to_string();
        Some(WorkerId { host, pid, pidns })
    }

    /// `other` ran on this host (same name and PID namespace) as another process that has exited.
    pub fn is_gone_sibling(&self, other: &WorkerId) -> bool {
        self.pidns != 0
            && other.host == self.host
            && other.pidns == self.pidns
            && other.pid != self.pid
            && !process_exists(other.pid)
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.host, self.pid, self.pidns)
    }
}

fn pid_namespace() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino())
}

/// Whether a process with this PID exists in our namespace (a zombie still counts: its parent
/// has not reaped it, so it may hold resources).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists but belongs to someone else.
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_knows_gone_siblings() {
        let me = WorkerId::current();
        assert_eq!(WorkerId::parse(&me.to_string()), Some(me.clone()));
        assert_eq!(
            WorkerId::parse("host:12"),
            None,
            "an owner of an older version"
        );
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait true");
        let gone = WorkerId { pid, ..me.clone() };
        assert!(me.is_gone_sibling(&gone));
        let alive = WorkerId {
            pid: 1,
            ..me.clone()
        };
        assert!(!me.is_gone_sibling(&alive), "PID 1 exists");
        assert!(!me.is_gone_sibling(&me), "never itself");
        let other_host = WorkerId {
            host: format!("{}-other", me.host),
            ..gone.clone()
        };
        assert!(!me.is_gone_sibling(&other_host));
        let other_ns = WorkerId {
            pidns: me.pidns + 1,
            ..gone
        };
        assert!(!me.is_gone_sibling(&other_ns));
    }
}
