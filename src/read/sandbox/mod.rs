//! Runs `read_document` on untrusted bytes in a pool of child processes of the same binary
//! (DESIGN.md §3): a parser that panics, aborts, runs out of memory or spins fails that one
//! document with a reason, never the worker.
//!
//! Each child is `facteur __sandbox-child` (see `child.rs`) with RLIMIT_AS, a per-document
//! RLIMIT_CPU and `OMP_THREAD_LIMIT=1` (Tesseract is 4× slower on 2 cores without it, and it must be
//! set before libtesseract loads). The parent adds a wall-clock timeout. Children are reused across
//! documents and spawned lazily; one that fails is killed, reaped and diagnosed from its exit status
//! and the tail of its stderr, and the next document gets a fresh one.

mod child;
mod protocol;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use crate::domain::Extraction;

use super::{ReadError, ReadOptions};
use protocol::{Response, MAX_RESPONSE_BYTES, READY};

pub use child::{ENV_CPU_SECS, ENV_MEMORY_MB};

/// The argument that makes the binary serve as a sandbox child.
pub const CHILD_ARG: &str = "__sandbox-child";

/// How long a new child may take to print its greeting.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a dead child's stderr goes into the error.
const STDERR_TAIL: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Child processes reading at the same time.
    pub workers: usize,
    /// Address-space limit (RLIMIT_AS) of each child, in MiB.
    pub memory_limit_mb: u64,
    /// CPU seconds one document may use (RLIMIT_CPU, moved before each document).
    pub cpu_limit_secs: u64,
    /// Wall-clock seconds one document may take before its child is killed.
    pub wall_timeout_secs: u64,
    /// The binary to start; `None` = this executable (`std::env::current_exe()`). Integration
    /// tests run from the test binary and pass `env!("CARGO_BIN_EXE_facteur")`.
    pub program: Option<PathBuf>,
    /// Arguments that make `program` serve as a child (default: `["__sandbox-child"]`).
    pub child_args: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            workers: 2,
            memory_limit_mb: 2048,
            cpu_limit_secs: 300,
            wall_timeout_secs: 600,
            program: None,
            child_args: vec![CHILD_ARG.to_string()],
        }
    }
}

/// A pool of reader processes. `read` is cancel-safe: dropping its future kills the child.
pub struct SandboxPool {
    config: SandboxConfig,
    idle: Mutex<Vec<Worker>>,
    busy: Mutex<Vec<u32>>,
    permits: Semaphore,
}

impl SandboxPool {
    pub fn new(config: SandboxConfig) -> Self {
        let workers = config.workers.max(1);
        SandboxPool {
            config,
            idle: Mutex::new(Vec::new()),
            busy: Mutex::new(Vec::new()),
            permits: Semaphore::new(workers),
        }
    }

    /// Process ids of the children reading a document right now (for operators and tests).
    pub fn busy_pids(&self) -> Vec<u32> {
        self.busy.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Reads one document in a child. Every failure, including the child's death, is a `ReadError`.
    pub async fn read(&self, bytes: Vec<u8>, opts: ReadOptions) -> Result<Extraction, ReadError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ReadError::Crashed("the sandbox pool is shut down".into()))?;
        let mut worker = match self.take_idle() {
            Some(w) => w,
            None => self.spawn().await?,
        };
        let _busy = BusyGuard::new(&self.busy, worker.pid);
        let wall = Duration::from_secs(self.config.wall_timeout_secs);
        match tokio::time::timeout(wall, worker.exchange(&opts, &bytes)).await {
            Ok(Ok(response)) => {
                if response.retire {
                    worker.finish().await;
                } else if let Ok(mut idle) = self.idle.lock() {
                    idle.push(worker);
                }
                response.result
            }
            Ok(Err(io)) => Err(worker.diagnose(&io, &self.config).await),
            Err(_) => {
                worker.finish().await;
                Err(ReadError::Limit(format!(
                    "reading took longer than the {} s wall-clock limit; the reader process was stopped",
                    self.config.wall_timeout_secs
                )))
            }
        }
    }

    /// Stops the idle children (their stdin closes, they exit) and waits for them, so their
    /// resource usage is accounted to this process (`RUSAGE_CHILDREN`).
    pub async fn shutdown(&self) {
        let idle: Vec<Worker> = self
            .idle
            .lock()
            .map(|mut idle| idle.drain(..).collect())
            .unwrap_or_default();
        for w in idle {
            let Worker {
                mut process, stdin, ..
            } = w;
            // End of input is the child's signal to exit cleanly.
            drop(stdin);
            if tokio::time::timeout(Duration::from_secs(5), process.wait())
                .await
                .is_err()
            {
                let _ = process.kill().await;
            }
        }
    }

    /// An idle child that is still alive (one may have been killed while it waited).
    fn take_idle(&self) -> Option<Worker> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(mut w) = idle.pop() {
            if matches!(w.process.try_wait(), Ok(None)) {
                return Some(w);
            }
        }
        None
    }

    async fn spawn(&self) -> Result<Worker, ReadError> {
        let program = match &self.config.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| {
                ReadError::Crashed(format!(
                    "cannot find this executable to start a reader: {e}"
                ))
            })?,
        };
        let mut process = Command::new(&program)
            .args(&self.config.child_args)
            .env("OMP_THREAD_LIMIT", "1")
            // glibc reserves 64 MiB of address space per malloc arena; RLIMIT_AS counts it.
            .env("MALLOC_ARENA_MAX", "2")
            // One document at a time per child: one engine, not one per core.
            .env(crate::read::ocr::engine::ENV_ENGINES, "1")
            .env(ENV_MEMORY_MB, self.config.memory_limit_mb.to_string())
            .env(ENV_CPU_SECS, self.config.cpu_limit_secs.to_string())
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
                let reason = worker.diagnose(&e, &self.config).await;
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
}

/// Entry point of the child process (`facteur __sandbox-child`).
pub fn child_main() -> std::process::ExitCode {
    std::process::ExitCode::from(child::serve())
}

struct Worker {
    process: Child,
    pid: u32,
    stdin: ChildStdin,
    stdout: ChildStdout,
    tail: Arc<Mutex<Vec<u8>>>,
    stderr_task: tokio::task::JoinHandle<()>,
}

impl Worker {
    async fn await_greeting(&mut self) -> std::io::Result<()> {
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

    async fn exchange(&mut self, opts: &ReadOptions, bytes: &[u8]) -> std::io::Result<Response> {
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
    async fn finish(&mut self) -> Option<std::process::ExitStatus> {
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
    async fn diagnose(&mut self, io: &std::io::Error, cfg: &SandboxConfig) -> ReadError {
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

/// Records a child as busy for as long as it reads.
struct BusyGuard<'a> {
    busy: &'a Mutex<Vec<u32>>,
    pid: u32,
}

impl<'a> BusyGuard<'a> {
    fn new(busy: &'a Mutex<Vec<u32>>, pid: u32) -> Self {
        if let Ok(mut b) = busy.lock() {
            b.push(pid);
        }
        BusyGuard { busy, pid }
    }
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut b) = self.busy.lock() {
            b.retain(|p| *p != self.pid);
        }
    }
}

#[cfg(test)]
mod tests;
