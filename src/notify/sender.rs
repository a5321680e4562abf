//! Delivers the outbox over SMTP (lettre, rustls): each due message is sent with its stored
//! Message-ID, then marked sent; a failure is recorded and retried with backoff. A crash after
//! the server accepted a message but before `outbox_sent` sends it again (at least once, never
//! lost); the stable Message-ID lets mail clients fold the copy.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use crate::config::{SmtpSecurity, SmtpSettings};
use crate::domain::now_micros;
use crate::store::outbox::OutboxMail;
use crate::store::{Store, StoreError};

/// Messages sent per pass.
const BATCH: u32 = 50;
/// Longest wait before a failed message is tried again.
const MAX_BACKOFF_SECS: i64 = 3600;

/// A configured SMTP connection.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    max_attachment_bytes: u64,
}

impl SmtpSender {
    /// From `[smtp]`; `base_dir` resolves a relative `password_file`.
    pub fn build(s: &SmtpSettings, base_dir: &Path) -> anyhow::Result<SmtpSender> {
        let builder = match s.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .with_context(|| format!("SMTP TLS to {}", s.host))?,
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .with_context(|| format!("SMTP STARTTLS to {}", s.host))?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        let mut builder = builder
            .port(s.port())
            .timeout(Some(Duration::from_secs(s.timeout_secs.max(1))));
        if let Some(user) = &s.user {
            let password = match (&s.password_env, &s.password_file) {
                (Some(var), _) => std::env::var(var)
                    .with_context(|| format!("smtp.password_env: ${var} is not set"))?,
                (None, Some(file)) => {
                    let path = if file.is_absolute() {
                        file.clone()
                    } else {
                        base_dir.join(file)
                    };
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("smtp.password_file {}", path.display()))?
                        .trim_end()
                        .to_string()
                }
                (None, None) => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from = s
            .from
            .parse()
            .with_context(|| format!("smtp.from '{}' is not an address", s.from))?;
        Ok(SmtpSender {
            transport: builder.build(),
            from,
            max_attachment_bytes: s.max_attachment_mb.saturating_mul(1 << 20),
        })
    }

    async fn send(&self, store: &dyn Store, m: &OutboxMail) -> anyhow::Result<()> {
        let to: Mailbox = m
            .mail
            .recipient
            .parse()
            .with_context(|| format!("recipient '{}'", m.mail.recipient))?;
        let body =
            MultiPart::alternative_plain_html(m.mail.body_text.clone(), m.mail.body_html.clone());
        let mut parts = MultiPart::mixed().multipart(body);
        if let Some((name, hash)) = &m.mail.attachment {
            let bytes = store.blob(hash).await.context("reading the attachment")?;
            if (bytes.len() as u64) <= self.max_attachment_bytes {
                let kind = if name.to_ascii_lowercase().ends_with(".xml") {
                    "application/xml"
                } else {
                    "application/pdf"
                };
                let kind = ContentType::parse(kind).context("content type")?;
                parts = parts.singlepart(Attachment::new(name.clone()).body(bytes, kind));
            }
        }
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.mail.subject.clone())
            .message_id(Some(m.message_id.clone()))
            .multipart(parts)
            .context("building the message")?;
        self.transport
            .send(message)
            .await
            .context("SMTP delivery")?;
        Ok(())
    }
}

/// Sends every due message once; returns how many were accepted by the server.
pub async fn send_due(
    store: &dyn Store,
    sender: &SmtpSender,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut sent = 0;
    for m in store.outbox_due(now, BATCH).await? {
        match sender.send(store, &m).await {
            Ok(()) => {
                store.outbox_sent(m.id, now_micros()).await?;
                sent += 1;
            }
            Err(e) => {
                let wait = (30i64 << m.attempts.clamp(0, 10)).min(MAX_BACKOFF_SECS);
                let error = format!("{e:#}");
                tracing::warn!(to = %m.mail.recipient, %error, retry_in_secs = wait, "mail not sent");
                store
                    .outbox_failed(m.id, &error, now + chrono::Duration::seconds(wait))
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// The sender loop of `facteur run`: a pass every `every` until shutdown.
pub async fn run(
    store: Arc<dyn Store>,
    sender: SmtpSender,
    every: Duration,
    shutdown: CancellationToken,
) {
    crate::worker::periodically(every, shutdown, || async {
        match send_due(store.as_ref(), &sender, now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(mails = n, "approval mail sent"),
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
        }
    })
    .await
}
