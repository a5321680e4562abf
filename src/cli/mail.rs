//! `facteur mail status`: per account and folder, the last successful check, the last error, the
//! backlog and owed actions, then every message that needs a person (permanently failing, with
//! `$FacteurFailed` in the mailbox) or is waiting for a retry, then OAuth2 alerts.
//!
//! Configured folders never checked yet are listed too: a silent source is the failure this view
//! exists to show. An account whose connection fails shows when the next attempt is due (the
//! schedule is kept in the store, so it holds across restarts); `eml` counts kept whole messages.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::config::{Settings, SourceConfig};
use crate::store::mail::{FolderStatus, MailStatusReport};

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// Escaped (names, subjects and errors come from outside) and shortened to `n` characters.
fn cut(s: &str, n: usize) -> String {
    let s = crate::printable::escape(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// Adds configured folders the store has never heard of.
pub fn with_configured(mut report: MailStatusReport, settings: &Settings) -> MailStatusReport {
    for p in &settings.loaded_pipelines {
        for s in &p.sources {
            let SourceConfig::Imap(c) = s else { continue };
            for f in &c.folders {
                let known = report
                    .folders
                    .iter()
                    .any(|x| x.account == c.name && x.folder == f.name);
                if !known {
                    report.folders.push(FolderStatus {
                        account: c.name.clone(),
                        folder: f.name.clone(),
                        ..FolderStatus::default()
                    });
                }
            }
        }
    }
    report
        .folders
        .sort_by(|a, b| (&a.account, &a.folder).cmp(&(&b.account, &b.folder)));
    report
}

/// The text view (fits 100 columns).
pub fn render(r: &MailStatusReport) -> String {
    let mut out = String::new();
    if r.folders.is_empty() {
        out.push_str("No IMAP source is configured or has run.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<18} {:<24} {:<18} {:>7} {:>8} {:>7} {:>6} {:>5}",
        "account", "folder", "last success (UTC)", "backlog", "imported", "failing", "owed", "eml"
    );
    for f in &r.folders {
        let _ = writeln!(
            out,
            "{:<18} {:<24} {:<18} {:>7} {:>8} {:>7} {:>6} {:>5}",
            cut(&f.account, 18),
            cut(&f.folder, 24),
            when(f.last_success_at),
            f.backlog,
            f.imported,
            f.failing + f.retrying,
            f.actions_pending,
            f.eml_kept,
        );
        if let Some(e) = &f.last_error {
            let _ = writeln!(
                out,
                "  last error {}: {}",
                when(f.last_error_at),
                cut(e, 70)
            );
        }
    }
    if !r.failing.is_empty() {
        let _ = writeln!(out, "\nMessages needing attention:");
        for m in &r.failing {
            let state = match m.status.as_str() {
                "retrying" => format!("retry {} at {}", m.attempts + 1, when(m.next_attempt_at)),
                "refused" => "refused, flagged $FacteurFailed".into(),
                _ => "failed, flagged $FacteurFailed".into(),
            };
            let _ = writeln!(
                out,
                "  {}/{} uid {} ({}) from {} «{}»: {}\n    {}",
                m.account,
                m.folder,
                m.uid,
                state,
                cut(m.sender.as_deref().unwrap_or("?"), 60),
                cut(m.subject.as_deref().unwrap_or(""), 40),
                cut(m.message_id.as_deref().unwrap_or("no Message-ID"), 90),
                crate::printable::escape(m.reason.as_deref().unwrap_or(""))
            );
        }
    }
    for a in r.accounts.iter().filter(|a| a.retry_at.is_some()) {
        let _ = writeln!(
            out,
            "\nRETRY {}: connection failing; next attempt {} UTC (pause {} s)\n    {}",
            a.account,
            when(a.retry_at),
            a.retry_delay_secs.unwrap_or(0),
            cut(a.connect_error.as_deref().unwrap_or(""), 90)
        );
    }
    for a in r.accounts.iter().filter(|a| a.auth_error.is_some()) {
        let _ = writeln!(
            out,
            "\nALERT {}: OAuth2 refresh failing since {}: {}",
            a.account,
            when(a.auth_error_at),
            crate::printable::escape(a.auth_error.as_deref().unwrap_or(""))
        );
    }
    out
}

/// `facteur mail status [--json]`.
pub async fn status(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the store: {e}"))?;
    let report = with_configured(store.mail_status().await?, settings);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", render(&report));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mail::{AccountAuth, FailingMessage};

    #[test]
    fn renders_folders_failures_and_alerts() {
        let r = MailStatusReport {
            folders: vec![FolderStatus {
                account: "ap".into(),
                folder: "INBOX".into(),
                backlog: 3,
                imported: 10,
                failing: 1,
                last_error: Some("SELECT in folder INBOX: connection lost".into()),
                ..FolderStatus::default()
            }],
            failing: vec![FailingMessage {
                account: "ap".into(),
                folder: "INBOX".into(),
                uidvalidity: 1,
                uid: 42,
                message_id: Some("<m@x>".into()),
                sender: Some("compta@fournisseur.fr".into()),
                subject: Some("\x1b[1m\r\nX".into()),
                status: "refused".into(),
                reason: Some("big.pdf: too large".into()),
                attempts: 0,
                next_attempt_at: None,
            }],
            accounts: vec![AccountAuth {
                account: "ap".into(),
                token_updated_at: None,
                auth_error: None,
                auth_error_at: None,
                retry_delay_secs: Some(120),
                retry_at: Some(Utc::now()),
                connect_error: Some("cannot reach imap.example.com:993".into()),
            }],
        };
        let text = render(&r);
        assert!(text.contains("RETRY ap: connection failing"), "{text}");
        assert!(text.contains("(pause 120 s)"), "{text}");
        assert!(
            text.contains("uid 42 (refused, flagged $FacteurFailed)"),
            "{text}"
        );
        assert!(text.contains("connection lost"));
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text}");
        assert!(text.contains("«\\e[1m\\r\\nX»"), "{text}");
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= 100 || l.starts_with("    ")),
            "{text}"
        );
    }
}
