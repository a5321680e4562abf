//! Taking jobs back from workers that stopped: the periodic reaper (leases that expired) and
//! start-up recovery (every lease of an owner whose process is known to be gone).
//!
//! Each job is taken back in its own transaction that first re-checks, under the row's lock, that
//! the same claim still holds it and is still expired (or still that owner's): a holder that
//! completed, failed or renewed in between wins, and two reapers never both take one job.
//!
//! A job taken back gets its attempt back and counts a take-back instead (`jobs.takebacks`): a
//! worker killed by an operator, the OOM killer or a lost host says nothing about its document.
//! `RetryPolicy::max_takebacks` bounds the rare document that stops every worker taking it.

use chrono::{DateTime, Utc};

use super::db::{sql, Db};
use super::queue::{bury, job_from_row, settle, RetryPolicy};
use super::StoreError;
use crate::domain::now_micros;

/// Takes back expired jobs (`owner` None), or every running job of `owner`.
pub(crate) async fn reap(
    db: &Db,
    policy: RetryPolicy,
    owner: Option<&str>,
) -> Result<u64, StoreError> {
    let now = now_micros();
    const COLUMNS: &str = "id, document_id, stage, attempts, crashes, takebacks, for_state, \
                           lease_owner, lease_token, lease_expires_at";
    let rows = match owner {
        None => sql(format!(
            "SELECT {COLUMNS} FROM jobs WHERE status = 'running' AND lease_expires_at < $1"
        ))
        .bind(now),
        Some(o) => sql(format!(
            "SELECT {COLUMNS} FROM jobs WHERE status = 'running' AND lease_owner = $1"
        ))
        .bind(o),
    }
    .fetch_all(db, "finding jobs to take back")
    .await?;
    let mut taken = 0;
    for row in rows {
        let holder: Option<String> = row.get("lease_owner")?;
        let token: Option<String> = row.get("lease_token")?;
        let until: Option<DateTime<Utc>> = row.get("lease_expires_at")?;
        let holder = holder.unwrap_or_default();
        let takebacks = row.get::<i32>("takebacks")?.max(0) as u32 + 1;
        let job = job_from_row(
            &row,
            &holder,
            &token.unwrap_or_default(),
            until.unwrap_or(now),
        )?;
        let error = match owner {
            None => format!("lease expired: worker {holder} stopped or crashed during the attempt"),
            Some(_) => {
                format!("worker {holder} was gone at start-up (its process no longer exists)")
            }
        };
        let mut tx = db.begin_write("starting to take a job back").await?;
        let still = sql(
            "UPDATE jobs SET updated_at = $1 WHERE id = $2 AND status = 'running' \
                         AND lease_token = $3 AND (lease_expires_at < $1 OR lease_owner = $4)",
        )
        .bind(now)
        .bind(job.id)
        .bind(job.token.as_str())
        .bind(owner)
        .execute(&mut tx, "re-checking a job to take back")
        .await?;
        if still != 1 {
            continue;
        }
        // The stopped worker's attempt is given back (its death says nothing about the
        // document); a document that stops every worker that takes it must still not loop
        // forever, so take-backs have their own limit.
        let done = if takebacks >= policy.max_takebacks {
            let error = format!(
                "{error}; taken back {takebacks} times from workers that stopped while holding \
                 it (max_takebacks): this document may be what stops them"
            );
            bury(&mut tx, &job, &error, now).await?
        } else {
            settle(
                &mut tx,
                job.id,
                &job.token,
                "queued",
                Some(now),
                Some(&error),
                now,
            )
            .await?
                && sql(
                    "UPDATE jobs SET attempts = attempts - 1, takebacks = takebacks + 1 \
                     WHERE id = $1",
                )
                .bind(job.id)
                .execute(&mut tx, "counting a take-back")
                .await?
                    == 1
        };
        tx.commit("committing a job taken back").await?;
        taken += u64::from(done);
    }
    Ok(taken)
}
