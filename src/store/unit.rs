//! A stage's unit of work: the job's completion, the document's move, the stage's effects, the
//! history line and the next job commit in one transaction, or none of them does.
//!
//! The move is guarded in the database: the document changes state only `WHERE state =` the state
//! its job was queued for. A stale job (the document was moved on meanwhile by a person or by
//! another job) can therefore never move it backwards; the store retires such a job as `stale`
//! and says so loudly (`StoreError::Stale`).

use chrono::{DateTime, Utc};

use super::approvals::{self, ApprovalEffects};
use super::db::{sql, Tx};
use super::documents::{insert_event, parse_state, save_extraction};
use super::duplicates::{self, DedupeEffects};
use super::ledger::{self, Posting};
use super::queue::{enqueue, enqueue_taken, Job};
use super::StoreError;
use crate::domain::{DocumentId, DocumentState, Extraction, Stage};

/// What a stage produced, committed with its job. One variant per stage that has effects; the
/// duplicate verdicts, approval requests and journal entries of later stages join here.
#[derive(Debug, Clone, PartialEq)]
pub enum Effects {
    /// Only the state change (a document that could not be read).
    None,
    /// The read stage's extraction, saved on the document.
    Read(Box<Extraction>),
    /// The dedupe stage's keys and findings.
    Dedupe(Box<DedupeEffects>),
    /// The post stage's journal entry.
    Post(Box<Posting>),
    /// The approve stage's workflow, requests, link tokens and mails.
    Approval(Box<ApprovalEffects>),
}

/// A document's move to a new state, the stage's effects, and the stage to run next (if any).
#[derive(Debug, Clone)]
pub struct Transition {
    pub to: DocumentState,
    /// For people; shown in the document's history.
    pub reason: String,
    pub effects: Effects,
    pub next: Option<Stage>,
}

/// Moves `doc` from `from` to `to` with a history line; `Stale` (and nothing written) when the
/// document is no longer in `from`.
pub(crate) async fn move_document(
    tx: &mut Tx,
    doc: DocumentId,
    from: DocumentState,
    to: DocumentState,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !from.can_become(to) {
        return Err(StoreError::Invalid(format!(
            "document {doc}: a stage may not move a document from {from} to {to}"
        )));
    }
    let moved = sql(
        "UPDATE documents SET state = $1, reason = $2, updated_at = $3 \
                     WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .bind(doc.0)
    .bind(from.as_str())
    .execute(&mut *tx, "changing a document's state")
    .await?;
    if moved != 1 {
        let now: Option<String> = sql("SELECT state FROM documents WHERE id = $1")
            .bind(doc.0)
            .scalar(&mut *tx, "reading a document's state")
            .await?;
        return Err(match now {
            None => StoreError::NotFound(format!("document {doc}")),
            Some(s) => StoreError::Stale(format!(
                "document {doc} is now {}, not {from}: the move to {to} was refused",
                parse_state(&s)?
            )),
        });
    }
    insert_event(tx, doc, Some(from), to, reason, at).await
}

/// A stage that leaves the document where it is (the approve stage sending a step's requests):
/// the same guard as a move (`Stale` when the document is elsewhere now), and a history line
/// unless `reason` is empty.
async fn stay(
    tx: &mut Tx,
    doc: DocumentId,
    state: DocumentState,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = sql("UPDATE documents SET updated_at = $1 WHERE id = $2 AND state = $3")
        .bind(at)
        .bind(doc.0)
        .bind(state.as_str())
        .execute(&mut *tx, "checking a document's state")
        .await?;
    if n != 1 {
        return Err(StoreError::Stale(format!(
            "document {doc} is no longer {state}"
        )));
    }
    if reason.is_empty() {
        return Ok(());
    }
    sql("UPDATE documents SET reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(doc.0)
        .execute(&mut *tx, "updating a document's reason")
        .await?;
    insert_event(tx, doc, Some(state), state, reason, at).await
}

/// Applies a completed job's transition inside the caller's transaction. With `take` (owner,
/// lease end) the next job is queued already claimed by that owner, and returned.
pub(crate) async fn apply(
    tx: &mut Tx,
    job: &Job,
    t: &Transition,
    at: DateTime<Utc>,
    take: Option<(&str, DateTime<Utc>)>,
) -> Result<Option<Job>, StoreError> {
    if t.to == job.for_state {
        stay(tx, job.document, t.to, &t.reason, at).await?;
    } else {
        move_document(tx, job.document, job.for_state, t.to, &t.reason, at).await?;
    }
    match &t.effects {
        Effects::None => {}
        Effects::Read(x) => save_extraction(tx, job.document, x).await?,
        Effects::Dedupe(e) => duplicates::save(tx, e).await?,
        Effects::Post(p) => {
            ledger::post(tx, &p.entry, p.fiscal_start_month).await?;
        }
        Effects::Approval(e) => approvals::save(tx, job.document, e, at).await?,
    }
    match (t.next, take) {
        (Some(next), Some((owner, until))) => {
            let taken = enqueue_taken(tx, job.document, next, t.to, at, owner, until).await?;
            Ok(Some(taken))
        }
        (Some(next), None) => {
            enqueue(tx, job.document, next, t.to, at).await?;
            Ok(None)
        }
        (None, _) => Ok(None),
    }
}
