//! Folder health for `facteur mail status`: the outcome of each check, counts per status, the
//! messages that need a person, and which messages a document came from.

use super::{AccountAuth, FailingMessage, FolderStatus, MailStatusReport, MessageOfDocument};
use crate::domain::{now_micros, DocumentId};
use crate::store::db::{sql, Db};
use crate::store::StoreError;

/// The outcome of one check of a folder.
pub(super) async fn folder_checked(
    db: &Db,
    account: &str,
    folder: &str,
    uidvalidity: Option<u32>,
    backlog: u64,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let text = if error.is_none() {
        "INSERT INTO mail_folders (account, folder, uidvalidity, last_check_at, \
         last_success_at, backlog) VALUES ($1, $2, $3, $4, $4, $5) \
         ON CONFLICT (account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, \
         last_check_at = excluded.last_check_at, last_success_at = excluded.last_success_at, \
         backlog = excluded.backlog, last_error = NULL, last_error_at = NULL"
    } else {
        "INSERT INTO mail_folders (account, folder, uidvalidity, last_check_at, \
         last_error, last_error_at, backlog) VALUES ($1, $2, $3, $4, $6, $4, $5) \
         ON CONFLICT (account, folder) DO UPDATE SET \
         uidvalidity = COALESCE(excluded.uidvalidity, mail_folders.uidvalidity), \
         last_check_at = excluded.last_check_at, last_error = excluded.last_error, \
         last_error_at = excluded.last_error_at"
    };
    let mut q = sql(text)
        .bind(account)
        .bind(folder)
        .bind(uidvalidity.map(i64::from))
        .bind(now_micros())
        .bind(i64::try_from(backlog).unwrap_or(i64::MAX));
    if let Some(e) = error {
        q = q.bind(e);
    }
    q.execute(db, "recording a folder check").await?;
    Ok(())
}

/// The row of `folders` for (account, folder), added if missing.
fn entry<'a>(
    folders: &'a mut Vec<FolderStatus>,
    account: &str,
    folder: &str,
) -> &'a mut FolderStatus {
    let i = match folders
        .iter()
        .position(|s| s.account == account && s.folder == folder)
    {
        Some(i) => i,
        None => {
            folders.push(FolderStatus {
                account: account.to_string(),
                folder: folder.to_string(),
                ..FolderStatus::default()
            });
            folders.len() - 1
        }
    };
    &mut folders[i]
}

/// (account, folder, n) rows of a grouped count.
async fn per_folder(
    db: &Db,
    text: &'static str,
    context: &'static str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    sql(text)
        .fetch_all(db, context)
        .await?
        .iter()
        .map(|r| Ok((r.at(0)?, r.at(1)?, r.at(2)?)))
        .collect()
}

async fn folders(db: &Db) -> Result<Vec<FolderStatus>, StoreError> {
    let mut folders = Vec::new();
    for r in sql(
        "SELECT account, folder, uidvalidity, last_check_at, last_success_at, \
                  last_error, last_error_at, backlog FROM mail_folders ORDER BY account, folder",
    )
    .fetch_all(db, "reading folder status")
    .await?
    {
        folders.push(FolderStatus {
            account: r.get("account")?,
            folder: r.get("folder")?,
            uidvalidity: r.get("uidvalidity")?,
            last_check_at: r.get("last_check_at")?,
            last_success_at: r.get("last_success_at")?,
            last_error: r.get("last_error")?,
            last_error_at: r.get("last_error_at")?,
            backlog: r.get("backlog")?,
            ..FolderStatus::default()
        });
    }
    for r in sql(
        "SELECT account, folder, status, COUNT(*) FROM mail_messages \
                  GROUP BY account, folder, status",
    )
    .fetch_all(db, "counting messages")
    .await?
    {
        let (a, f, status, n): (String, String, String, i64) =
            (r.at(0)?, r.at(1)?, r.at(2)?, r.at(3)?);
        let s = entry(&mut folders, &a, &f);
        match status.as_str() {
            "imported" => s.imported += n,
            "nothing" => s.nothing += n,
            "skipped" => s.skipped += n,
            "retrying" => s.retrying += n,
            _ => s.failing += n,
        }
    }
    let kept = per_folder(
        db,
        "SELECT account, folder, COUNT(*) FROM mail_messages \
         WHERE eml_sha256 IS NOT NULL GROUP BY account, folder",
        "counting kept messages",
    );
    for (a, f, n) in kept.await? {
        entry(&mut folders, &a, &f).eml_kept = n;
    }
    let owed = per_folder(
        db,
        "SELECT account, folder, COUNT(*) FROM mail_messages \
         WHERE action_pending = TRUE GROUP BY account, folder",
        "counting owed actions",
    );
    for (a, f, n) in owed.await? {
        entry(&mut folders, &a, &f).actions_pending = n;
    }
    Ok(folders)
}

async fn failing(db: &Db) -> Result<Vec<FailingMessage>, StoreError> {
    sql(
        "SELECT account, folder, uidvalidity, uid, message_id, sender, subject, status, \
         reason, attempts, next_attempt_at FROM mail_messages \
         WHERE status IN ('failed', 'refused', 'retrying') \
         ORDER BY account, folder, uidvalidity, uid",
    )
    .fetch_all(db, "listing failing messages")
    .await?
    .iter()
    .map(|r| {
        Ok(FailingMessage {
            account: r.get("account")?,
            folder: r.get("folder")?,
            uidvalidity: r.get("uidvalidity")?,
            uid: r.get("uid")?,
            message_id: r.get("message_id")?,
            sender: r.get("sender")?,
            subject: r.get("subject")?,
            status: r.get("status")?,
            reason: r.get("reason")?,
            attempts: r.get("attempts")?,
            next_attempt_at: r.get("next_attempt_at")?,
        })
    })
    .collect()
}

async fn accounts(db: &Db) -> Result<Vec<AccountAuth>, StoreError> {
    sql(
        "SELECT account, token_updated_at, auth_error, auth_error_at, retry_delay_secs, \
         retry_at, connect_error FROM mail_accounts ORDER BY account",
    )
    .fetch_all(db, "reading mail accounts")
    .await?
    .iter()
    .map(|r| {
        Ok(AccountAuth {
            account: r.get("account")?,
            token_updated_at: r.get("token_updated_at")?,
            auth_error: r.get("auth_error")?,
            auth_error_at: r.get("auth_error_at")?,
            retry_delay_secs: r.get("retry_delay_secs")?,
            retry_at: r.get("retry_at")?,
            connect_error: r.get("connect_error")?,
        })
    })
    .collect()
}

pub(super) async fn report(db: &Db) -> Result<MailStatusReport, StoreError> {
    Ok(MailStatusReport {
        folders: folders(db).await?,
        failing: failing(db).await?,
        accounts: accounts(db).await?,
    })
}

/// The messages a document was taken from (several when the same bytes arrived twice).
pub(super) async fn messages_of_document(
    db: &Db,
    document: DocumentId,
) -> Result<Vec<MessageOfDocument>, StoreError> {
    sql(
        "SELECT DISTINCT m.account, m.folder, m.uidvalidity, m.uid, m.message_id, m.sender, \
         m.subject, m.eml_sha256 FROM mail_messages m JOIN mail_parts p \
         ON p.account = m.account AND p.folder = m.folder \
         AND p.uidvalidity = m.uidvalidity AND p.uid = m.uid \
         WHERE p.document_id = $1 ORDER BY m.account, m.folder, m.uidvalidity, m.uid",
    )
    .bind(document.0)
    .fetch_all(db, "listing a document's messages")
    .await?
    .iter()
    .map(|r| {
        Ok(MessageOfDocument {
            account: r.get("account")?,
            folder: r.get("folder")?,
            uidvalidity: r.get("uidvalidity")?,
            uid: r.get("uid")?,
            message_id: r.get("message_id")?,
            sender: r.get("sender")?,
            subject: r.get("subject")?,
            eml_sha256: r.get("eml_sha256")?,
        })
    })
    .collect()
}
