//! The store: documents, original bytes, history, the job queue, named leases and mail
//! bookkeeping, one module and one small trait per area.
//!
//! | area | trait | module |
//! |---|---|---|
//! | documents, blobs, history | `DocumentStore` | `documents.rs` |
//! | a stage's unit of work (state change + effects) | — | `unit.rs` |
//! | job queue, leases of jobs, recovery | `QueueStore` | `queue.rs` (+ `reaper.rs`) |
//! | named leases (one poller per mailbox or folder) | `LeaseStore` | `leases.rs` |
//! | duplicate keys, findings, overrides | `DuplicateStore` | `duplicates.rs` |
//! | the review queue, a person's decisions | `ReviewStore` | `review.rs` |
//! | what corrections taught about suppliers | `HintStore` | `hints.rs` |
//! | the ledger: postings, chain, balances, period locks | `LedgerStore` | `ledger.rs` |
//! | exchange rates (ECB, set by hand) | `RateStore` | `rates.rs` |
//! | bank statement lines and what they pay | `BankStore` | `bank.rs` |
//! | supplier master records and their auxiliary accounts | `SupplierStore` | `suppliers.rs` |
//! | IMAP messages, parts, accounts | `MailStore` | `mail/` |
//! | approval workflows, link tokens, decisions, follow-ups, a signed-in approver's requests | `ApprovalStore` | `approvals/` |
//! | outgoing mail (approval requests, reminders) | `OutboxStore` | `outbox.rs` |
//! | web users, sessions, sign-ins, the web audit | `UserStore` | `users.rs` |
//! | counts and ages for `/metrics`, the intake the reports page charts | `MetricsStore` | `metrics.rs` |
//! | customers, sales, their number counters | `ReceivablesStore` | `receivables.rs` |
//! | issued invoices after issuing: history, sending, disputes, reminders, customer payments | `CollectionStore` | `collection.rs` |
//! | recurring schedules and the periods they billed | `RecurringStore` | `recurring.rs` |
//! | quotes (devis), their numbers and the draft each accepted one became | `QuoteStore` | `quotes.rs` |
//! | REST API tokens, upload idempotency keys, keyset pages | `ApiStore` | `api.rs` |
//!
//! Later areas (workflow, ledger, receivables, users) add a module and a trait each,
//! and an `Effects` variant in `unit.rs` when a stage commits them with its job.
//!
//! One implementation, `SqlStore`, runs on SQLite (the embedded default) or PostgreSQL (several
//! workers and machines): every query is written once, and `db.rs` holds the little that differs
//! (money codec, how a write transaction begins, `FOR UPDATE SKIP LOCKED`). The URL scheme picks
//! the backend at start-up. The conformance suite in tests/it/store.rs runs on both.

pub mod api;
pub mod approvals;
pub mod backup;
pub mod bank;
pub mod collection;
mod db;
pub mod documents;
pub mod duplicates;
pub mod hints;
pub mod leases;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod outbox;
mod postgres;
pub mod queue;
pub mod quotes;
pub mod rates;
mod reaper;
pub mod receivables;
pub mod recurring;
pub mod review;
mod sqlite;
pub mod suppliers;
pub mod unit;
pub mod users;
pub mod wake;

use std::sync::Arc;

pub use api::ApiStore;
pub use approvals::ApprovalStore;
pub use backup::BackupStore;
pub use bank::BankStore;
pub use collection::CollectionStore;
pub use documents::{
    Arrival, Counts, DocumentRecord, DocumentStore, DocumentSummary, IntakeOutcome,
};
pub use duplicates::DuplicateStore;
pub use hints::HintStore;
pub use leases::LeaseStore;
pub use ledger::LedgerStore;
pub use mail::MailStore;
pub use metrics::MetricsStore;
pub use outbox::OutboxStore;
pub use queue::{Job, JobFate, JobRecord, QueueStore, RetryPolicy};
pub use quotes::QuoteStore;
pub use rates::RateStore;
pub use receivables::ReceivablesStore;
pub use recurring::RecurringStore;
pub use review::ReviewStore;
pub use suppliers::SupplierStore;
pub use unit::{Effects, Transition};
pub use users::UserStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// Someone else moved first: a lease lost, a record already written. Nothing was changed.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A job's document is no longer in the state the job was queued for (a person or another job
    /// moved it on): the job is stale and was retired without touching the document.
    #[error("stale job: {0}")]
    Stale(String),
    /// Something the work depended on changed meanwhile (a document sharing a duplicate key was
    /// checked by another worker): nothing was written; run the stage again.
    #[error("busy: {0}")]
    Busy(String),
    /// A request the store's rules forbid (a state move the pipeline does not have): a bug in the
    /// caller, refused before anything was written.
    #[error("refused: {0}")]
    Invalid(String),
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

/// Every area of the store; what the rest of facteur holds (`Arc<dyn Store>`).
pub trait Store:
    DocumentStore
    + QueueStore
    + LeaseStore
    + MailStore
    + DuplicateStore
    + ReviewStore
    + HintStore
    + LedgerStore
    + RateStore
    + BankStore
    + SupplierStore
    + ApprovalStore
    + OutboxStore
    + UserStore
    + MetricsStore
    + ReceivablesStore
    + BackupStore
    + CollectionStore
    + RecurringStore
    + QuoteStore
    + ApiStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: DocumentStore
        + QueueStore
        + LeaseStore
        + MailStore
        + DuplicateStore
        + ReviewStore
        + HintStore
        + LedgerStore
        + RateStore
        + BankStore
        + SupplierStore
        + ApprovalStore
        + OutboxStore
        + UserStore
        + MetricsStore
        + ReceivablesStore
        + BackupStore
        + CollectionStore
        + RecurringStore
        + QuoteStore
        + ApiStore
        + Send
        + Sync
        + 'static
{
}

/// The store on either backend.
pub struct SqlStore {
    db: db::Db,
    /// Wakes this process's idle stage loops when it queues a job (`wake.rs`).
    jobs: wake::JobSignal,
}

/// Opens the store a URL names (`sqlite://…` or `postgres://…`) and applies its migrations.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::connect(url, max_connections).await?
    } else if url.starts_with("sqlite:") {
        sqlite::connect(url, max_connections).await?
    } else {
        return Err(StoreError::Open {
            url: postgres::redact(url),
            why: "the URL must start with sqlite:// or postgres://".into(),
        });
    };
    Ok(Arc::new(SqlStore {
        db,
        jobs: wake::JobSignal::default(),
    }))
}
