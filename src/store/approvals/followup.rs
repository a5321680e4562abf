//! Reminders and escalations of open approval requests. `due` lists the requests whose step
//! asks for one and whose time has come (by the caller's clock, so tests control it); `record`
//! writes one with its new link token and mail, guarded so a request decided or followed up
//! meanwhile gets nothing.

use chrono::{DateTime, Duration, Utc};

use super::super::db::{sql, Db, Tx};
use super::super::outbox::queue_mail;
use super::super::StoreError;
use super::{insert_request, insert_token, note, NewRequest};
use crate::approval::{Approver, Lang};
use crate::domain::DocumentId;

#[derive(Debug, Clone, PartialEq)]
pub enum DueKind {
    Reminder,
    /// Ask this person too.
    Escalation {
        to: String,
    },
}

/// An open request whose reminder or escalation is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub request_id: i64,
    pub document: DocumentId,
    pub step: u32,
    pub approver: Approver,
    pub kind: DueKind,
}

/// What the scheduler sends for a `Due`.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUp {
    /// A fresh link (same request) and its mail.
    Reminder {
        request_id: i64,
        token_hash: String,
        version: String,
        expires_at: DateTime<Utc>,
        mail: crate::store::outbox::OutgoingMail,
    },
    /// A new request at the same step, for the escalation's approver.
    Escalation {
        request_id: i64,
        document: DocumentId,
        request: NewRequest,
    },
}

pub(crate) async fn due(db: &Db, now: DateTime<Utc>) -> Result<Vec<Due>, StoreError> {
    let rows = sql(
        "SELECT r.id, r.document_id, r.step, r.approver, r.lang, r.sent_at, r.reminded_at, \
         r.escalated_at, r.escalated_from, s.reminder_days, s.escalate_to, s.escalate_days \
         FROM approval_requests r \
         JOIN approval_steps s ON s.document_id = r.document_id AND s.step = r.step \
         JOIN approval_workflows w ON w.document_id = r.document_id \
         WHERE r.decided_at IS NULL AND s.done_at IS NULL AND w.status = 'open' \
         AND (s.reminder_days IS NOT NULL OR s.escalate_days IS NOT NULL) \
         ORDER BY r.id",
    )
    .fetch_all(db, "listing open approval requests")
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let sent: DateTime<Utc> = r.get("sent_at")?;
        let after = |c: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(r.get::<Option<i64>>(c)?
                .map(|d| sent + Duration::days(d.clamp(0, 3650))))
        };
        let base = Due {
            request_id: r.get("id")?,
            document: DocumentId(r.get("document_id")?),
            step: r.get::<i64>("step")?.max(0) as u32,
            approver: Approver {
                email: r.get("approver")?,
                lang: Lang::parse(&r.get::<String>("lang")?),
            },
            kind: DueKind::Reminder,
        };
        let reminded: Option<DateTime<Utc>> = r.get("reminded_at")?;
        let escalated: Option<DateTime<Utc>> = r.get("escalated_at")?;
        let is_escalation: Option<i64> = r.get("escalated_from")?;
        if reminded.is_none() && after("reminder_days")?.is_some_and(|t| t <= now) {
            out.push(base.clone());
        }
        let to: Option<String> = r.get("escalate_to")?;
        if let (None, None, Some(to)) = (escalated, is_escalation, to) {
            if after("escalate_days")?.is_some_and(|t| t <= now) {
                out.push(Due {
                    kind: DueKind::Escalation { to },
                    ..base
                });
            }
        }
    }
    Ok(out)
}

pub(crate) async fn record(
    tx: &mut Tx,
    f: &FollowUp,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (request, column) = match f {
        FollowUp::Reminder { request_id, .. } => (*request_id, "reminded_at"),
        FollowUp::Escalation { request_id, .. } => (*request_id, "escalated_at"),
    };
    let claimed = sql(format!(
        "UPDATE approval_requests SET {column} = $1 WHERE id = $2 AND {column} IS NULL \
         AND decided_at IS NULL RETURNING document_id"
    ))
    .bind(now)
    .bind(request)
    .scalar::<i64>(&mut *tx, "marking a follow-up")
    .await?;
    let Some(doc) = claimed.map(DocumentId) else {
        return Ok(false);
    };
    match f {
        FollowUp::Reminder {
            token_hash,
            version,
            expires_at,
            mail,
            ..
        } => {
            insert_token(tx, request, token_hash, version, *expires_at, now).await?;
            queue_mail(tx, mail, now).await?;
            let why = format!("reminder sent to {}", mail.recipient);
            note(tx, doc, &why, now).await?;
        }
        FollowUp::Escalation {
            document,
            request: r,
            ..
        } => {
            insert_request(tx, *document, r, Some(request), now).await?;
            let why = format!(
                "no answer at step {}: escalated to {}",
                r.step + 1,
                r.approver.email
            );
            note(tx, *document, &why, now).await?;
        }
    }
    Ok(true)
}
