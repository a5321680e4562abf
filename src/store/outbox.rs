//! The mail outbox: messages committed in the same transaction as what caused them (an approval
//! request, a reminder), delivered afterwards by `notify::sender`. Delivery is at least once: a
//! crash between the SMTP server's acceptance and `outbox_sent` sends the message again, with the
//! same Message-ID, so a mail client shows it once; nothing is ever lost.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::{sql, Row, Tx};
use super::{SqlStore, StoreError};
use crate::domain::ContentHash;

/// A message to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMail {
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The document's original bytes, attached under this name.
    pub attachment: Option<(String, ContentHash)>,
}

/// A queued message.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: i64,
    /// `<…@facteur>`, fixed when queued.
    pub message_id: String,
    pub mail: OutgoingMail,
    pub attempts: i64,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Unsent messages whose next attempt is due, oldest first.
    async fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError>;
    async fn outbox_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a failed attempt; the message is tried again at `retry_at`.
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// Queues a message inside the caller's transaction; returns its Message-ID.
pub(crate) async fn queue_mail(
    tx: &mut Tx,
    m: &OutgoingMail,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let message_id = format!("<{}@facteur>", crate::approval::token::nonce());
    let (name, hash) = match &m.attachment {
        Some((n, h)) => (Some(n.as_str()), Some(h.as_str())),
        None => (None, None),
    };
    sql(
        "INSERT INTO outbox (message_id, recipient, subject, body_text, body_html, \
         attachment_name, attachment_hash, created_at, next_attempt_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0)",
    )
    .bind(message_id.as_str())
    .bind(m.recipient.as_str())
    .bind(m.subject.as_str())
    .bind(m.body_text.as_str())
    .bind(m.body_html.as_str())
    .bind(name)
    .bind(hash)
    .bind(now)
    .execute(tx, "queueing a mail")
    .await?;
    Ok(message_id)
}

fn mail_from_row(r: &Row) -> Result<OutboxMail, StoreError> {
    let name: Option<String> = r.get("attachment_name")?;
    let hash: Option<String> = r.get("attachment_hash")?;
    let attachment = match (name, hash) {
        (Some(n), Some(h)) => Some((
            n,
            ContentHash::parse(&h)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox attachment hash '{h}'")))?,
        )),
        _ => None,
    };
    Ok(OutboxMail {
        id: r.get("id")?,
        message_id: r.get("message_id")?,
        attempts: r.get("attempts")?,
        mail: OutgoingMail {
            recipient: r.get("recipient")?,
            subject: r.get("subject")?,
            body_text: r.get("body_text")?,
            body_html: r.get("body_html")?,
            attachment,
        },
    })
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        sql(
            "SELECT id, message_id, recipient, subject, body_text, body_html, attachment_name, \
             attachment_hash, attempts FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.db, "reading the outbox")
        .await?
        .iter()
        .map(mail_from_row)
        .collect()
    }

    async fn outbox_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sql("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.db, "marking a mail sent")
            .await?;
        Ok(())
    }

    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&self.db, "recording a failed mail")
        .await?;
        Ok(())
    }
}
