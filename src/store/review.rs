//! The review queue and a person's decisions on it. `needs_review` (a reading not trusted),
//! `duplicate_suspected` and `duplicate` documents wait here; a decision moves a document only
//! from the state the person saw (guarded like a job's move), records who, when and why in its
//! history, marks overridden duplicate findings, and queues the next stage.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use super::db::{sql, Tx};
use super::documents::{save_extraction, DocumentSummary};
use super::queue::enqueue;
use super::unit::move_document;
use super::{DocumentStore, SqlStore, StoreError};
use crate::domain::hint::SupplierHint;
use crate::domain::{now_micros, DocumentId, DocumentState, Extraction, Stage};

/// The states that wait for a person.
pub const WAITING: [DocumentState; 3] = [
    DocumentState::NeedsReview,
    DocumentState::DuplicateSuspected,
    DocumentState::Duplicate,
];

/// The states whose reading a person may still correct: those waiting for review, and those in
/// approval (not yet posted). A correction there resets the approvals given if it changed the
/// amount, supplier or IBAN they were given for.
pub const CORRECTABLE: [DocumentState; 5] = [
    DocumentState::NeedsReview,
    DocumentState::DuplicateSuspected,
    DocumentState::Duplicate,
    DocumentState::PendingApproval,
    DocumentState::Approved,
];

/// The states of a document in approval.
const APPROVAL: [DocumentState; 2] = [DocumentState::PendingApproval, DocumentState::Approved];

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The reading is right (`needs_review` → `read`, then duplicate checks) or the suspicion is
    /// unfounded (`duplicate_suspected` → `pending_approval`).
    Accept,
    /// Not to be paid: `rejected`.
    Reject,
    /// Overrides the duplicate findings (block or review): `pending_approval`.
    NotDuplicate,
}

impl Decision {
    /// Where the decision takes a document in `from`; None when it does not apply there.
    pub fn target(&self, from: DocumentState) -> Option<DocumentState> {
        use DocumentState::*;
        match (self, from) {
            (Decision::Accept, NeedsReview) => Some(Read),
            (Decision::Accept, DuplicateSuspected) => Some(PendingApproval),
            (Decision::NotDuplicate, Duplicate | DuplicateSuspected) => Some(PendingApproval),
            (Decision::Reject, NeedsReview | Duplicate | DuplicateSuspected) => Some(Rejected),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Accept => "accepted",
            Decision::Reject => "rejected",
            Decision::NotDuplicate => "declared not a duplicate",
        }
    }
}

#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// What waits for a person, oldest first.
    async fn review_queue(&self, limit: u32) -> Result<Vec<DocumentSummary>, StoreError>;

    /// Applies a person's decision to a document seen in `seen`; `Stale` if it moved meanwhile,
    /// `Invalid` if the decision does not apply to that state. The next stage is queued when it
    /// is one of `built`. Returns the new state.
    async fn review_decide(
        &self,
        document: DocumentId,
        seen: DocumentState,
        decision: Decision,
        by: &str,
        reason: &str,
        built: &[Stage],
    ) -> Result<DocumentState, StoreError>;

    /// Saves a person's corrected reading of a document seen in `seen` (`CORRECTABLE`) and
    /// sends it back through the duplicate checks: its keys are dropped, its earlier findings
    /// marked superseded, and it moves to `read` with the next stage queued; `remember` (what the
    /// correction teaches about the supplier) is saved with it. When the amount, supplier or
    /// IBAN changed, approvals already given are set aside (kept for the audit) and approval
    /// starts again; otherwise they stand. One transaction.
    #[allow(clippy::too_many_arguments)]
    async fn review_correct(
        &self,
        document: DocumentId,
        seen: DocumentState,
        corrected: &Extraction,
        remember: &[SupplierHint],
        by: &str,
        what: &str,
        built: &[Stage],
    ) -> Result<DocumentState, StoreError>;
}

/// Marks the document's standing findings overridden: who, why, when.
async fn override_findings(
    tx: &mut Tx,
    document: DocumentId,
    by: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql(
        "UPDATE duplicate_findings SET overridden_by = $1, override_reason = $2, \
         overridden_at = $3 WHERE document_id = $4 AND overridden_by IS NULL",
    )
    .bind(by)
    .bind(why)
    .bind(now)
    .bind(document.0)
    .execute(tx, "recording an override")
    .await?;
    Ok(())
}

/// Where a document already checked for duplicates goes once its reading is accepted: by its
/// standing findings. None when it was never checked (then it goes through the checks).
async fn checked_verdict(
    tx: &mut Tx,
    document: DocumentId,
) -> Result<Option<DocumentState>, StoreError> {
    let checked: Option<i64> = sql("SELECT document_id FROM dedupe_keys WHERE document_id = $1")
        .bind(document.0)
        .scalar(&mut *tx, "reading whether a document was checked")
        .await?;
    if checked.is_none() {
        return Ok(None);
    }
    let verdicts: Vec<String> = sql(
        "SELECT verdict FROM duplicate_findings WHERE document_id = $1 AND overridden_by IS NULL",
    )
    .bind(document.0)
    .fetch_all(&mut *tx, "reading standing findings")
    .await?
    .iter()
    .map(|r| r.get("verdict"))
    .collect::<Result<_, _>>()?;
    Ok(Some(if verdicts.iter().any(|v| v == "block") {
        DocumentState::Duplicate
    } else if verdicts.is_empty() {
        DocumentState::PendingApproval
    } else {
        DocumentState::DuplicateSuspected
    }))
}

#[async_trait]
impl ReviewStore for SqlStore {
    async fn review_correct(
        &self,
        document: DocumentId,
        seen: DocumentState,
        corrected: &Extraction,
        remember: &[SupplierHint],
        by: &str,
        what: &str,
        built: &[Stage],
    ) -> Result<DocumentState, StoreError> {
        if !CORRECTABLE.contains(&seen) {
            return Err(StoreError::Invalid(format!(
                "document {document} is {seen}: only a document waiting for review or approval \
                 is corrected (a posted invoice is corrected by a reversal)"
            )));
        }
        let now = now_micros();
        let to = DocumentState::Read;
        let mut tx = self.db.begin_write("starting a correction").await?;
        let (_, before) = super::approvals::current(&mut tx, document).await?;
        let reset = before.as_deref() != Some(crate::approval::invoice_version(corrected).as_str());
        let why = format!(
            "corrected by {by}: {what}{}",
            if reset && APPROVAL.contains(&seen) {
                " (amount, supplier or IBAN changed: approvals given are reset)"
            } else {
                ""
            }
        );
        move_document(&mut tx, document, seen, to, &why, now).await?;
        if reset {
            super::approvals::set_aside(&mut tx, document, now).await?;
        }
        save_extraction(&mut tx, document, corrected).await?;
        super::hints::save(&mut tx, document, remember, by, now).await?;
        for table in ["dedupe_preceding", "dedupe_keys"] {
            sql(format!("DELETE FROM {table} WHERE document_id = $1"))
                .bind(document.0)
                .execute(&mut tx, "dropping a corrected document's keys")
                .await?;
        }
        let why = "superseded: the reading was corrected and checked again";
        override_findings(&mut tx, document, by, why, now).await?;
        if let Some(next) = to.next_stage().filter(|s| built.contains(s)) {
            enqueue(&mut tx, document, next, to, now).await?;
        }
        tx.commit("committing a correction").await?;
        Ok(to)
    }

    async fn review_queue(&self, limit: u32) -> Result<Vec<DocumentSummary>, StoreError> {
        let mut all = Vec::new();
        for state in WAITING {
            all.extend(self.list_documents(Some(state), limit).await?);
        }
        all.sort_by_key(|d| (d.received_at, d.id));
        all.truncate(limit as usize);
        Ok(all)
    }

    async fn review_decide(
        &self,
        document: DocumentId,
        seen: DocumentState,
        decision: Decision,
        by: &str,
        reason: &str,
        built: &[Stage],
    ) -> Result<DocumentState, StoreError> {
        let to = decision.target(seen).ok_or_else(|| {
            StoreError::Invalid(format!(
                "document {document} is {seen}: it cannot be {}",
                decision.as_str()
            ))
        })?;
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a decision needs a reason (--reason \"…\")".into(),
            ));
        }
        let now = now_micros();
        let why = format!("{} by {by}: {reason}", decision.as_str());
        let mut tx = self.db.begin_write("starting a review decision").await?;
        let to = match (decision, seen) {
            // Checked while it waited: the reading is right, so its findings stand.
            (Decision::Accept, DocumentState::NeedsReview) => {
                checked_verdict(&mut tx, document).await?.unwrap_or(to)
            }
            _ => to,
        };
        move_document(&mut tx, document, seen, to, &why, now).await?;
        // Declaring the suspicion unfounded overrides its findings, as `not-duplicate` does.
        if decision == Decision::NotDuplicate
            || (decision == Decision::Accept && seen == DocumentState::DuplicateSuspected)
        {
            override_findings(&mut tx, document, by, reason, now).await?;
        }
        if let Some(next) = to.next_stage().filter(|s| built.contains(s)) {
            enqueue(&mut tx, document, next, to, now).await?;
        }
        tx.commit("committing a review decision").await?;
        Ok(to)
    }
}
