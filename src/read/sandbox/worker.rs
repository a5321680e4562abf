//! One sandbox child as the parent sees it: starting it (`facteur __sandbox-child` with the limits
//! in its environment), the framed exchange of one document, and, when it stops answering, reaping
//! it and saying why from its exit status and the tail of its stderr.
//!
//! Kept apart from the pool (`mod.rs`) because this is where the operating system shows through:
//! signals, pipes, and the words a C++ library leaves on stderr when RLIMIT_AS stops it.
//!
//! Each child leads its own process group, and its helpers (`pdftoppm`) inherit it: a child that
//! is stopped is stopped with `killpg`, helpers included, and always before it is reaped (a
//! zombie leader keeps its pid, so the group id cannot have been reused by then). Its private
//! `TMPDIR` (`env.rs`) is removed once it is gone. A parent killed with SIGKILL cannot remove
//! its children's folders, so they carry its pid (`facteur-sandbox-<pid>-…`) and the next parent
//! to start a child removes those whose pid is gone (`sweep_orphans`).

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::env::child_env;
use super::protocol::{Response, MAX_RESPONSE_BYTES, READY};
use super::SandboxConfig;
use crate::read::{ReadError, ReadOptions};

/// The name of a child's private folder: this prefix, the parent's pid, a dash, random letters.
const TMP_PREFIX: &str = "facteur-sandbox-";

/// Removes the child folders in `root` whose parent process is gone (killed before it could
/// remove them); returns how many. A folder of a live process, of this one, or named otherwise
/// is left alone.
fn sweep_orphans(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TMP_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
        if gone && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// How long a new child may take to print its greeting.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a dead child's stderr goes into the error.
const STDERR_TAIL: usize = 16 * 1024;
/// How long a child that stopped answering may take to exit by itself (so its own exit status,
/// not our SIGKILL, says why) before its group is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

pub(super) struct Worker {
    pub(super) pid: u32,
    process: Child,
    /// `None` once closed (`stop`).
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    tail: Arc<Mutex<Vec<u8>>>,
    stderr_task: tokio::task::JoinHandle<()>,
    /// The child's private TMPDIR; removed on drop, after the group is dead.
    _tmpdir: tempfile::TempDir,
    /// Set once the child was waited for: its pid may belong to someone else from then on.
    reaped: bool,
}

impl Worker {
    /// Starts a child and waits for its greeting.
    pub(super) async fn start(config: &SandboxConfig, program: &Path) -> Result<Worker, ReadError> {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            let removed = sweep_orphans(&std::env::temp_dir());
            if removed > 0 {
                tracing::info!(removed, "removed reader folders left by killed processes");
            }
        });
        let tmpdir = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| {
                ReadError::Crashed(format!(
                    "cannot create a temporary folder for a reader process in {}: {e}",
                    std::env::temp_dir().display()
                ))
            })?;
        let mut process = Command::new(program)
            .args(&config.child_args)
            .env_clear()
            .envs(child_env(std::env::vars_os(), config, tmpdir.path()))
            // Its own process group, which its helpers (pdftoppm) inherit: see `kill_group`.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ReadError::Crashed(format!(
                    "cannot start the reader process {}: {e}",
                    program.display()
                ))
            })?;
        let pid = process.id().unwrap_or(0);
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            return Err(ReadError::Crashed(
                "the reader process has no stdin/stdout/stderr pipes".into(),
            ));
        };
        let tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_task = tokio::spawn(keep_tail(stderr, Arc::clone(&tail)));
        let mut worker = Worker {
            process,
            pid,
            stdin: Some(stdin),
            stdout,
            tail,
            stderr_task,
            _tmpdir: tmpdir,
            reaped: false,
        };
        match tokio::time::timeout(STARTUP_TIMEOUT, worker.await_greeting()).await {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(e)) => {
                let reason = worker.diagnose(&e, config).await;
                Err(ReadError::Crashed(format!(
                    "the reader process {} did not start (is `{}` a facteur binary?): {reason}",
                    pid,
                    program.display()
                )))
            }
            Err(_) => {
                worker.finish().await;
                Err(ReadError::Crashed(format!(
                    "the reader process {} did not greet within {} s",
                    program.display(),
                    STARTUP_TIMEOUT.as_secs()
                )))
            }
        }
    }

    /// Whether the child is still running (one may have been killed while it was idle).
    pub(super) fn is_alive(&mut self) -> bool {
        match self.process.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) => {
                self.reaped = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Closes the child's stdin (its signal to exit cleanly) and reaps it, killing its group
    /// after 5 s.
    pub(super) async fn stop(mut self) {
        drop(self.stdin.take());
        if exited_within(self.pid, Duration::from_secs(5))
            .await
            .is_none()
        {
            self.kill_group();
        }
        let _ = self.process.wait().await;
        self.reaped = true;
    }

    pub(super) async fn await_greeting(&mut self) -> std::io::Result<()> {
        let mut seen: Vec<u8> = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            if self.stdout.read(&mut byte).await? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "stdout closed before the greeting",
                ));
            }
            seen.push(byte[0]);
            if seen.ends_with(READY) {
                return Ok(());
            }
            if seen.len() > 64 * 1024 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "64 KiB of output without the sandbox greeting",
                ));
            }
        }
    }

    pub(super) async fn exchange(
        &mut self,
        opts: &ReadOptions,
        bytes: &[u8],
    ) -> std::io::Result<Response> {
        let opts = serde_json::to_vec(opts).map_err(std::io::Error::other)?;
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the reader's stdin is closed",
            )
        })?;
        for frame in [&opts[..], bytes] {
            let len = u32::try_from(frame.len()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("document of {} bytes is too large to send", frame.len()),
                )
            })?;
            stdin.write_all(&len.to_le_bytes()).await?;
            stdin.write_all(frame).await?;
        }
        stdin.flush().await?;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len).await?;
        let len = u32::from_le_bytes(len);
        if len > MAX_RESPONSE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("response of {len} bytes exceeds {MAX_RESPONSE_BYTES}"),
            ));
        }
        let mut buf = vec![0u8; len as usize];
        self.stdout.read_exact(&mut buf).await?;
        serde_json::from_slice(&buf).map_err(std::io::Error::other)
    }

    /// Kills (if still running) the child and its helpers, and reaps it. A child that is
    /// already exiting gets `EXIT_GRACE` to do so, so its status says why it stopped.
    pub(super) async fn finish(&mut self) -> Option<std::process::ExitStatus> {
        if self.reaped {
            return None;
        }
        let _ = exited_within(self.pid, EXIT_GRACE).await;
        // Dead or alive, the leader is not reaped yet: the group id is still ours.
        self.kill_group();
        let status = self.process.wait().await.ok();
        self.reaped = true;
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.stderr_task).await;
        status
    }

    /// SIGKILL to the child's whole process group (the child and its helpers). Only called
    /// before the child is reaped.
    fn kill_group(&self) {
        if self.reaped || self.pid == 0 {
            return;
        }
        let Ok(pgid) = libc::pid_t::try_from(self.pid) else {
            return;
        };
        // SAFETY: kill(2)/killpg(2) on our unreaped child and the group it leads
        // (`process_group(0)`): its pid is not reaped yet, so neither id can belong to anyone
        // else. The child itself is killed directly as well, so that it dies (and `wait` returns)
        // even if it were not a group leader.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
            libc::kill(pgid, libc::SIGKILL);
        }
    }

    /// Why the child stopped answering, as the error the document will carry.
    pub(super) async fn diagnose(&mut self, io: &std::io::Error, cfg: &SandboxConfig) -> ReadError {
        let status = self.finish().await;
        let tail = self
            .tail
            .lock()
            .map(|t| String::from_utf8_lossy(&t).trim().to_string())
            .unwrap_or_default();
        let stderr = if tail.is_empty() {
            String::new()
        } else {
            format!("; its last words: {}", last_lines(&tail, 3))
        };
        // Rust's allocation failure, C++'s (terminate or, through the C API, an exception Rust
        // cannot catch: under RLIMIT_AS that is std::bad_alloc), and the C libraries' own words.
        let out_of_memory = [
            "memory allocation of",
            "bad_alloc",
            "cannot catch foreign exceptions",
            "Out of memory",
            "Cannot allocate",
        ]
        .iter()
        .any(|m| tail.contains(m));
        use std::os::unix::process::ExitStatusExt;
        match status.map(|s| (s.signal(), s.code())) {
            // Spinning is hanging: the stage counts it with the wall-clock timeout.
            Some((Some(libc::SIGXCPU), _)) => ReadError::Timeout(format!(
                "reading used more than the {} s CPU limit; the reader process was stopped",
                cfg.cpu_limit_secs
            )),
            // The process died of it: a crash, whose reason names the limit.
            _ if out_of_memory => ReadError::Crashed(format!(
                "reading needed more than the {} MiB memory limit and the reader process \
                 {} died{stderr}",
                cfg.memory_limit_mb, self.pid
            )),
            Some((Some(sig), _)) => ReadError::Crashed(format!(
                "the reader process {} was killed by signal {sig} ({}){stderr}",
                self.pid,
                signal_name(sig)
            )),
            Some((None, Some(code))) => ReadError::Crashed(format!(
                "the reader process {} exited with code {code}{stderr}",
                self.pid
            )),
            _ => ReadError::Crashed(format!(
                "lost the reader process {}: {io}{stderr}",
                self.pid
            )),
        }
    }
}

impl Drop for Worker {
    /// A worker dropped without `finish` (a cancelled read, a pool going away) takes its group
    /// with it; `kill_on_drop` alone would leave the helpers running.
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Waits up to `grace` for the child to exit, without reaping it (`WNOWAIT`), so its group can
/// still be killed safely afterwards. `Some(())` when it exited.
async fn exited_within(pid: u32, grace: Duration) -> Option<()> {
    let deadline = tokio::time::Instant::now() + grace;
    let pid = libc::id_t::from(pid);
    loop {
        // SAFETY: waitid(2) with WNOWAIT only reports on our own child and leaves it unreaped;
        // `info` is a plain struct the call fills.
        let exited = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r == 0 && info.si_pid() != 0
        };
        if exited {
            return Some(());
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn keep_tail(mut stderr: tokio::process::ChildStderr, tail: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let Some(chunk) = buf.get(..n) else { break };
        tracing::debug!(target: "facteur::sandbox", "{}", String::from_utf8_lossy(chunk).trim_end());
        if let Ok(mut t) = tail.lock() {
            t.extend_from_slice(chunk);
            let excess = t.len().saturating_sub(STDERR_TAIL);
            t.drain(..excess);
        }
    }
}

/// The last `n` lines that say something (backtrace frames and notes left out).
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(char::is_whitespace))
        .filter(|l| !l.starts_with("stack backtrace") && !l.starts_with("note: "))
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL: killed from outside, e.g. the kernel's out-of-memory killer",
        libc::SIGSEGV => "SIGSEGV: invalid memory access",
        libc::SIGABRT => "SIGABRT: the reader aborted",
        libc::SIGBUS => "SIGBUS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU: CPU limit",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_killed_parents_are_swept_and_the_living_kept() {
        let root = tempfile::tempdir().unwrap();
        // A pid that surely exited: a child we started and waited for.
        let mut done = std::process::Command::new("true").spawn().unwrap();
        done.wait().unwrap();
        let dead = root.path().join(format!("{TMP_PREFIX}{}-abc", done.id()));
        let mine = root
            .path()
            .join(format!("{TMP_PREFIX}{}-def", std::process::id()));
        let other = root.path().join("facteur-sandbox-notapid");
        for d in [&dead, &mine, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("page.png"), b"x").unwrap();
        }
        assert_eq!(sweep_orphans(root.path()), 1);
        assert!(!dead.exists(), "the dead parent's folder stayed");
        assert!(mine.exists() && other.exists());
    }
}
