//! The approval scheduler of `facteur run`: reminders (a fresh link to whoever has not answered
//! after `reminder_days`) and escalations (after `escalate_days`, `escalate_to` is asked too).
//! `follow_up` takes the clock as a parameter, so tests fire both by moving `now`. With several
//! workers on one database, `run` ticks only in the holder of the lease `scheduler:approvals`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::approval::{Approver, Routing};
use crate::domain::now_micros;
use crate::notify::MailKind;
use crate::stages::approve::Ask;
use crate::store::approvals::{DueKind, FollowUp};
use crate::store::{Store, StoreError};

/// Sends the reminders and escalations due at `now`; returns how many were recorded.
pub async fn follow_up(
    store: &dyn Store,
    routing: &Routing,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut n = 0;
    for due in store.approval_due(now).await? {
        let Some(progress) = store.approval_progress(due.document).await? else {
            continue;
        };
        let record = store.document(due.document).await?;
        let ask = Ask {
            routing,
            record: &record,
            rule: &progress.rule,
            steps: progress.steps.len() as u32,
            version: &progress.version,
            now,
        };
        let f = match due.kind {
            DueKind::Reminder => {
                let r = ask.request(due.step, &due.approver, &MailKind::Reminder);
                FollowUp::Reminder {
                    request_id: due.request_id,
                    token_hash: r.token_hash,
                    version: r.version,
                    expires_at: r.expires_at,
                    mail: r.mail,
                }
            }
            DueKind::Escalation { to } => {
                let to = Approver {
                    email: to,
                    lang: routing.links.default_lang,
                };
                let kind = MailKind::Escalation {
                    from: due.approver.email.clone(),
                };
                FollowUp::Escalation {
                    request_id: due.request_id,
                    document: due.document,
                    request: ask.request(due.step, &to, &kind),
                }
            }
        };
        if store.approval_follow_up(&f, now).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// The named lease of this scheduler: one worker at a time sends reminders and escalations.
pub const LEASE: &str = "scheduler:approvals";

/// Runs `follow_up` every `every` until shutdown, in whichever worker holds `LEASE` (`owner` is
/// this worker's id); the lease outlives three ticks, so a dead holder is replaced within that.
pub async fn run(
    store: Arc<dyn Store>,
    routing: Routing,
    owner: String,
    every: Duration,
    shutdown: CancellationToken,
) {
    let (lease_store, ttl) = (store.clone(), every * 3);
    super::periodically_alone(lease_store, LEASE, &owner, every, ttl, shutdown, || async {
        match follow_up(store.as_ref(), &routing, now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(follow_ups = n, "approval reminders and escalations sent"),
            Err(e) => tracing::warn!(error = %e, "approval scheduler failed"),
        }
    })
    .await
}
