//! Mailbox changes still owed: the configured action (move, flag, delete) after a message was
//! committed, and the `$FacteurFailed` flag on a message that needs a person. Both are applied
//! after the commit and retried alone until the server has them.

use super::KEY;
use crate::domain::now_micros;
use crate::store::db::{sql, Db};
use crate::store::StoreError;

/// Which owed change.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owed {
    Action,
    Flag,
}

impl Owed {
    fn column(self) -> &'static str {
        match self {
            Owed::Action => "action_pending",
            Owed::Flag => "flag_pending",
        }
    }
}

pub(super) async fn pending(
    db: &Db,
    owed: Owed,
    account: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<Vec<u32>, StoreError> {
    let rows = sql(format!(
        "SELECT uid FROM mail_messages WHERE {KEY} AND {} = $4 ORDER BY uid",
        owed.column()
    ))
    .bind(account)
    .bind(folder)
    .bind(uidvalidity)
    .bind(true)
    .fetch_all(db, "listing owed mailbox changes")
    .await?;
    let mut uids = Vec::with_capacity(rows.len());
    for r in rows {
        if let Ok(u) = u32::try_from(r.at::<i64>(0)?) {
            uids.push(u);
        }
    }
    Ok(uids)
}

/// The action was applied (`error` None), or failed and stays owed (`error` Some).
pub(super) async fn actions_applied(
    db: &Db,
    account: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
    error: Option<&str>,
) -> Result<(), StoreError> {
    let now = now_micros();
    let mut tx = db.begin_write("starting action bookkeeping").await?;
    for uid in uids {
        sql(format!(
            "UPDATE mail_messages SET action_pending = $5, action_error = $6, updated_at = $7 \
             WHERE {KEY} AND uid = $4"
        ))
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .bind(*uid)
        .bind(error.is_some())
        .bind(error)
        .bind(now)
        .execute(&mut tx, "recording a mailbox action")
        .await?;
    }
    tx.commit("committing action bookkeeping").await
}

pub(super) async fn flags_applied(
    db: &Db,
    account: &str,
    folder: &str,
    uidvalidity: u32,
    uids: &[u32],
) -> Result<(), StoreError> {
    let mut tx = db.begin_write("starting flag bookkeeping").await?;
    for uid in uids {
        sql(format!(
            "UPDATE mail_messages SET flag_pending = $5 WHERE {KEY} AND uid = $4"
        ))
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .bind(*uid)
        .bind(false)
        .execute(&mut tx, "recording a failure flag")
        .await?;
    }
    tx.commit("committing flag bookkeeping").await
}
