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
//! Two kinds of children: `facteur` itself reads XML and text PDFs without loading Tesseract;
//! a document that needs OCR comes back as `ReadError::NeedsOcr` and is read again by a
//! `facteur-ocr` child (the same reader with Tesseract linked; `ocr_program`). A text PDF thus
//! never pays for loading libtesseract, and a scan pays for it once per reused child.
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
/// The program that reads documents needing OCR, looked for beside the main one.
pub const OCR_PROGRAM: &str = "facteur-ocr";

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
    /// The binary that reads documents needing OCR (same `child_args`); `None` = `facteur-ocr`
    /// beside `program`.
    pub ocr_program: Option<PathBuf>,
}

impl SandboxConfig {
    fn program(&self) -> Result<PathBuf, ReadError> {
        match &self.program {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().map_err(|e| {
                ReadError::Crashed(format!(
                    "cannot find this executable to start a reader: {e}"
                ))
            }),
        }
    }

    fn ocr_program(&self) -> Result<PathBuf, ReadError> {
        let path = match &self.ocr_program {
            Some(p) => p.clone(),
            None => self.program()?.with_file_name(OCR_PROGRAM),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(ReadError::Ocr(format!(
                "this document needs OCR, which runs in {}, and that file does not exist \
                 (install facteur-ocr beside facteur: `cargo build --release` builds both)",
                path.display()
            )))
        }
    }
}

/// Which of the two child programs reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Main,
    Ocr,
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
            ocr_program: None,
        }
    }
}

/// A pool of reader processes. `read` is cancel-safe: dropping its future kills the child.
pub struct SandboxPool {
    config: SandboxConfig,
    idle: Mutex<Vec<Worker>>,
    idle_ocr: Mutex<Vec<Worker>>,
    busy: Mutex<Vec<u32>>,
    permits: Semaphore,
}

impl SandboxPool {
    pub fn new(config: SandboxConfig) -> Self {
        let workers = config.workers.max(1);
        SandboxPool {
            config,
            idle: Mutex::new(Vec::new()),
            idle_ocr: Mutex::new(Vec::new()),
            busy: Mutex::new(Vec::new()),
            permits: Semaphore::new(workers),
        }
    }

    /// Process ids of the idle children of both kinds (for operators and tests; each also leads
    /// its group).
    pub fn idle_pids(&self) -> Vec<u32> {
        [&self.idle, &self.idle_ocr]
            .iter()
            .flat_map(|m| {
                m.lock()
                    .map(|idle| idle.iter().map(|w| w.pid).collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .collect()
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
        match self.read_in(Reader::Main, &bytes, &opts).await {
            Err(ReadError::NeedsOcr) => match self.read_in(Reader::Ocr, &bytes, &opts).await {
                Err(ReadError::NeedsOcr) => Err(ReadError::Ocr(format!(
                    "{} has no OCR engine: is it the facteur-ocr program?",
                    self.config.ocr_program()?.display()
                ))),
                other => other,
            },
            other => other,
        }
    }

    async fn read_in(
        &self,
        reader: Reader,
        bytes: &[u8],
        opts: &ReadOptions,
    ) -> Result<Extraction, ReadError> {
        let mut worker = match self.take_idle(reader) {
            Some(w) => w,
            None => {
                let program = match reader {
                    Reader::Main => self.config.program()?,
                    Reader::Ocr => self.config.ocr_program()?,
                };
                Worker::start(&self.config, &program).await?
            }
        };
        let _busy = BusyGuard::new(&self.busy, worker.pid);
        let wall = Duration::from_secs(self.config.wall_timeout_secs);
        match tokio::time::timeout(wall, worker.exchange(opts, bytes)).await {
            Ok(Ok(response)) => {
                if response.retire {
                    worker.finish().await;
                } else if let Ok(mut idle) = self.idle_of(reader).lock() {
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
        let mut idle: Vec<Worker> = Vec::new();
        for m in [&self.idle, &self.idle_ocr] {
            if let Ok(mut m) = m.lock() {
                idle.extend(m.drain(..));
            }
        }
        for w in idle {
            w.stop().await;
        }
    }

    /// An idle child that is still alive (one may have been killed while it waited).
    fn take_idle(&self, reader: Reader) -> Option<Worker> {
        let mut idle = self.idle_of(reader).lock().ok()?;
        while let Some(mut w) = idle.pop() {
            if w.is_alive() {
                return Some(w);
            }
        }
        None
    }
}

impl SandboxPool {
    fn idle_of(&self, reader: Reader) -> &Mutex<Vec<Worker>> {
        match reader {
            Reader::Main => &self.idle,
            Reader::Ocr => &self.idle_ocr,
        }
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
