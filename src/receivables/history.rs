//! An issued invoice's history after issuing: who did what, when. Issued sales are frozen in the
//! database, so what happens to them later (sent, disputed and resolved, reminded, paid) is
//! recorded beside them, one event a row, and a dispute is a row of its own while it is open.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Issued,
    /// Mailed to the customer's invoice mailbox, the PDF attached.
    Sent,
    /// Marked in dispute (litige): reminders stop.
    Disputed,
    /// The dispute closed: reminders resume.
    Resolved,
    /// A reminder of the ladder queued.
    Reminded,
    /// A payment received (a statement line), in part or in full.
    Paid,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Issued,
        EventKind::Sent,
        EventKind::Disputed,
        EventKind::Resolved,
        EventKind::Reminded,
        EventKind::Paid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Issued => "issued",
            EventKind::Sent => "sent",
            EventKind::Disputed => "disputed",
            EventKind::Resolved => "resolved",
            EventKind::Reminded => "reminded",
            EventKind::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The word a French reader sees in `sales history`.
    pub fn fr(self) -> &'static str {
        match self {
            EventKind::Issued => "émise",
            EventKind::Sent => "envoyée",
            EventKind::Disputed => "en litige",
            EventKind::Resolved => "litige clos",
            EventKind::Reminded => "relancée",
            EventKind::Paid => "encaissement",
        }
    }
}

/// One line of a sale's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: EventKind,
    pub detail: String,
    /// The Message-ID of the mail it queued (sent, reminded).
    pub message_id: Option<String>,
}

/// An open dispute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
}
