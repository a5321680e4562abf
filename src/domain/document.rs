//! A received document and its life: where it came from, which state it is in, what happened.
//!
//! States are the ones of DESIGN.md §1 and only move forward; every change is one store
//! transaction that also records an event and enqueues the next stage's job.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Primary key of a document row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocumentId(pub i64);

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A SHA-256 of the original bytes, lower-case hex: the content address of a blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        ContentHash(hex::encode(Sha256::digest(bytes)))
    }

    /// From stored text; only 64 hex digits are accepted.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ContentHash(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a document came from. Stored as JSON on the document and on each arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A watched drop folder (`source` is the configured source name).
    Folder { source: String, path: String },
    /// An IMAP mailbox message part.
    Imap {
        source: String,
        account: String,
        folder: String,
        uidvalidity: u32,
        uid: u32,
        message_id: Option<String>,
        from: Option<String>,
        part: String,
    },
    /// `facteur ingest PATH` from the command line.
    Cli { path: String },
    /// An upload through the REST API by a user (`POST /api/v1/documents`).
    Api { user: String, file_name: String },
}

impl Origin {
    /// The configured source name, or `cli`, or `api`.
    pub fn source(&self) -> &str {
        match self {
            Origin::Folder { source, .. } | Origin::Imap { source, .. } => source,
            Origin::Cli { .. } => "cli",
            Origin::Api { .. } => "api",
        }
    }

    /// A short human description: a path, or `account/folder#uid`.
    pub fn describe(&self) -> String {
        match self {
            Origin::Folder { path, .. } | Origin::Cli { path } => path.clone(),
            Origin::Api { user, file_name } => format!("{file_name} (API upload by {user})"),
            Origin::Imap {
                account,
                folder,
                uid,
                part,
                ..
            } => {
                format!("{account}/{folder}#{uid} ({part})")
            }
        }
    }
}

/// What a source hands to intake: bytes and where they came from. Sources never parse.
#[derive(Debug, Clone)]
pub struct RawDocument {
    pub bytes: Vec<u8>,
    /// File or attachment name as received (may be untrusted; never used as a path).
    pub name: String,
    pub origin: Origin,
}

/// The one-way states of DESIGN.md §1, plus `failed` for a document that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    Received,
    /// Read and extracted, waiting for duplicate detection.
    Read,
    NeedsReview,
    /// Blocked as a duplicate (rules D1/D2) until a person overrides it with a reason.
    Duplicate,
    /// Maybe a duplicate (D3–D8): waits in the review queue.
    DuplicateSuspected,
    PendingApproval,
    Approved,
    Rejected,
    Posted,
    Exported,
    Paid,
    /// Could not be read at all (reason in the events); the worker went on.
    Failed,
}

impl DocumentState {
    pub const ALL: [DocumentState; 12] = [
        DocumentState::Received,
        DocumentState::Read,
        DocumentState::NeedsReview,
        DocumentState::Duplicate,
        DocumentState::DuplicateSuspected,
        DocumentState::PendingApproval,
        DocumentState::Approved,
        DocumentState::Rejected,
        DocumentState::Posted,
        DocumentState::Exported,
        DocumentState::Paid,
        DocumentState::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentState::Received => "received",
            DocumentState::Read => "read",
            DocumentState::NeedsReview => "needs_review",
            DocumentState::Duplicate => "duplicate",
            DocumentState::DuplicateSuspected => "duplicate_suspected",
            DocumentState::PendingApproval => "pending_approval",
            DocumentState::Approved => "approved",
            DocumentState::Rejected => "rejected",
            DocumentState::Posted => "posted",
            DocumentState::Exported => "exported",
            DocumentState::Paid => "paid",
            DocumentState::Failed => "failed",
        }
    }
}

impl fmt::Display for DocumentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DocumentState {
    /// The stage that takes a document on from this state (DESIGN.md §1). Only the stages built so
    /// far are listed; a stage's issue adds its line. Start-up backfill uses this to queue the
    /// documents that were parked in a state before its next stage existed.
    pub fn next_stage(&self) -> Option<Stage> {
        match self {
            DocumentState::Received => Some(Stage::Read),
            DocumentState::Read => Some(Stage::Dedupe),
            DocumentState::PendingApproval => Some(Stage::Approve),
            DocumentState::Approved => Some(Stage::Post),
            _ => None,
        }
    }

    /// A stage run on a document while it waits here for a person, leaving it in place. A
    /// reading in doubt is still checked for duplicates at once: its keys must be there for
    /// the invoices that arrive after it, and its reviewer sees the evidence.
    pub fn check_while_waiting(&self) -> Option<Stage> {
        match self {
            DocumentState::NeedsReview => Some(Stage::Dedupe),
            _ => None,
        }
    }

    /// The moves a stage may make (DESIGN.md §1); the store refuses any other. A person's
    /// decision that moves a document back goes through its own audited command, not through
    /// a job.
    pub fn can_become(&self, to: DocumentState) -> bool {
        use DocumentState::*;
        matches!(
            (self, to),
            (Received, Read | NeedsReview | Failed)
                | (
                    Read,
                    NeedsReview | Duplicate | DuplicateSuspected | PendingApproval | Failed
                )
                // Checked while waiting (stays), or accepted as read: its standing duplicate
                // findings then decide where it goes.
                | (
                    NeedsReview,
                    NeedsReview
                        | Read
                        | Duplicate
                        | DuplicateSuspected
                        | PendingApproval
                        | Rejected
                        | Failed
                )
                // A corrected reading goes back through the duplicate checks (`Read`).
                | (
                    Duplicate | DuplicateSuspected,
                    Read | PendingApproval | Rejected | Failed
                )
                // An earlier document checked late (after a correction) hands its verdict on.
                // Corrected while in approval: back through the checks (`Read`).
                | (
                    PendingApproval,
                    Approved | Rejected | Failed | Duplicate | DuplicateSuspected | Read
                )
                // Held before posting: a copy of an invoice already booked.
                | (Approved, Posted | Failed | DuplicateSuspected | Read)
                | (Posted, Exported | Paid)
                | (Exported, Paid)
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown document state '{0}'; one of: received, read, needs_review, duplicate, duplicate_suspected, pending_approval, approved, rejected, posted, exported, paid, failed")]
pub struct UnknownState(pub String);

impl FromStr for DocumentState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// A pipeline stage; each has a job kind in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Read,
    Dedupe,
    Route,
    Approve,
    Post,
    Export,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Dedupe => "dedupe",
            Stage::Route => "route",
            Stage::Approve => "approve",
            Stage::Post => "post",
            Stage::Export => "export",
        }
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Stage::Read,
            Stage::Dedupe,
            Stage::Route,
            Stage::Approve,
            Stage::Post,
            Stage::Export,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| format!("unknown stage '{s}'"))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a document's history.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentEvent {
    pub at: DateTime<Utc>,
    pub from_state: Option<DocumentState>,
    pub to_state: DocumentState,
    pub reason: String,
}

/// Truncates to microseconds so SQLite and PostgreSQL round-trip the same instant.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
