//! Pipeline stages. Each is `async fn run(ctx, job) -> Result<Transition, StageError>`: it reads
//! what it needs from the store, does its work, and returns the document's next state and the
//! next stage; the worker commits that in one transaction. Stages never call each other.
//!
//! Built so far: intake (called by sources), read, dedupe, approve and post. The later stages of DESIGN.md §1 (dedupe,
//! route, approve, post, export) arrive with their issues: add the module, its `Stage` to `BUILT`,
//! and its line in `DocumentState::next_stage`. A transition queues the next stage only when it is
//! built (`next_after`); documents parked meanwhile get their job from the start-up backfill.

pub mod approve;
pub mod dedupe;
pub mod intake;
pub mod post;
pub mod read;

use std::sync::Arc;

use crate::domain::{DocumentState, Stage};
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
    /// Duplicate rules' thresholds.
    pub dedupe: crate::dedupe::rules::Thresholds,
    /// Whose ledger, in which currency, which fiscal year, which default expense account.
    pub company: crate::config::CompanySettings,
    /// Approval policies by pipeline, and what links look like.
    pub routing: crate::approval::Routing,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Worth another attempt later (a store hiccup, a stage not available).
    #[error("{0}")]
    Retryable(String),
    /// The reader crashed or hung on this document: retried, but a second time fails it for good.
    #[error("{0}")]
    ReaderDied(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stages this version can run; workers claim only these.
pub const BUILT: &[Stage] = &[Stage::Read, Stage::Dedupe, Stage::Approve, Stage::Post];

/// The stage to queue after a document reaches `state`, if this version has it.
pub fn next_after(state: DocumentState) -> Option<Stage> {
    state
        .next_stage()
        .or(state.check_while_waiting())
        .filter(|s| BUILT.contains(s))
}

/// Runs the job's stage.
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    match job.stage {
        Stage::Read => read::run(ctx, job).await,
        Stage::Dedupe => dedupe::run(ctx, job).await,
        Stage::Post => post::run(ctx, job).await,
        Stage::Approve => approve::run(ctx, job).await,
        other => Err(StageError::Retryable(format!(
            "stage {other} is not available in this version of facteur"
        ))),
    }
}
