//! Approval workflows' side of the store: a routed document's workflow and steps, the requests
//! sent to approvers with their hashed link tokens, every decision as an audit row, and the
//! follow-ups (reminders, escalations) the scheduler sends.
//!
//! What the `approve` stage decides commits with its job (`ApprovalEffects`, applied by
//! `unit.rs`); a person's decision is one transaction (`decide.rs`) that locks the workflow row,
//! so two concurrent POSTs cannot both win, and moves the document only from `pending_approval`.
//! The dashboard's approvals page lists a signed-in approver's open requests and decides one by
//! its id through that same transaction (`mine.rs`).

mod decide;
mod effects;
mod followup;
mod link;
mod mine;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::db::{sql, Row, Tx};
use super::documents::{insert_event, parse_state, DocumentSummary};
use super::outbox::OutgoingMail;
use super::{SqlStore, StoreError};
use crate::approval::{Approver, Lang};
use crate::domain::{ContentHash, DocumentId, DocumentState, Extraction, Stage};

pub(crate) use decide::set_aside;
pub use decide::{Decision, DecisionInput, DecisionOutcome};
pub(crate) use effects::{insert_request, insert_token, save};
pub use followup::{Due, DueKind, FollowUp};

/// A workflow as the `approve` stage creates it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkflow {
    pub rule: String,
    pub version: String,
    pub submitter: Option<String>,
    pub steps: Vec<StepPlan>,
}

/// One step of a workflow, resolved from the policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepPlan {
    pub mode: String,
    pub needed: u32,
    pub approvers: Vec<Approver>,
    pub reminder_days: Option<u32>,
    pub escalate_to: Option<String>,
    pub escalate_days: Option<u32>,
}

/// One approver asked at one step: the link token's hash and the mail that carries the link.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub step: u32,
    /// Who is asked: the approver, or their delegate.
    pub approver: Approver,
    /// The approver a delegate stands in for.
    pub on_behalf_of: Option<String>,
    pub token_hash: String,
    pub version: String,
    pub expires_at: DateTime<Utc>,
    pub mail: OutgoingMail,
}

/// What the `approve` stage commits with its job.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalEffects {
    /// A new workflow and the requests of its first step.
    Start {
        workflow: NewWorkflow,
        requests: Vec<NewRequest>,
    },
    /// The requests of a later step, once the one before it is complete.
    Issue {
        step: u32,
        requests: Vec<NewRequest>,
    },
    /// No one is asked: a trusted supplier below the rule's limit (recorded as such).
    AutoApproved { rule: String, version: String },
}

/// A workflow's progress, for the stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub rule: String,
    pub status: String,
    pub version: String,
    pub steps: Vec<StepProgress>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepProgress {
    pub step: u32,
    pub plan: StepPlan,
    pub issued: bool,
    pub done: bool,
}

/// What an approval link shows (its confirmation page).
#[derive(Debug, Clone)]
pub struct LinkView {
    pub request_id: i64,
    pub summary: DocumentSummary,
    pub due_date: Option<NaiveDate>,
    pub content_hash: ContentHash,
    pub step: u32,
    pub steps: u32,
    pub rule: String,
    pub approver: String,
    pub on_behalf_of: Option<String>,
    pub lang: Lang,
    pub expires_at: DateTime<Utc>,
    /// The invoice changed since the link was sent (amount, supplier, IBAN).
    pub changed: bool,
    /// The decision already recorded on this request, and when.
    pub decided: Option<(Decision, DateTime<Utc>)>,
    /// Duplicate findings a person overrode before the invoice came here.
    pub warnings: Vec<String>,
}

/// One audited decision (or refusal, or automatic approval).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The absent approver a delegate decided for.
    pub on_behalf_of: Option<String>,
    /// `approve`, `reject`, `refused` (segregation of duties) or `auto_approve`.
    pub decision: String,
    pub step: Option<u32>,
    pub comment: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Every decision on a document's approval, oldest first.
    async fn approval_audit(&self, document: DocumentId) -> Result<Vec<AuditRecord>, StoreError>;

    /// The document's workflow, if it was routed.
    async fn approval_progress(&self, document: DocumentId)
        -> Result<Option<Progress>, StoreError>;

    /// What the link whose token hashes to `token_hash` shows; None for an unknown token.
    async fn approval_link(&self, token_hash: &str) -> Result<Option<LinkView>, StoreError>;

    /// A person's decision through a link: guarded, audited, one transaction. `built` are the
    /// stages this version runs (the next one is queued when the invoice is approved).
    async fn approval_decide(
        &self,
        input: &DecisionInput,
        built: &[Stage],
    ) -> Result<DecisionOutcome, StoreError>;

    /// The open requests of `email` (as approver or delegate) whose invoice waits for approval,
    /// oldest first, each as its newest link's page shows it.
    async fn approvals_waiting(&self, email: &str) -> Result<Vec<LinkView>, StoreError>;

    /// `email`'s decision on their request `request` (the dashboard), through the same guarded,
    /// audited transaction as a link's; `Unknown` when the request is not theirs.
    async fn approval_decide_request(
        &self,
        request: i64,
        email: &str,
        input: &DecisionInput,
        built: &[Stage],
    ) -> Result<DecisionOutcome, StoreError>;

    /// Open requests whose reminder or escalation is due at `now`.
    async fn approval_due(&self, now: DateTime<Utc>) -> Result<Vec<Due>, StoreError>;

    /// Records a reminder or an escalation with its new link and mail; false (nothing written)
    /// if the request was decided or followed up meanwhile.
    async fn approval_follow_up(
        &self,
        f: &FollowUp,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

fn step_from_row(r: &Row) -> Result<StepProgress, StoreError> {
    let approvers: String = r.get("approvers")?;
    let approvers = serde_json::from_str(&approvers)
        .map_err(|e| StoreError::Corrupt(format!("approvers JSON: {e}")))?;
    let days = |c: &str| -> Result<Option<u32>, StoreError> {
        Ok(r.get::<Option<i64>>(c)?.map(|d| d.clamp(0, 3650) as u32))
    };
    Ok(StepProgress {
        step: r.get::<i64>("step")?.max(0) as u32,
        issued: r.get::<Option<DateTime<Utc>>>("issued_at")?.is_some(),
        done: r.get::<Option<DateTime<Utc>>>("done_at")?.is_some(),
        plan: StepPlan {
            mode: r.get("mode")?,
            needed: r.get::<i64>("needed")?.max(0) as u32,
            approvers,
            reminder_days: days("reminder_days")?,
            escalate_to: r.get("escalate_to")?,
            escalate_days: days("escalate_days")?,
        },
    })
}

/// A history line for a document that stays in `pending_approval`.
pub(crate) async fn note(
    tx: &mut Tx,
    doc: DocumentId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let s = DocumentState::PendingApproval;
    insert_event(tx, doc, Some(s), s, reason, now).await
}

#[async_trait]
impl ApprovalStore for SqlStore {
    async fn approval_audit(&self, document: DocumentId) -> Result<Vec<AuditRecord>, StoreError> {
        sql(
            "SELECT at, actor, on_behalf_of, decision, step, comment, ip, user_agent \
             FROM approval_decisions \
             WHERE document_id = $1 ORDER BY id",
        )
        .bind(document.0)
        .fetch_all(&self.db, "reading approval decisions")
        .await?
        .iter()
        .map(|r| {
            Ok(AuditRecord {
                at: r.get("at")?,
                actor: r.get("actor")?,
                on_behalf_of: r.get("on_behalf_of")?,
                decision: r.get("decision")?,
                step: r.get::<Option<i64>>("step")?.map(|s| s.max(0) as u32),
                comment: r.get("comment")?,
                ip: r.get("ip")?,
                user_agent: r.get("user_agent")?,
            })
        })
        .collect()
    }

    async fn approval_progress(
        &self,
        document: DocumentId,
    ) -> Result<Option<Progress>, StoreError> {
        let Some(w) =
            sql("SELECT rule, status, version FROM approval_workflows WHERE document_id = $1")
                .bind(document.0)
                .fetch_optional(&self.db, "reading a workflow")
                .await?
        else {
            return Ok(None);
        };
        let steps = sql(
            "SELECT step, mode, needed, approvers, reminder_days, escalate_to, escalate_days, \
             issued_at, done_at FROM approval_steps WHERE document_id = $1 ORDER BY step",
        )
        .bind(document.0)
        .fetch_all(&self.db, "reading workflow steps")
        .await?
        .iter()
        .map(step_from_row)
        .collect::<Result<_, _>>()?;
        Ok(Some(Progress {
            rule: w.get("rule")?,
            status: w.get("status")?,
            version: w.get("version")?,
            steps,
        }))
    }

    async fn approval_link(&self, token_hash: &str) -> Result<Option<LinkView>, StoreError> {
        link::link(&self.db, token_hash).await
    }

    async fn approval_decide(
        &self,
        input: &DecisionInput,
        built: &[Stage],
    ) -> Result<DecisionOutcome, StoreError> {
        let mut tx = self.db.begin_write("starting an approval decision").await?;
        let outcome = decide::decide(&mut tx, input, built).await?;
        tx.commit("committing an approval decision").await?;
        Ok(outcome)
    }

    async fn approvals_waiting(&self, email: &str) -> Result<Vec<LinkView>, StoreError> {
        mine::waiting(&self.db, email).await
    }

    async fn approval_decide_request(
        &self,
        request: i64,
        email: &str,
        input: &DecisionInput,
        built: &[Stage],
    ) -> Result<DecisionOutcome, StoreError> {
        let mut tx = self.db.begin_write("starting an approval decision").await?;
        let outcome = mine::decide_request(&mut tx, request, email, input, built).await?;
        tx.commit("committing an approval decision").await?;
        Ok(outcome)
    }

    async fn approval_due(&self, now: DateTime<Utc>) -> Result<Vec<Due>, StoreError> {
        followup::due(&self.db, now).await
    }

    async fn approval_follow_up(
        &self,
        f: &FollowUp,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.db.begin_write("starting a follow-up").await?;
        let done = followup::record(&mut tx, f, now).await?;
        if done {
            tx.commit("committing a follow-up").await?;
        } else {
            tx.rollback("dropping a follow-up").await?;
        }
        Ok(done)
    }
}

/// The current invoice version and state of a document, read inside a transaction.
pub(crate) async fn current(
    tx: &mut Tx,
    doc: DocumentId,
) -> Result<(DocumentState, Option<String>), StoreError> {
    let row = sql("SELECT state, extraction FROM documents WHERE id = $1")
        .bind(doc.0)
        .fetch_optional(&mut *tx, "reading a document's state")
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("document {doc}")))?;
    let state = parse_state(&row.get::<String>("state")?)?;
    let version = row
        .get::<Option<String>>("extraction")?
        .map(|j| {
            serde_json::from_str::<Extraction>(&j)
                .map(|x| crate::approval::invoice_version(&x))
                .map_err(|e| StoreError::Corrupt(format!("extraction JSON: {e}")))
        })
        .transpose()?;
    Ok((state, version))
}
