//! Named leases: one holder at a time across processes and machines (one poller per mailbox, one
//! watcher per drop folder). A lease is taken or renewed by its owner, or taken over once expired.

use std::time::Duration;

use async_trait::async_trait;

use super::db::sql;
use super::queue::lease_end;
use super::{SqlStore, StoreError};
use crate::domain::now_micros;

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews the named lease for `owner` (one holder across processes and machines).
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError>;

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl LeaseStore for SqlStore {
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = now_micros();
        let n = sql(
            "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, \
                     expires_at = excluded.expires_at \
                     WHERE leases.owner = excluded.owner OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(owner)
        .bind(lease_end(now, ttl))
        .bind(now)
        .execute(&self.db, "taking a named lease")
        .await?;
        Ok(n == 1)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sql("DELETE FROM leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.db, "releasing a named lease")
            .await?;
        Ok(())
    }
}
