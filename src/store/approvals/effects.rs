//! The `approve` stage's effects, written inside its job's transaction: a new workflow with its
//! steps, a step's requests (each with its hashed link token and its queued mail), or an
//! automatic approval with its audit row.

use chrono::{DateTime, Utc};

use super::super::db::{sql, Tx};
use super::super::outbox::queue_mail;
use super::super::StoreError;
use super::{decide, ApprovalEffects, NewRequest, NewWorkflow, StepPlan};
use crate::domain::DocumentId;

pub(crate) fn plans_json(p: &StepPlan) -> Result<String, StoreError> {
    serde_json::to_string(&p.approvers)
        .map_err(|e| StoreError::Corrupt(format!("approvers to JSON: {e}")))
}

/// Inserts a request with its token and mail; returns the request id.
pub(crate) async fn insert_request(
    tx: &mut Tx,
    doc: DocumentId,
    r: &NewRequest,
    escalated_from: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id: i64 = sql(
        "INSERT INTO approval_requests (document_id, step, approver, on_behalf_of, lang, \
         escalated_from, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(doc.0)
    .bind(r.step)
    .bind(r.approver.email.as_str())
    .bind(r.on_behalf_of.clone())
    .bind(r.approver.lang.as_str())
    .bind(escalated_from)
    .bind(now)
    .scalar(&mut *tx, "recording an approval request")
    .await?
    .ok_or_else(|| StoreError::Corrupt("an inserted request has no id".into()))?;
    insert_token(tx, id, &r.token_hash, &r.version, r.expires_at, now).await?;
    queue_mail(tx, &r.mail, now).await?;
    Ok(id)
}

pub(crate) async fn insert_token(
    tx: &mut Tx,
    request: i64,
    hash: &str,
    version: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql(
        "INSERT INTO approval_tokens (hash, request_id, version, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(request)
    .bind(version)
    .bind(now)
    .bind(expires_at)
    .execute(tx, "recording a link token")
    .await?;
    Ok(())
}

async fn issue(
    tx: &mut Tx,
    doc: DocumentId,
    step: u32,
    requests: &[NewRequest],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = sql(
        "UPDATE approval_steps SET issued_at = $1 WHERE document_id = $2 AND step = $3 \
         AND issued_at IS NULL",
    )
    .bind(now)
    .bind(doc.0)
    .bind(step)
    .execute(&mut *tx, "marking a step issued")
    .await?;
    if n != 1 {
        return Err(StoreError::Busy(format!(
            "step {} of document {doc}'s approval was already issued",
            step + 1
        )));
    }
    for r in requests {
        insert_request(tx, doc, r, None, now).await?;
    }
    Ok(())
}

/// Applies the `approve` stage's effects inside its job's transaction.
pub(crate) async fn save(
    tx: &mut Tx,
    doc: DocumentId,
    e: &ApprovalEffects,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match e {
        ApprovalEffects::Start { workflow, requests } => {
            insert_workflow(tx, doc, workflow, "open", now).await?;
            for (i, s) in workflow.steps.iter().enumerate() {
                sql(
                    "INSERT INTO approval_steps (document_id, step, mode, needed, approvers, \
                     reminder_days, escalate_to, escalate_days) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(doc.0)
                .bind(i as i64)
                .bind(s.mode.as_str())
                .bind(s.needed)
                .bind(plans_json(s)?)
                .bind(s.reminder_days.map(i64::from))
                .bind(s.escalate_to.clone())
                .bind(s.escalate_days.map(i64::from))
                .execute(&mut *tx, "recording an approval step")
                .await?;
            }
            issue(tx, doc, 0, requests, now).await
        }
        ApprovalEffects::Issue { step, requests } => issue(tx, doc, *step, requests, now).await,
        ApprovalEffects::AutoApproved { rule, version } => {
            let wf = NewWorkflow {
                rule: rule.clone(),
                version: version.clone(),
                submitter: None,
                steps: vec![],
            };
            insert_workflow(tx, doc, &wf, "auto_approved", now).await?;
            let by = decide::By {
                doc,
                request: None,
                step: None,
                actor: "facteur",
                on_behalf_of: None,
                ip: None,
                user_agent: None,
                at: now,
            };
            decide::audit(tx, &by, "auto_approve", Some(rule.as_str())).await
        }
    }
}

async fn insert_workflow(
    tx: &mut Tx,
    doc: DocumentId,
    w: &NewWorkflow,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql(
        "INSERT INTO approval_workflows (document_id, rule, version, submitter, status, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(doc.0)
    .bind(w.rule.as_str())
    .bind(w.version.as_str())
    .bind(w.submitter.clone())
    .bind(status)
    .bind(now)
    .execute(tx, "recording an approval workflow")
    .await?;
    Ok(())
}
