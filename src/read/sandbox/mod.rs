//! Runs `read_document` on untrusted bytes in a pool of child processes of the same binary
//! (DESIGN.md §3): a parser that panics, aborts, runs out of memory or spins fails that one
//! document with a reason, never the worker.
//!
//! Each child is `facteur __sandbox-child` (see `child.rs`; `worker.rs` is the parent's side) with
//! RLIMIT_AS, a per-document RLIMIT_CPU and `OMP_THREAD_LIMIT=1` (Tesseract is 4× slower on 2
//! cores without it, and it must be set before libtesseract loads). It starts with a cleared
//! environment plus the few variables reading needs (`env.rs`: no database URL, no IMAP secret),
//! leads its own process group with its helpers (`pdftoppm`), and keeps its protocol pipes
//! close-on-exec so helpers never hold them. The parent adds a wall-clock timeout. Children are
//! reused across documents and spawned lazily; one that fails is killed with its whole group,
//! reaped and diagnosed from its exit status and the tail of its stderr, and the next document
//! gets a fresh one.
//!
//! Errors that mean "the reader died or hung" are `ReadError::Crashed` and `ReadError::Timeout`
//! (`ReadError::killed_the_reader`).

mod child;
mod env;
mod protocol;
mod worker;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::domain::Extraction;

use super::{ReadError, ReadOptions};
use worker::Worker;

pub use child::{ENV_CPU_SECS, ENV_MEMORY_MB};

/// The argument that makes the binary serve as a sandbox child.
pub const CHILD_ARG: &str = "__sandbox-child";

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

    /// Process ids of the idle children (for operators and tests; each also leads its group).
    pub fn idle_pids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .map(|idle| idle.iter().map(|w| w.pid).collect())
            .unwrap_or_default()
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
            None => Worker::start(&self.config).await?,
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
                Err(ReadError::Timeout(format!(
                    "reading took longer than the {} s wall-clock limit; the reader process and \
                     its helpers were stopped",
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
            w.stop().await;
        }
    }

    /// An idle child that is still alive (one may have been killed while it waited).
    fn take_idle(&self) -> Option<Worker> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(mut w) = idle.pop() {
            if w.is_alive() {
                return Some(w);
            }
        }
        None
    }
}

/// Entry point of the child process (`facteur __sandbox-child`).
pub fn child_main() -> std::process::ExitCode {
    std::process::ExitCode::from(child::serve())
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
