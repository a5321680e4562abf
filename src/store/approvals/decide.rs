//! A person's decision through an approval link, as one transaction: the token is looked up by
//! its hash; a decided request answers with what was recorded (a replayed POST changes nothing);
//! an expired link, a closed workflow, a changed invoice or a segregation-of-duties breach are
//! refused before anything moves; the workflow row is locked first, so two concurrent decisions
//! on one invoice are serialised and the document moves only from `pending_approval`.

use chrono::{DateTime, Utc};

use super::super::db::{sql, Tx};
use super::super::queue::enqueue;
use super::super::unit::move_document;
use super::super::StoreError;
use super::{current, note};
use crate::approval::engine::{sod_refusal_delegated, step_complete};
use crate::domain::{DocumentId, DocumentState, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// A decision as the web page posts it, with what the audit keeps.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub token_hash: String,
    pub decision: Decision,
    pub comment: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DecisionOutcome {
    /// Recorded; the document is now in `state`.
    Recorded {
        state: DocumentState,
    },
    /// This request was already decided (a replayed POST): what was recorded, and when.
    AlreadyDecided {
        decision: Decision,
        at: DateTime<Utc>,
    },
    /// The workflow is over (another approver rejected, or it was approved without this one).
    Closed {
        state: DocumentState,
    },
    /// The amount, supplier or IBAN changed since the link was sent: approvals were reset and
    /// the invoice is asked again.
    Changed,
    Expired,
    Unknown,
    /// Segregation of duties: why this person may not decide.
    Refused(String),
}

/// A request's decision once its invoice changed and its approvals were reset.
const SUPERSEDED: &str = "superseded";

/// Who acts on which request, from where: what every audit row of one decision shares.
pub(crate) struct By<'a> {
    pub doc: DocumentId,
    pub request: Option<i64>,
    pub step: Option<u32>,
    pub actor: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// One audit row.
pub(crate) async fn audit(
    tx: &mut Tx,
    by: &By<'_>,
    decision: &str,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    let By {
        doc,
        request,
        step,
        actor,
        on_behalf_of,
        ip,
        user_agent,
        at,
    } = *by;
    sql(
        "INSERT INTO approval_decisions (document_id, request_id, step, actor, on_behalf_of, \
         decision, comment, ip, user_agent, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(doc.0)
    .bind(request)
    .bind(step.map(i64::from))
    .bind(actor)
    .bind(on_behalf_of)
    .bind(decision)
    .bind(comment)
    .bind(ip)
    .bind(user_agent)
    .bind(at)
    .execute(tx, "auditing an approval decision")
    .await?;
    Ok(())
}

/// The request behind a token.
pub(super) struct Found {
    pub(super) request: i64,
    pub(super) doc: DocumentId,
    pub(super) step: u32,
    pub(super) approver: String,
    pub(super) on_behalf_of: Option<String>,
    pub(super) version: String,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) decided: Option<(Decision, DateTime<Utc>)>,
    /// Set aside when the invoice changed (`reset`): the link can decide nothing any more.
    pub(super) superseded: bool,
}

pub(super) const FIND: &str =
    "SELECT r.id, r.document_id, r.step, r.approver, r.on_behalf_of, r.lang, \
     r.decision, \
     r.decided_at, t.version, t.expires_at FROM approval_tokens t \
     JOIN approval_requests r ON r.id = t.request_id WHERE t.hash = $1";

pub(super) fn found(r: &super::super::db::Row) -> Result<Found, StoreError> {
    let decision: Option<String> = r.get("decision")?;
    let at: Option<DateTime<Utc>> = r.get("decided_at")?;
    Ok(Found {
        request: r.get("id")?,
        doc: DocumentId(r.get("document_id")?),
        step: r.get::<i64>("step")?.max(0) as u32,
        approver: r.get("approver")?,
        on_behalf_of: r.get("on_behalf_of")?,
        version: r.get("version")?,
        expires_at: r.get("expires_at")?,
        decided: decision.as_deref().and_then(Decision::parse).zip(at),
        superseded: decision.as_deref() == Some(SUPERSEDED),
    })
}

/// Who decided, for people: the approver, or the delegate and whom they stood in for.
fn who(f: &Found) -> String {
    match &f.on_behalf_of {
        Some(absent) => format!("{} for {absent}", f.approver),
        None => f.approver.clone(),
    }
}

/// The decision transaction (see the module comment).
pub(crate) async fn decide(
    tx: &mut Tx,
    input: &DecisionInput,
    built: &[Stage],
) -> Result<DecisionOutcome, StoreError> {
    let now = input.now;
    let Some(row) = sql(FIND)
        .bind(input.token_hash.as_str())
        .fetch_optional(&mut *tx, "looking up an approval link")
        .await?
    else {
        return Ok(DecisionOutcome::Unknown);
    };
    let f = found(&row)?;
    if let Some((decision, at)) = f.decided {
        return Ok(DecisionOutcome::AlreadyDecided { decision, at });
    }
    if f.superseded {
        return Ok(DecisionOutcome::Changed);
    }
    if f.expires_at <= now {
        return Ok(DecisionOutcome::Expired);
    }
    // Locks the workflow: concurrent deciders on this invoice wait here, then read what the
    // one before them committed (a second press of the same button finds its decision).
    let locked = sql(
        "UPDATE approval_workflows SET updated_at = $1 WHERE document_id = $2 \
         RETURNING status, submitter",
    )
    .bind(now)
    .bind(f.doc.0)
    .fetch_optional(&mut *tx, "locking an approval workflow")
    .await?;
    let again = sql("SELECT decision, decided_at FROM approval_requests WHERE id = $1")
        .bind(f.request)
        .fetch_optional(&mut *tx, "reading a request after the lock")
        .await?;
    if let Some(r) = again {
        let decision: Option<String> = r.get("decision")?;
        let at: Option<DateTime<Utc>> = r.get("decided_at")?;
        if let Some((decision, at)) = decision.as_deref().and_then(Decision::parse).zip(at) {
            return Ok(DecisionOutcome::AlreadyDecided { decision, at });
        }
        if decision.as_deref() == Some(SUPERSEDED) {
            return Ok(DecisionOutcome::Changed);
        }
    }
    let (state, version) = current(tx, f.doc).await?;
    let changed = version.as_deref() != Some(f.version.as_str());
    let submitter = match locked {
        Some(w) if w.get::<String>("status")? == "open" => w.get::<Option<String>>("submitter")?,
        // Reset by an earlier decider who found the invoice changed: a new request is on its way.
        None if changed && state == DocumentState::PendingApproval => {
            return Ok(DecisionOutcome::Changed)
        }
        _ => return Ok(DecisionOutcome::Closed { state }),
    };
    if state != DocumentState::PendingApproval {
        return Ok(DecisionOutcome::Closed { state });
    }
    if changed {
        reset(tx, f.doc, built, now).await?;
        return Ok(DecisionOutcome::Changed);
    }
    let others: Vec<String> = sql(
        "SELECT approver, on_behalf_of FROM approval_requests WHERE document_id = $1 \
         AND step <> $2 AND decision = 'approve'",
    )
    .bind(f.doc.0)
    .bind(f.step)
    .fetch_all(&mut *tx, "reading earlier approvers")
    .await?
    .iter()
    .map(|r| Ok([r.get("approver")?, r.get::<Option<String>>("on_behalf_of")?]))
    .collect::<Result<Vec<[Option<String>; 2]>, StoreError>>()?
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    let by = By {
        doc: f.doc,
        request: Some(f.request),
        step: Some(f.step),
        actor: &f.approver,
        on_behalf_of: f.on_behalf_of.as_deref(),
        ip: input.ip.as_deref(),
        user_agent: input.user_agent.as_deref(),
        at: now,
    };
    if input.decision == Decision::Approve {
        let refusal = sod_refusal_delegated(
            &f.approver,
            f.on_behalf_of.as_deref(),
            submitter.as_deref(),
            &others,
        );
        if let Some(why) = refusal {
            audit(tx, &by, "refused", Some(why.as_str())).await?;
            return Ok(DecisionOutcome::Refused(why));
        }
    }
    let n = sql(
        "UPDATE approval_requests SET decision = $1, decided_at = $2 WHERE id = $3 \
         AND decision IS NULL",
    )
    .bind(input.decision.as_str())
    .bind(now)
    .bind(f.request)
    .execute(&mut *tx, "recording a decision")
    .await?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "request {} was decided meanwhile",
            f.request
        )));
    }
    let comment = input.comment.as_deref().filter(|c| !c.trim().is_empty());
    audit(tx, &by, input.decision.as_str(), comment).await?;
    let step_name = f.step + 1;
    let state = match input.decision {
        Decision::Reject => {
            let why = format!(
                "rejected by {} at approval step {step_name}{}",
                who(&f),
                comment.map(|c| format!(": {c}")).unwrap_or_default()
            );
            close(
                tx,
                f.doc,
                "rejected",
                DocumentState::Rejected,
                &why,
                built,
                now,
            )
            .await?
        }
        Decision::Approve => approve(tx, &f, built, now).await?,
    };
    Ok(DecisionOutcome::Recorded { state })
}

/// The amount, supplier or IBAN changed after approval was asked: every approval and open
/// request of the document is set aside (kept, marked `superseded`, for the audit), the workflow
/// is dropped, and the approve stage routes the invoice again and sends new requests.
async fn reset(
    tx: &mut Tx,
    doc: DocumentId,
    built: &[Stage],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    set_aside(tx, doc, now).await?;
    let why = "the amount, supplier or IBAN changed after approval was asked: \
               earlier approvals are reset and a new request is sent";
    note(tx, doc, why, now).await?;
    if built.contains(&Stage::Approve) {
        enqueue(tx, doc, Stage::Approve, DocumentState::PendingApproval, now).await?;
    }
    Ok(())
}

/// Sets a document's approvals aside: every approval and open request is kept, marked
/// `superseded` (their audit rows stay); the workflow is dropped so the approve stage routes the
/// invoice again. Nothing happens to a document never routed.
pub(crate) async fn set_aside(
    tx: &mut Tx,
    doc: DocumentId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql(
        "UPDATE approval_requests SET decision = $1, decided_at = $2 \
         WHERE document_id = $3 AND (decision IS NULL OR decision = 'approve')",
    )
    .bind(SUPERSEDED)
    .bind(now)
    .bind(doc.0)
    .execute(&mut *tx, "setting aside earlier approvals")
    .await?;
    for table in ["approval_steps", "approval_workflows"] {
        sql(format!("DELETE FROM {table} WHERE document_id = $1"))
            .bind(doc.0)
            .execute(&mut *tx, "dropping a changed invoice's workflow")
            .await?;
    }
    Ok(())
}

/// An approval: completes the step when enough approvers agreed, then queues the next step or
/// approves the invoice.
async fn approve(
    tx: &mut Tx,
    f: &Found,
    built: &[Stage],
    now: DateTime<Utc>,
) -> Result<DocumentState, StoreError> {
    let approvals: i64 = sql(
        "SELECT COUNT(DISTINCT COALESCE(on_behalf_of, approver)) FROM approval_requests \
         WHERE document_id = $1 \
         AND step = $2 AND decision = 'approve'",
    )
    .bind(f.doc.0)
    .bind(f.step)
    .scalar(&mut *tx, "counting approvals")
    .await?
    .unwrap_or(0);
    let needed: i64 = sql("SELECT needed FROM approval_steps WHERE document_id = $1 AND step = $2")
        .bind(f.doc.0)
        .bind(f.step)
        .scalar(&mut *tx, "reading a step")
        .await?
        .unwrap_or(1);
    let step_name = f.step + 1;
    let needed = needed.clamp(0, i64::from(u32::MAX)) as u32;
    let approvals = approvals.clamp(0, i64::from(u32::MAX)) as u32;
    if !step_complete(needed, approvals) {
        let why = format!(
            "approved by {} at step {step_name} ({approvals} of {needed})",
            who(f)
        );
        note(tx, f.doc, &why, now).await?;
        return Ok(DocumentState::PendingApproval);
    }
    sql("UPDATE approval_steps SET done_at = $1 WHERE document_id = $2 AND step = $3")
        .bind(now)
        .bind(f.doc.0)
        .bind(f.step)
        .execute(&mut *tx, "completing a step")
        .await?;
    let more: Option<i64> =
        sql("SELECT step FROM approval_steps WHERE document_id = $1 AND step > $2 LIMIT 1")
            .bind(f.doc.0)
            .bind(f.step)
            .scalar(&mut *tx, "looking for the next step")
            .await?;
    if more.is_some() {
        let why = format!(
            "approved by {}: step {step_name} complete, the next step is asked",
            who(f)
        );
        note(tx, f.doc, &why, now).await?;
        if built.contains(&Stage::Approve) {
            enqueue(
                tx,
                f.doc,
                Stage::Approve,
                DocumentState::PendingApproval,
                now,
            )
            .await?;
        }
        return Ok(DocumentState::PendingApproval);
    }
    let why = format!("approved by {} (step {step_name}, the last)", who(f));
    close(
        tx,
        f.doc,
        "approved",
        DocumentState::Approved,
        &why,
        built,
        now,
    )
    .await
}

/// Ends the workflow and moves the document, queueing its next stage when this version has it.
async fn close(
    tx: &mut Tx,
    doc: DocumentId,
    status: &str,
    to: DocumentState,
    why: &str,
    built: &[Stage],
    now: DateTime<Utc>,
) -> Result<DocumentState, StoreError> {
    sql("UPDATE approval_workflows SET status = $1, updated_at = $2 WHERE document_id = $3")
        .bind(status)
        .bind(now)
        .bind(doc.0)
        .execute(&mut *tx, "closing a workflow")
        .await?;
    move_document(tx, doc, DocumentState::PendingApproval, to, why, now).await?;
    if let Some(next) = to.next_stage().filter(|s| built.contains(s)) {
        enqueue(tx, doc, next, to, now).await?;
    }
    Ok(to)
}
