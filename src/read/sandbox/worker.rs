//! One sandbox child as the parent sees it: starting it (`facteur __sandbox-child` with the limits
//! in its environment), the framed exchange of one document, and, when it stops answering, reaping
//! it and saying why from its exit status and the tail of its stderr.
//!
//! Kept apart from the pool (`mod.rs`) because this is where the operating system shows through:
//! signals, pipes, and the words a C++ library leaves on stderr when RLIMIT_AS stops it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::protocol::{Response, MAX_RESPONSE_BYTES, READY};
use super::{SandboxConfig, ENV_CPU_SECS, ENV_MEMORY_MB};
use crate::read::{ReadError, ReadOptions};

/// How long a new child may take to print its greeting.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a dead child's stderr goes into the error.
const STDERR_TAIL: usize = 16 * 1024;

pub(super) struct Worker {
    pub(super) pid: u32,
    process: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    tail: Arc<Mutex<Vec<u8>>>,
    stderr_task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts a child and waits for its greeting.
    pub(super) async fn start(config: &SandboxConfig) -> Result<Worker, ReadError> {
        let program = match &config.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| {
                ReadError::Crashed(format!(
                    "cannot find this executable to start a reader: {e}"
                ))
            })?,
        };
        let mut process = Command::new(&program)
            .args(&config.child_args)
            .env("OMP_THREAD_LIMIT", "1")
            // glibc reserves 64 MiB of address space per malloc arena; RLIMIT_AS counts it.
            .env("MALLOC_ARENA_MAX", "2")
            // One document at a time per child: one engine, not one per core.
            .env(crate::read::ocr::engine::ENV_ENGINES, "1")
            .env(ENV_MEMORY_MB, config.memory_limit_mb.to_string())
            .env(ENV_CPU_SECS, config.cpu_limit_secs.to_string())
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
            stdin,
            stdout,
            tail,
            stderr_task,
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
        matches!(self.process.try_wait(), Ok(None))
    }

    /// Closes the child's stdin (its signal to exit cleanly) and reaps it, killing it after 5 s.
    pub(super) async fn stop(self) {
        let Worker {
            mut process, stdin, ..
        } = self;
        drop(stdin);
        if tokio::time::timeout(Duration::from_secs(5), process.wait())
            .await
            .is_err()
        {
            let _ = process.kill().await;
        }
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
        for frame in [&opts[..], bytes] {
            let len = u32::try_from(frame.len()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("document of {} bytes is too large to send", frame.len()),
                )
            })?;
            self.stdin.write_all(&len.to_le_bytes()).await?;
            self.stdin.write_all(frame).await?;
        }
        self.stdin.flush().await?;
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

    /// Kills (if still running) and reaps the child.
    pub(super) async fn finish(&mut self) -> Option<std::process::ExitStatus> {
        let status =
            match tokio::time::timeout(Duration::from_millis(500), self.process.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => {
                    let _ = self.process.start_kill();
                    self.process.wait().await.ok()
                }
            };
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.stderr_task).await;
        status
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
            Some((Some(libc::SIGXCPU), _)) => ReadError::Limit(format!(
                "reading used more than the {} s CPU limit; the reader process was stopped",
                cfg.cpu_limit_secs
            )),
            _ if out_of_memory => ReadError::Limit(format!(
                "reading needed more than the {} MiB memory limit{stderr}",
                cfg.memory_limit_mb
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
