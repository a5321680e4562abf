//! Start-up recovery: before a worker claims anything, it takes back at once what processes of its
//! own host left behind when they died (their jobs and named leases), and queues documents that an
//! earlier version parked in a state whose next stage now exists.

use crate::domain::Stage;
use crate::store::{RetryPolicy, Store, StoreError};

use super::identity::WorkerId;

/// What start-up recovery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Owners found dead on this host.
    pub owners: Vec<String>,
    /// Jobs of theirs taken back.
    pub jobs: u64,
    /// Parked documents given their next job.
    pub backfilled: u64,
}

/// Takes back the leases of gone processes of this host, then backfills `stages`.
pub async fn recover(
    store: &dyn Store,
    me: &WorkerId,
    stages: &[Stage],
    policy: RetryPolicy,
) -> Result<Recovered, StoreError> {
    let mut done = Recovered::default();
    for owner in store.lease_owners().await? {
        let Some(other) = WorkerId::parse(&owner) else {
            continue;
        };
        if me.is_gone_sibling(&other) {
            done.jobs += store.reclaim(&owner, policy).await?;
            done.owners.push(owner);
        }
    }
    done.backfilled = store.backfill(stages).await?;
    Ok(done)
}
