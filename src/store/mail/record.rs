//! Messages and their parts: which UIDs not to fetch again, recording a fetched message with the
//! documents its parts become (one transaction), and counting a failed attempt on a message.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{
    backoff_at, FailureFate, MailKey, MailPart, MailRecord, MailStatus, MessageMeta, PartVerdict,
    Recorded, KEY,
};
use crate::domain::{now_micros, ContentHash};
use crate::store::db::{sql, Db, Tx};
use crate::store::documents::intake_in;
use crate::store::{IntakeOutcome, StoreError};

/// UIDs not to fetch in this folder generation: every recorded message except those retrying
/// whose next attempt is due.
pub(super) async fn skip_set(
    db: &Db,
    account: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<HashSet<u32>, StoreError> {
    let rows = sql(format!(
        "SELECT uid FROM mail_messages WHERE {KEY} \
         AND NOT (status = 'retrying' AND next_attempt_at <= $4)"
    ))
    .bind(account)
    .bind(folder)
    .bind(uidvalidity)
    .bind(now_micros())
    .fetch_all(db, "listing recorded messages")
    .await?;
    let mut uids = HashSet::new();
    for r in rows {
        if let Ok(u) = u32::try_from(r.at::<i64>(0)?) {
            uids.insert(u);
        }
    }
    Ok(uids)
}

/// The earliest next attempt of a message retrying later in this folder generation.
pub(super) async fn next_retry(
    db: &Db,
    account: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row = sql(format!(
        "SELECT next_attempt_at FROM mail_messages WHERE {KEY} \
         AND status = 'retrying' AND next_attempt_at > $4 ORDER BY next_attempt_at LIMIT 1"
    ))
    .bind(account)
    .bind(folder)
    .bind(uidvalidity)
    .bind(now_micros())
    .fetch_optional(db, "finding the next message to retry")
    .await?;
    match row {
        Some(r) => Ok(r.get("next_attempt_at")?),
        None => Ok(None),
    }
}

/// Records a message and takes its parts' documents, one transaction; a message already recorded
/// (other than `retrying`) is left alone and nothing is written.
pub(super) async fn record(
    db: &Db,
    record: &MailRecord,
    parts: &[MailPart],
) -> Result<Recorded, StoreError> {
    let now = now_micros();
    let k = &record.key;
    let taken = parts
        .iter()
        .filter(|p| matches!(p.verdict, PartVerdict::Take(_)))
        .count() as i64;
    let flag = matches!(record.status, MailStatus::Refused | MailStatus::Failed);
    let mut tx = db.begin_write("starting a mail record").await?;
    let eml_sha = record.eml.as_ref().map(|e| ContentHash::of(&e.0));
    if let (Some(e), Some(sha)) = (&record.eml, &eml_sha) {
        sql(
            "INSERT INTO blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(sha.as_str())
        .bind(e.0.len() as i64)
        .bind(e.0.as_slice())
        .bind(now)
        .execute(&mut tx, "storing a kept message")
        .await?;
    }
    let n = sql(
        "INSERT INTO mail_messages (account, folder, uidvalidity, uid, message_id, sender, \
                 subject, status, reason, documents, action_pending, flag_pending, attempts, \
                 fetched_at, updated_at, eml_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $13, $14) \
                 ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE SET \
                 message_id = excluded.message_id, sender = excluded.sender, \
                 subject = excluded.subject, status = excluded.status, reason = excluded.reason, \
                 documents = excluded.documents, action_pending = excluded.action_pending, \
                 flag_pending = excluded.flag_pending, next_attempt_at = NULL, \
                 updated_at = excluded.updated_at, eml_sha256 = excluded.eml_sha256 \
                 WHERE mail_messages.status = 'retrying'",
    )
    .bind(k.account.as_str())
    .bind(k.folder.as_str())
    .bind(k.uidvalidity)
    .bind(k.uid)
    .bind(record.meta.message_id.as_deref())
    .bind(record.meta.from.as_deref())
    .bind(record.meta.subject.as_deref())
    .bind(record.status.as_str())
    .bind(record.reason.as_deref())
    .bind(taken)
    .bind(record.action_pending)
    .bind(flag)
    .bind(now)
    .bind(eml_sha.as_ref().map(|h| h.as_str().to_string()))
    .execute(&mut tx, "recording a message")
    .await?;
    if n == 0 {
        tx.rollback("rolling back a duplicate mail record").await?;
        return Ok(Recorded::AlreadyRecorded);
    }
    let mut outcomes = Vec::new();
    for p in parts {
        if let Some(o) = record_part(&mut tx, k, p, now).await? {
            outcomes.push(o);
        }
    }
    tx.commit("committing a mail record").await?;
    Ok(Recorded::Committed(outcomes))
}

/// One part's line, and its document when it is taken.
async fn record_part(
    tx: &mut Tx,
    k: &MailKey,
    p: &MailPart,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<IntakeOutcome>, StoreError> {
    let (sha, outcome, label, reason) = match &p.verdict {
        PartVerdict::Take(raw) => {
            let o = intake_in(tx, raw, now).await?;
            let label = match o {
                IntakeOutcome::Created(_) => "created",
                IntakeOutcome::Rearrived(_) => "rearrived",
            };
            let sha = ContentHash::of(&raw.bytes).as_str().to_string();
            (Some(sha), Some(o), label, None)
        }
        PartVerdict::Refused(why) => (None, None, "refused", Some(why.as_str())),
        PartVerdict::Ignored(why) => (None, None, "ignored", Some(why.as_str())),
    };
    sql(
        "INSERT INTO mail_parts (account, folder, uidvalidity, uid, part, file_name, size, \
         sha256, document_id, outcome, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(k.account.as_str())
    .bind(k.folder.as_str())
    .bind(k.uidvalidity)
    .bind(k.uid)
    .bind(p.part.as_str())
    .bind(p.file_name.as_str())
    .bind(i64::try_from(p.size).unwrap_or(i64::MAX))
    .bind(sha)
    .bind(outcome.map(|o| o.document().0))
    .bind(label)
    .bind(reason)
    .execute(tx, "recording a message part")
    .await?;
    Ok(outcome)
}

/// Counts a failed attempt on a message: retried after `backoff × 2^(attempts−1)`, or `failed`
/// (flag pending) once `max_attempts` is reached.
pub(super) async fn failure(
    db: &Db,
    key: &MailKey,
    meta: &MessageMeta,
    error: &str,
    max_attempts: u32,
    backoff: Duration,
) -> Result<FailureFate, StoreError> {
    let now = now_micros();
    let mut tx = db.begin_write("starting a mail failure").await?;
    let prev = sql(format!(
        "SELECT status, attempts FROM mail_messages WHERE {KEY} AND uid = $4"
    ))
    .bind(key.account.as_str())
    .bind(key.folder.as_str())
    .bind(key.uidvalidity)
    .bind(key.uid)
    .fetch_optional(&mut tx, "reading a message's attempts")
    .await?;
    let attempts = match prev {
        None => 1,
        Some(row) => {
            if row.get::<String>("status")? != "retrying" {
                // Recorded for good meanwhile (another worker): nothing to count.
                return Ok(FailureFate::Permanent);
            }
            let a: i64 = row.get("attempts")?;
            u32::try_from(a).unwrap_or(u32::MAX).saturating_add(1)
        }
    };
    let permanent = attempts >= max_attempts.max(1);
    let at = backoff_at(now, backoff, attempts);
    let (status, reason) = if permanent {
        (
            "failed",
            format!("gave up after {attempts} attempt(s): {error}"),
        )
    } else {
        ("retrying", error.to_string())
    };
    sql(
        "INSERT INTO mail_messages (account, folder, uidvalidity, uid, message_id, sender, \
         subject, status, reason, documents, action_pending, flag_pending, attempts, \
         next_attempt_at, fetched_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE SET \
         status = excluded.status, reason = excluded.reason, \
         flag_pending = excluded.flag_pending, attempts = excluded.attempts, \
         next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at \
         WHERE mail_messages.status = 'retrying'",
    )
    .bind(key.account.as_str())
    .bind(key.folder.as_str())
    .bind(key.uidvalidity)
    .bind(key.uid)
    .bind(meta.message_id.as_deref())
    .bind(meta.from.as_deref())
    .bind(meta.subject.as_deref())
    .bind(status)
    .bind(reason)
    .bind(false)
    .bind(permanent)
    .bind(attempts)
    .bind((!permanent).then_some(at))
    .bind(now)
    .execute(&mut tx, "recording a failed message")
    .await?;
    tx.commit("committing a mail failure").await?;
    Ok(if permanent {
        FailureFate::Permanent
    } else {
        FailureFate::Retry { at }
    })
}
