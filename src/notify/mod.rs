//! Approval mail: the FR/EN messages (`message`) and their delivery from the outbox over SMTP
//! with lettre (`sender`). Messages are rendered when their cause commits and queued in the same
//! transaction; the sender delivers them afterwards, at least once.

pub mod message;
pub mod sender;

pub use message::{approval_mail, InvoiceFacts, MailKind};
pub use sender::{send_due, SmtpSender};
