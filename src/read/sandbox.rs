//! Runs `read_document` on untrusted bytes away from the worker. PLACEHOLDER: being written on
//! branch ocr (child-process pool with rlimits); for now a blocking thread that catches panics.

use crate::domain::Extraction;

use super::{read_document, ReadError, ReadOptions};

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub workers: usize,
    pub memory_limit_mb: u64,
    pub cpu_limit_secs: u64,
    pub wall_timeout_secs: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            workers: 2,
            memory_limit_mb: 2048,
            cpu_limit_secs: 300,
            wall_timeout_secs: 600,
        }
    }
}

pub struct SandboxPool {
    _config: SandboxConfig,
}

impl SandboxPool {
    pub fn new(config: SandboxConfig) -> Self {
        SandboxPool { _config: config }
    }

    pub async fn read(&self, bytes: Vec<u8>, opts: ReadOptions) -> Result<Extraction, ReadError> {
        tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| read_document(&bytes, &opts))
                .unwrap_or_else(|_| Err(ReadError::Crashed("reader panicked".into())))
        })
        .await
        .unwrap_or_else(|e| Err(ReadError::Crashed(e.to_string())))
    }
}

/// Entry point of the child process (`facteur __sandbox-child`).
pub fn child_main() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
