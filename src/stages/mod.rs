//! Pipeline stages. Each is `async fn run(ctx, job) -> Result<Transition, StageError>`: it reads
//! what it needs from the store, does its work, and returns the document's next state and the
//! next stage; the worker commits that in one transaction. Stages never call each other.
//!
//! Built so far: intake (called by sources) and read. The later stages of DESIGN.md §1 (dedupe,
//! route, approve, post, export) arrive with their issues; until then a read document waits in
//! `read` (or `needs_review`), and no job pretends to run a stage that does not exist.

pub mod intake;
pub mod read;

use std::sync::Arc;

use crate::domain::Stage;
use crate::read::sandbox::SandboxPool;
use crate::read::ReadOptions;
use crate::store::{Job, Store, StoreError, Transition};

/// What stages share: the store and the reader pool.
pub struct StageContext {
    pub store: Arc<dyn Store>,
    pub sandbox: SandboxPool,
    pub read_options: ReadOptions,
    /// Below this overall confidence a read document goes to `needs_review`.
    pub review_threshold: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Worth another attempt later (a crashed reader child, a store hiccup).
    #[error("{0}")]
    Retryable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stages this version can run; workers claim only these.
pub const BUILT: &[Stage] = &[Stage::Read];

/// Runs the job's stage.
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    match job.stage {
        Stage::Read => read::run(ctx, job).await,
        other => Err(StageError::Retryable(format!(
            "stage {other} is not available in this version of facteur"
        ))),
    }
}
