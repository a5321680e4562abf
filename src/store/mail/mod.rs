//! Mail bookkeeping for the IMAP source: which messages were fetched, keyed on
//! (account, folder, UIDVALIDITY, UID), what became of each part, which mailbox actions are still
//! owed, per-folder health for `facteur mail status`, and rotated OAuth2 refresh tokens.
//!
//! The constraint that shapes it: a message is recorded in the same transaction as the documents
//! its parts become (`record.rs` runs the shared document intake, `documents::intake_in`, inside
//! its own transaction). A crash leaves both or neither, and a second worker recording the same
//! message finds the row already there and rolls its documents back.
//!
//! This file holds the types and the `MailStore` trait; the queries live by role in `record.rs`
//! (messages and parts), `mailbox.rs` (actions and flags still owed), `status.rs` (folder health,
//! `mail status`) and `accounts.rs` (tokens, connection backoff).

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{IntakeOutcome, SqlStore, StoreError};
use crate::domain::RawDocument;

/// One message in one folder generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailKey {
    /// The source name.
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// At least one part became a document; no part refused.
    Imported,
    /// Nothing to take (no attachment of a kind facteur reads); never fetched again.
    Nothing,
    /// Did not match the folder's from/to/subject rules; left alone.
    Skipped,
    /// A part facteur should take was refused (too large, not what its name says, broken zip):
    /// flagged `$FacteurFailed` and listed; its other parts were imported.
    Refused,
    /// A transient failure; fetched again after `next_attempt_at`.
    Retrying,
    /// Permanently failing (unparseable, or out of attempts): flagged and listed.
    Failed,
}

impl MailStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            MailStatus::Imported => "imported",
            MailStatus::Nothing => "nothing",
            MailStatus::Skipped => "skipped",
            MailStatus::Refused => "refused",
            MailStatus::Retrying => "retrying",
            MailStatus::Failed => "failed",
        }
    }
}

/// Headers kept with the record.
#[derive(Debug, Clone, Default)]
pub struct MessageMeta {
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
}

/// A fetched message's record, written with its documents.
#[derive(Debug, Clone)]
pub struct MailRecord {
    pub key: MailKey,
    pub meta: MessageMeta,
    pub status: MailStatus,
    pub reason: Option<String>,
    /// The configured mailbox action is still to apply.
    pub action_pending: bool,
    /// The whole message as fetched, to keep (`keep_eml`): stored in `blobs`, linked from the
    /// record. Not a document: no reader reads RFC 5322 mail.
    pub eml: Option<Eml>,
}

/// A kept message's bytes; `Debug` prints only the size.
#[derive(Clone, PartialEq, Eq)]
pub struct Eml(pub Vec<u8>);

impl std::fmt::Debug for Eml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Eml({} bytes)", self.0.len())
    }
}

/// What to do with one MIME part.
#[derive(Debug, Clone)]
pub enum PartVerdict {
    Take(RawDocument),
    /// Should have been taken but cannot be; the reason is for people.
    Refused(String),
    /// Not an invoice (signature logo, .ics, text); recorded so status can say why.
    Ignored(String),
}

#[derive(Debug, Clone)]
pub struct MailPart {
    /// MIME path (`2`, `3.1`, `2/inner.pdf` inside a zip).
    pub part: String,
    pub file_name: String,
    pub size: u64,
    pub verdict: PartVerdict,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Committed; one outcome per `Take` part, in order.
    Committed(Vec<IntakeOutcome>),
    /// Another worker (or an earlier run) had already recorded this message: nothing was written.
    AlreadyRecorded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailureFate {
    Retry {
        at: DateTime<Utc>,
    },
    /// Out of attempts: `failed`, to be flagged in the mailbox.
    Permanent,
}

/// One folder's health, for `facteur mail status`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FolderStatus {
    pub account: String,
    pub folder: String,
    pub uidvalidity: Option<i64>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Messages seen but not yet fetched at the last check.
    pub backlog: i64,
    pub imported: i64,
    pub nothing: i64,
    pub skipped: i64,
    pub retrying: i64,
    /// `failed` + `refused`.
    pub failing: i64,
    pub actions_pending: i64,
    /// Messages whose whole .eml is kept (`keep_eml`).
    pub eml_kept: i64,
}

/// A message that needs a person, or is waiting for a retry.
#[derive(Debug, Clone, Serialize)]
pub struct FailingMessage {
    pub account: String,
    pub folder: String,
    pub uidvalidity: i64,
    pub uid: i64,
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// OAuth2 and connection state of an account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountAuth {
    pub account: String,
    pub token_updated_at: Option<DateTime<Utc>>,
    pub auth_error: Option<String>,
    pub auth_error_at: Option<DateTime<Utc>>,
    /// The connection is failing: the pause being waited, seconds.
    pub retry_delay_secs: Option<i64>,
    /// When the next connection attempt is due (any worker, after any restart).
    pub retry_at: Option<DateTime<Utc>>,
    pub connect_error: Option<String>,
}

/// A failing account's persisted retry schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectBackoff {
    pub delay: Duration,
    pub retry_at: DateTime<Utc>,
}

/// A message a document came from (for `documents show`), with its kept .eml if any.
#[derive(Debug, Clone, Serialize)]
pub struct MessageOfDocument {
    pub account: String,
    pub folder: String,
    pub uidvalidity: i64,
    pub uid: i64,
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    /// SHA-256 of the kept message in `blobs` (`Store::blob` returns its bytes).
    pub eml_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct MailStatusReport {
    pub folders: Vec<FolderStatus>,
    pub failing: Vec<FailingMessage>,
    pub accounts: Vec<AccountAuth>,
}

mod accounts;
mod mailbox;
mod record;
mod status;

/// The store's mail side; every `Store` is one.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// UIDs not to fetch in this folder generation: every recorded message except those retrying
    /// whose next attempt is due.
    async fn mail_skip_set(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<HashSet<u32>, StoreError>;

    /// When the next retrying message of this folder generation becomes due, if one waits: the
    /// source checks the folder again then instead of at its next poll.
    async fn mail_next_retry(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records a message and takes its parts' documents, one transaction. A message already
    /// recorded (other than `retrying`) is left alone and nothing is written.
    async fn mail_record(
        &self,
        record: &MailRecord,
        parts: &[MailPart],
    ) -> Result<Recorded, StoreError>;

    /// Counts a failed attempt on a message: retried after `backoff × 2^(attempts−1)`, or
    /// `failed` (flag pending) once `max_attempts` is reached.
    async fn mail_record_failure(
        &self,
        key: &MailKey,
        meta: &MessageMeta,
        error: &str,
        max_attempts: u32,
        backoff: Duration,
    ) -> Result<FailureFate, StoreError>;

    /// UIDs whose mailbox action is still owed.
    async fn mail_pending_actions(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Vec<u32>, StoreError>;

    /// UIDs still to flag `$FacteurFailed`.
    async fn mail_pending_flags(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Vec<u32>, StoreError>;

    /// The action was applied (`error` None), or failed and stays owed (`error` Some).
    async fn mail_actions_applied(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    async fn mail_flags_applied(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), StoreError>;

    /// The outcome of one check of a folder.
    async fn mail_folder_checked(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: Option<u32>,
        backlog: u64,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    async fn mail_status(&self) -> Result<MailStatusReport, StoreError>;

    /// The refresh token the provider last gave, if it ever rotated it.
    async fn mail_refresh_token(&self, account: &str) -> Result<Option<String>, StoreError>;

    async fn mail_save_refresh_token(&self, account: &str, token: &str) -> Result<(), StoreError>;

    /// Records the outcome of an OAuth2 refresh (`None`: it worked, clears the alert).
    async fn mail_auth_result(&self, account: &str, error: Option<&str>) -> Result<(), StoreError>;

    /// The account's connection failed (`Some((error, pause))`: next attempt after `pause`), or
    /// worked (`None`: clears the schedule).
    async fn mail_connect_result(
        &self,
        account: &str,
        failure: Option<(&str, Duration)>,
    ) -> Result<(), StoreError>;

    /// The persisted retry schedule of a failing account, if any.
    async fn mail_connect_backoff(
        &self,
        account: &str,
    ) -> Result<Option<ConnectBackoff>, StoreError>;

    /// The messages a document was taken from (several when the same bytes arrived twice).
    async fn mail_messages_of_document(
        &self,
        document: crate::domain::DocumentId,
    ) -> Result<Vec<MessageOfDocument>, StoreError>;
}

pub(crate) fn backoff_at(now: DateTime<Utc>, backoff: Duration, attempts: u32) -> DateTime<Utc> {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    let delay = backoff
        .saturating_mul(factor)
        .min(Duration::from_secs(86_400));
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(1))
}

/// `WHERE` of one folder generation: `$1` account, `$2` folder, `$3` UIDVALIDITY.
const KEY: &str = "account = $1 AND folder = $2 AND uidvalidity = $3";

#[async_trait]
impl MailStore for SqlStore {
    async fn mail_skip_set(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<HashSet<u32>, StoreError> {
        record::skip_set(&self.db, account, folder, uidvalidity).await
    }

    async fn mail_next_retry(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        record::next_retry(&self.db, account, folder, uidvalidity).await
    }

    async fn mail_record(
        &self,
        record: &MailRecord,
        parts: &[MailPart],
    ) -> Result<Recorded, StoreError> {
        record::record(&self.db, record, parts).await
    }

    async fn mail_record_failure(
        &self,
        key: &MailKey,
        meta: &MessageMeta,
        error: &str,
        max_attempts: u32,
        backoff: Duration,
    ) -> Result<FailureFate, StoreError> {
        record::failure(&self.db, key, meta, error, max_attempts, backoff).await
    }

    async fn mail_pending_actions(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Vec<u32>, StoreError> {
        mailbox::pending(
            &self.db,
            mailbox::Owed::Action,
            account,
            folder,
            uidvalidity,
        )
        .await
    }

    async fn mail_pending_flags(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Vec<u32>, StoreError> {
        mailbox::pending(&self.db, mailbox::Owed::Flag, account, folder, uidvalidity).await
    }

    async fn mail_actions_applied(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        mailbox::actions_applied(&self.db, account, folder, uidvalidity, uids, error).await
    }

    async fn mail_flags_applied(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
        uids: &[u32],
    ) -> Result<(), StoreError> {
        mailbox::flags_applied(&self.db, account, folder, uidvalidity, uids).await
    }

    async fn mail_folder_checked(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: Option<u32>,
        backlog: u64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        status::folder_checked(&self.db, account, folder, uidvalidity, backlog, error).await
    }

    async fn mail_status(&self) -> Result<MailStatusReport, StoreError> {
        status::report(&self.db).await
    }

    async fn mail_refresh_token(&self, account: &str) -> Result<Option<String>, StoreError> {
        accounts::refresh_token(&self.db, account).await
    }

    async fn mail_save_refresh_token(&self, account: &str, token: &str) -> Result<(), StoreError> {
        accounts::save_refresh_token(&self.db, account, token).await
    }

    async fn mail_auth_result(&self, account: &str, error: Option<&str>) -> Result<(), StoreError> {
        accounts::auth_result(&self.db, account, error).await
    }

    async fn mail_connect_result(
        &self,
        account: &str,
        failure: Option<(&str, Duration)>,
    ) -> Result<(), StoreError> {
        accounts::connect_result(&self.db, account, failure).await
    }

    async fn mail_connect_backoff(
        &self,
        account: &str,
    ) -> Result<Option<ConnectBackoff>, StoreError> {
        accounts::connect_backoff(&self.db, account).await
    }

    async fn mail_messages_of_document(
        &self,
        document: crate::domain::DocumentId,
    ) -> Result<Vec<MessageOfDocument>, StoreError> {
        status::messages_of_document(&self.db, document).await
    }
}
