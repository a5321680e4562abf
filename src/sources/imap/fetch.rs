//! One check of one folder: settle what earlier runs still owe (actions, failure flags), find what
//! is new (UID SEARCH minus what the store recorded for this UIDVALIDITY), fetch it in batches with
//! BODY.PEEK (nothing marked read early), record each message with its documents in one
//! transaction, then apply the folder's action to the batch.
//!
//! A UIDVALIDITY change is a new generation: nothing recorded matches, so every message is fetched
//! again and intake turns known bytes into re-arrivals of the same documents — no duplicate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;

use super::actions::{self, Caps};
use super::config::{ActionKind, CompiledRules, FolderRules, ImapConfig};
use super::connection::Session;
use super::utf7;
use super::{mime, prepare};

use crate::sources::SourceContext;
use crate::store::mail::{FailureFate, MailKey, MailRecord, MailStatus, PartVerdict, Recorded};
use crate::store::StoreError;

/// What one folder check did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CheckReport {
    pub uidvalidity: Option<u32>,
    pub fetched: usize,
    pub documents: usize,
    /// New messages left for the next check (per-run cap, or the lease was lost).
    pub backlog: usize,
    pub lease_lost: bool,
    /// When a message that failed (or whose reading was cut short) is next due: the folder is
    /// checked again then, not at the next poll.
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{what} in folder {folder}: {source}")]
    Imap {
        what: String,
        folder: String,
        #[source]
        source: async_imap::error::Error,
    },
    #[error("{what} in folder {folder} took longer than {secs} s")]
    Timeout {
        what: String,
        folder: String,
        secs: u64,
    },
    #[error("folder {0} has no UIDVALIDITY; facteur cannot tell its messages apart")]
    NoUidValidity(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CheckError {
    /// True when only this folder is affected (the server said NO or BAD: a missing folder, a
    /// refused command); the session and the other folders carry on.
    pub fn is_folder_only(&self) -> bool {
        matches!(
            self,
            CheckError::NoUidValidity(_)
                | CheckError::Imap {
                    source: async_imap::error::Error::No(_)
                        | async_imap::error::Error::Bad(_)
                        | async_imap::error::Error::Validate(_),
                    ..
                }
        )
    }
}

/// Everything a check needs about its account.
pub struct Account<'a> {
    pub cfg: &'a ImapConfig,
    pub rules: &'a [CompiledRules],
    pub ctx: &'a SourceContext,
    pub lease_name: &'a str,
}

impl Account<'_> {
    async fn renew_lease(&self) -> Result<bool, StoreError> {
        self.ctx
            .store
            .try_lease(
                self.lease_name,
                &self.ctx.worker_id,
                Duration::from_secs(self.cfg.lease_secs.max(5)),
            )
            .await
    }
}

async fn timed<T>(
    secs: u64,
    what: &str,
    folder: &str,
    fut: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, CheckError> {
    match tokio::time::timeout(Duration::from_secs(secs.max(1)), fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(CheckError::Imap {
            what: what.to_string(),
            folder: folder.to_string(),
            source,
        }),
        Err(_) => Err(CheckError::Timeout {
            what: what.to_string(),
            folder: folder.to_string(),
            secs,
        }),
    }
}

/// Checks folder number `idx` of the account.
pub async fn check_folder(
    session: &mut Session,
    acc: &Account<'_>,
    idx: usize,
    caps: Caps,
) -> Result<CheckReport, CheckError> {
    let (Some(rules), Some(compiled)) = (acc.cfg.folders.get(idx), acc.rules.get(idx)) else {
        return Ok(CheckReport::default());
    };
    let (name, store, t) = (
        acc.cfg.name.as_str(),
        acc.ctx.store.as_ref(),
        acc.cfg.timeout_secs,
    );
    let folder = rules.name.as_str();
    let mailbox = timed(t, "SELECT", folder, session.select(utf7::encode(folder))).await?;
    let uv = mailbox
        .uid_validity
        .ok_or_else(|| CheckError::NoUidValidity(folder.to_string()))?;
    let mut report = CheckReport {
        uidvalidity: Some(uv),
        ..CheckReport::default()
    };

    // What earlier runs still owe: actions after a crash or a failed action, failure flags.
    let owed = store.mail_pending_actions(name, folder, uv).await?;
    settle_actions(session, acc, rules, caps, uv, &owed).await?;
    let flags = store.mail_pending_flags(name, folder, uv).await?;
    settle_flags(session, acc, folder, uv, &flags).await?;

    let criteria = actions::search_criteria(rules);
    let found = timed(t, "UID SEARCH", folder, session.uid_search(&criteria)).await?;
    let skip = store.mail_skip_set(name, folder, uv).await?;
    let mut new: Vec<u32> = found.into_iter().filter(|u| !skip.contains(u)).collect();
    new.sort_unstable();
    let cap = acc.cfg.max_messages_per_run.max(1);
    report.backlog = new.len().saturating_sub(cap);
    new.truncate(cap);

    let plan = Arc::new(prepare::Plan::new(acc, rules, compiled));
    let mut remaining = new.len();
    for batch in new.chunks(acc.cfg.batch_size.max(1)) {
        if acc.ctx.shutdown.is_cancelled() {
            report.backlog += remaining;
            break;
        }
        if !acc.renew_lease().await? {
            report.lease_lost = true;
            report.backlog += remaining;
            break;
        }
        // Sizes first: a message over the limit is refused without being downloaded.
        let sizes: Vec<(u32, u32)> = timed(t, "UID FETCH sizes", folder, async {
            let stream = session
                .uid_fetch(actions::uid_set(batch), "(UID RFC822.SIZE)")
                .await?;
            let all: Vec<_> = stream.try_collect().await?;
            Ok(all.iter().filter_map(|f| Some((f.uid?, f.size?))).collect())
        })
        .await?;
        let limit = acc.cfg.max_message_bytes(&acc.ctx.intake);
        let too_big: Vec<(u32, u32)> = sizes
            .iter()
            .copied()
            .filter(|(_, size)| u64::from(*size) > limit)
            .collect();
        let wanted: Vec<u32> = batch
            .iter()
            .copied()
            .filter(|u| !too_big.iter().any(|(b, _)| b == u))
            .collect();
        let mut bodies = fetch_bodies(session, t, folder, &wanted).await?;
        let (mut done, mut to_flag) = (Vec::new(), Vec::new());
        refuse_oversized(acc, folder, uv, &too_big, limit, &mut to_flag).await?;
        for uid in &wanted {
            let key = MailKey {
                account: name.to_string(),
                folder: folder.to_string(),
                uidvalidity: uv,
                uid: *uid,
            };
            let Some(body) = bodies.remove(uid) else {
                // Expunged meanwhile, or the server sent no body: count it as a failed attempt.
                if fail(acc, &key, "the server returned no body for this message").await? {
                    to_flag.push(*uid);
                }
                continue;
            };
            report.fetched += 1;
            let taken = take_message(acc, &plan, key, body, &mut done, &mut to_flag).await?;
            report.documents += taken;
        }
        settle_actions(session, acc, rules, caps, uv, &done).await?;
        settle_flags(session, acc, folder, uv, &to_flag).await?;
        remaining -= batch.len();
    }
    report.retry_at = store.mail_next_retry(name, folder, uv).await?;
    Ok(report)
}

/// Downloads whole messages (BODY.PEEK: nothing marked read); a UID missing from the answer was
/// expunged meanwhile.
async fn fetch_bodies(
    session: &mut Session,
    t: u64,
    folder: &str,
    uids: &[u32],
) -> Result<HashMap<u32, Vec<u8>>, CheckError> {
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let set = actions::uid_set(uids);
    timed(t.saturating_mul(4), "UID FETCH", folder, async {
        let stream = session
            .uid_fetch(&set, "(UID RFC822.SIZE BODY.PEEK[])")
            .await?;
        let all: Vec<_> = stream.try_collect().await?;
        Ok(all
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .collect())
    })
    .await
}

/// Records messages over the download limit as refused, without downloading them.
async fn refuse_oversized(
    acc: &Account<'_>,
    folder: &str,
    uv: u32,
    too_big: &[(u32, u32)],
    limit: u64,
    to_flag: &mut Vec<u32>,
) -> Result<(), StoreError> {
    for (uid, size) in too_big {
        let record = MailRecord {
            key: MailKey {
                account: acc.cfg.name.clone(),
                folder: folder.to_string(),
                uidvalidity: uv,
                uid: *uid,
            },
            meta: Default::default(),
            status: MailStatus::Refused,
            reason: Some(format!(
                "message of {:.1} MiB is over the {} MiB download limit (max_message_mb); \
                 not downloaded",
                f64::from(*size) / 1_048_576.0,
                limit / 1_048_576
            )),
            action_pending: false,
            eml: None,
        };
        if let Recorded::Committed(_) = acc.ctx.store.mail_record(&record, &[]).await? {
            to_flag.push(*uid);
        }
    }
    Ok(())
}

/// Why a message is `retrying` while it is being read; it stays if the worker dies meanwhile.
const READING: &str = "facteur stopped while reading this message (out of memory, a crash, or \
     killed); it is tried again later and given up after max_attempts";

/// Reads and records one fetched message; returns the documents taken. An attempt is counted
/// before reading starts, so a message that kills the worker (memory, a parser bug) ends `failed`
/// and flagged after `max_attempts` instead of crash-looping; the record written after reading
/// replaces that count. Reading runs on a blocking thread, off the async runtime.
async fn take_message(
    acc: &Account<'_>,
    plan: &Arc<prepare::Plan>,
    key: MailKey,
    body: Vec<u8>,
    done: &mut Vec<u32>,
    to_flag: &mut Vec<u32>,
) -> Result<usize, StoreError> {
    let (name, folder, uid) = (key.account.as_str(), key.folder.as_str(), key.uid);
    let store = acc.ctx.store.as_ref();
    let backoff = Duration::from_secs(acc.cfg.backoff_secs);
    let meta = mime::meta(&body);
    let fate = store
        .mail_record_failure(&key, &meta, READING, acc.cfg.max_attempts, backoff)
        .await?;
    if fate == FailureFate::Permanent {
        tracing::error!(
            source = name,
            folder,
            uid,
            "reading this message stopped the worker too often; flagged $FacteurFailed"
        );
        to_flag.push(uid);
        return Ok(0);
    }
    let (plan, k) = (Arc::clone(plan), key.clone());
    let prepared = tokio::task::spawn_blocking(move || prepare::prepare(&plan, &k, &body)).await;
    let (record, parts) = match prepared {
        Ok(p) => p,
        Err(e) => {
            if fail(acc, &key, &format!("reading the message failed: {e}")).await? {
                to_flag.push(uid);
            }
            return Ok(0);
        }
    };
    let taken = parts
        .iter()
        .filter(|p| matches!(p.verdict, PartVerdict::Take(_)))
        .count();
    match store.mail_record(&record, &parts).await {
        Ok(Recorded::Committed(_)) => {
            if record.action_pending {
                done.push(uid);
            }
            if matches!(record.status, MailStatus::Refused | MailStatus::Failed) {
                to_flag.push(uid);
            }
            tracing::info!(
                source = name,
                folder,
                uid,
                status = record.status.as_str(),
                documents = taken,
                "message recorded"
            );
            Ok(taken)
        }
        Ok(Recorded::AlreadyRecorded) => {
            tracing::info!(
                source = name,
                folder,
                uid,
                "already recorded by another run"
            );
            Ok(0)
        }
        Err(e) => {
            tracing::warn!(source = name, folder, uid, error = %e, "cannot record the message");
            if fail(acc, &key, &format!("cannot record the message: {e}")).await? {
                to_flag.push(uid);
            }
            Ok(0)
        }
    }
}

/// Counts a failed attempt; true when the message is now failing for good (to flag). The error
/// only escapes when even that cannot be written (store down).
async fn fail(acc: &Account<'_>, key: &MailKey, why: &str) -> Result<bool, StoreError> {
    let fate = acc
        .ctx
        .store
        .mail_record_failure(
            key,
            &Default::default(),
            why,
            acc.cfg.max_attempts,
            Duration::from_secs(acc.cfg.backoff_secs),
        )
        .await?;
    match fate {
        FailureFate::Retry { at } => {
            tracing::warn!(source = %key.account, folder = %key.folder, uid = key.uid, %why, retry_at = %at, "message failed; will retry")
        }
        FailureFate::Permanent => {
            tracing::error!(source = %key.account, folder = %key.folder, uid = key.uid, %why, "message failed for good; flagged $FacteurFailed");
            return Ok(true);
        }
    }
    Ok(false)
}

/// Sets `$FacteurFailed` on permanently failing mail; a failure leaves it owed for the next check.
async fn settle_flags(
    session: &mut Session,
    acc: &Account<'_>,
    folder: &str,
    uv: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    if uids.is_empty() {
        return Ok(());
    }
    let name = acc.cfg.name.as_str();
    match actions::flag_failed(session, folder, uids).await {
        Ok(()) => {
            acc.ctx
                .store
                .mail_flags_applied(name, folder, uv, uids)
                .await
        }
        Err(e) => {
            tracing::warn!(source = name, folder, error = %e, "cannot flag failing mail; will retry");
            Ok(())
        }
    }
}

async fn settle_actions(
    session: &mut Session,
    acc: &Account<'_>,
    rules: &FolderRules,
    caps: Caps,
    uv: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    if uids.is_empty() {
        return Ok(());
    }
    let (name, folder) = (acc.cfg.name.as_str(), rules.name.as_str());
    let result = if rules.action == ActionKind::None {
        Ok(())
    } else {
        actions::apply(session, rules, caps, uids).await
    };
    match result {
        Ok(()) => {
            acc.ctx
                .store
                .mail_actions_applied(name, folder, uv, uids, None)
                .await
        }
        Err(e) => {
            tracing::warn!(source = name, folder, error = %e, "mailbox action failed; it stays owed and is retried at the next check");
            acc.ctx
                .store
                .mail_actions_applied(name, folder, uv, uids, Some(&e.to_string()))
                .await
        }
    }
}
