//! The store: documents, original bytes, history and the job queue, behind one `Store` trait.
//!
//! Two implementations share one body of SQL (`sql.rs`): `SqliteStore` (embedded default) and
//! `PgStore` (the shared store for several workers and machines). `sqlx::Any` cannot carry NUMERIC or
//! chrono types (DESIGN.md §3), hence the trait. The URL scheme picks the backend at start-up.
//! Every state change is one transaction that also records an event and enqueues the next job.

pub mod mail;
mod postgres;
mod sql;
mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::{
    ContentHash, DocumentEvent, DocumentId, DocumentState, Extraction, Origin, RawDocument, Stage,
};

pub use mail::MailStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error while {context}: {source}")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("cannot open the database at '{url}': {why}")]
    Open { url: String, why: String },
}

/// Attaches what the store was doing to an sqlx error.
pub(crate) trait Context<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { context, source })
    }
}

/// What intake did with a document's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// New bytes: a new document in `received`, with a `read` job queued.
    Created(DocumentId),
    /// These exact bytes were already a document: the arrival is recorded against it.
    Rearrived(DocumentId),
}

impl IntakeOutcome {
    pub fn document(&self) -> DocumentId {
        match self {
            IntakeOutcome::Created(id) | IntakeOutcome::Rearrived(id) => *id,
        }
    }
}

/// A claimed job: the claimant owns it until `lease_expires_at`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub document: DocumentId,
    pub stage: Stage,
    /// Including this one.
    pub attempts: u32,
    pub owner: String,
    pub lease_expires_at: DateTime<Utc>,
}

/// A document's move to a new state, and the stage to run next (if any).
#[derive(Debug, Clone)]
pub struct Transition {
    pub to: DocumentState,
    pub reason: String,
    pub extraction: Option<Extraction>,
    pub next: Option<Stage>,
}

/// How the queue treats failing jobs.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl RetryPolicy {
    /// Exponential: backoff × 2^(attempts−1), capped at one day.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(86_400))
    }
}

/// What became of a failed job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFate {
    Retry {
        at: DateTime<Utc>,
    },
    /// Out of attempts: the job is `dead` and the document `failed`, with the error as reason.
    Dead,
}

/// A document row as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub file_name: String,
    pub source: String,
    pub state: DocumentState,
    pub reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub supplier_name: Option<String>,
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_gross: Option<Decimal>,
}

/// Everything known about one document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRecord {
    #[serde(flatten)]
    pub summary: DocumentSummary,
    pub content_hash: ContentHash,
    pub size: i64,
    pub origin: Origin,
    pub extraction: Option<Extraction>,
    pub events: Vec<DocumentEvent>,
    pub arrivals: Vec<Arrival>,
    pub jobs: Vec<JobRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub at: DateTime<Utc>,
    pub source: String,
    pub origin: Origin,
    pub file_name: String,
    pub first: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub stage: String,
    pub status: String,
    pub attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

/// Counts for `status` views and tests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub documents: i64,
    pub arrivals: i64,
    pub by_state: Vec<(String, i64)>,
    pub jobs_by_status: Vec<(String, i64)>,
}

impl Counts {
    pub fn state(&self, s: DocumentState) -> i64 {
        self.by_state
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    }
    pub fn jobs(&self, status: &str) -> i64 {
        self.jobs_by_status
            .iter()
            .find(|(k, _)| k == status)
            .map_or(0, |(_, n)| *n)
    }
}

#[async_trait]
pub trait Store: mail::MailStore + Send + Sync + 'static {
    /// Stores the bytes (content-addressed) and either creates a document with its `read` job or
    /// records a re-arrival of known bytes; one transaction.
    async fn intake(&self, raw: &RawDocument) -> Result<IntakeOutcome, StoreError>;

    /// Claims the oldest runnable job of one of `stages` for `owner` until now + `lease`.
    /// Two claimants never get the same job.
    async fn claim_job(
        &self,
        owner: &str,
        stages: &[Stage],
        lease: Duration,
    ) -> Result<Option<Job>, StoreError>;

    /// Extends a lease the caller still holds (long OCR); false if it was lost.
    async fn renew_lease(&self, job: &Job, lease: Duration) -> Result<bool, StoreError>;

    /// Finishes a job: document transition + event + next job, one transaction. Fails with
    /// `Conflict` if the lease was lost (another worker may hold the job now), changing nothing.
    async fn complete_job(&self, job: &Job, t: Transition) -> Result<(), StoreError>;

    /// Records a failed attempt: back to the queue after a backoff, or `dead` (and the document
    /// `failed`) when out of attempts.
    async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        policy: RetryPolicy,
    ) -> Result<JobFate, StoreError>;

    /// Gives a job back untouched (graceful shutdown): runnable now, the attempt not counted.
    async fn release_job(&self, job: &Job) -> Result<(), StoreError>;

    /// Returns running jobs whose lease expired to the queue (or to `dead` when that attempt was
    /// the last one allowed). Returns how many.
    async fn reap_expired(&self, policy: RetryPolicy) -> Result<u64, StoreError>;

    async fn document(&self, id: DocumentId) -> Result<DocumentRecord, StoreError>;

    /// Newest first.
    async fn list_documents(
        &self,
        state: Option<DocumentState>,
        limit: u32,
    ) -> Result<Vec<DocumentSummary>, StoreError>;

    async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError>;

    /// A document's original bytes in one query (the read stage's hot path).
    async fn document_bytes(&self, id: DocumentId) -> Result<Vec<u8>, StoreError>;

    async fn counts(&self) -> Result<Counts, StoreError>;

    /// Takes or renews the named lease for `owner` (one holder across processes and machines).
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError>;

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError>;
}

/// Opens the store a URL names (`sqlite://…` or `postgres://…`) and applies its migrations.
pub async fn open(
    url: &str,
    max_connections: u32,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PgStore::connect(url, max_connections).await?,
        ))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, max_connections).await?,
        ))
    } else {
        Err(StoreError::Open {
            url: url.to_string(),
            why: "the URL must start with sqlite:// or postgres://".into(),
        })
    }
}
