//! The job queue: claiming with a lease, renewing it, completing (the stage's unit of work),
//! failing with backoff, releasing at shutdown; and at start-up, queueing what earlier versions
//! parked (`backfill`).
//!
//! Every change to a claimed job is guarded by `status = 'running' AND lease_token = <this
//! claim's token>` and checks the rows it affected: a job finished, reaped or re-claimed in between
//! is never queued again, completed twice, or its document failed by a late loser. The token is
//! random per claim (the owner, `host:pid:…`, is shared by every job loop of a process and, in
//! containers, can repeat across machines).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Db, Row, Tx};
use super::documents::parse_state;
use super::unit::{self, Transition};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, DocumentId, DocumentState, Stage};

/// A claimed job: the claimant owns it until `lease_expires_at`, through `token`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub document: DocumentId,
    pub stage: Stage,
    /// Including this one.
    pub attempts: u32,
    /// Earlier attempts whose reader crashed or hung.
    pub crashes: u32,
    /// The document state this job was queued for; the job may move the document only from it.
    pub for_state: DocumentState,
    /// Who holds it (`host:pid:…`), for people and for start-up recovery.
    pub owner: String,
    /// This claim's own secret: every later change of the job must present it.
    pub token: String,
    pub lease_expires_at: DateTime<Utc>,
}

/// How the queue treats failing jobs.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
    /// A document whose reader crashed or hung this many times fails for good: a third try would
    /// most likely crash again and hold a reader for nothing.
    pub max_crashes: u32,
    /// A job taken back this many times from workers that stopped while holding it fails for
    /// good. Take-backs do not use up `max_attempts`: killing a worker (an operator, the OOM
    /// killer, a deployment) says nothing about its document, whose reading runs in a sandbox.
    pub max_takebacks: u32,
}

impl RetryPolicy {
    /// Exponential: backoff × 2^(attempts−1), capped at one day.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(86_400))
    }
}

/// Why an attempt failed, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth another attempt later (a store hiccup, a stage not available).
    Transient,
    /// The reader crashed or hung on this document: retried, but only up to `max_crashes`.
    ReaderDied,
}

/// What became of a failed job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFate {
    Retry {
        at: DateTime<Utc>,
    },
    /// Out of attempts: the job is `dead` and the document `failed`, with the error as reason.
    Dead,
}

/// A job as `documents show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub stage: String,
    pub status: String,
    pub attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Claims the oldest runnable job of one of `stages` for `owner` until now + `lease`, with a
    /// fresh token. Two claimants never get the same job.
    async fn claim_job(
        &self,
        owner: &str,
        stages: &[Stage],
        lease: Duration,
    ) -> Result<Option<Job>, StoreError>;

    /// Extends a lease the caller still holds (long OCR); false if it was lost.
    async fn renew_lease(&self, job: &Job, lease: Duration) -> Result<bool, StoreError>;

    /// Finishes a job with its stage's unit of work (`unit.rs`), one transaction. `Conflict` if the
    /// lease was lost (changing nothing); `Stale` if the document moved on meanwhile (the job is
    /// retired as `stale`, the document untouched).
    async fn complete_job(&self, job: &Job, t: Transition) -> Result<(), StoreError>;

    /// `complete_job`, and when the transition queues a next stage among `stages`, that job is
    /// claimed for the same owner until now + `lease` in the same transaction and returned: the
    /// caller runs it next, without a claim of its own (one round trip less per stage, and the
    /// document goes on while its data is warm). Errors as `complete_job`.
    async fn complete_and_take(
        &self,
        job: &Job,
        t: Transition,
        stages: &[Stage],
        lease: Duration,
    ) -> Result<Option<Job>, StoreError>;

    /// Records a failed attempt: back to the queue after a backoff, or `dead` (and the document
    /// `failed`) when out of attempts. `Conflict` if the lease was lost.
    async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        kind: FailureKind,
        policy: RetryPolicy,
    ) -> Result<JobFate, StoreError>;

    /// Gives a job back untouched (graceful shutdown): runnable now, the attempt not counted.
    async fn release_job(&self, job: &Job) -> Result<(), StoreError>;

    /// Returns running jobs whose lease expired to the queue (or to `dead` when that attempt was
    /// the last one allowed). Returns how many it took back.
    async fn reap_expired(&self, policy: RetryPolicy) -> Result<u64, StoreError>;

    /// Owners of running jobs and named leases (for start-up recovery).
    async fn lease_owners(&self) -> Result<Vec<String>, StoreError>;

    /// Takes back at once everything `owner` holds, as if its leases had expired: its process is
    /// known to be gone. Returns how many jobs went back to the queue (or to `dead`).
    async fn reclaim(&self, owner: &str, policy: RetryPolicy) -> Result<u64, StoreError>;

    /// Queues a job for every document waiting in the input state of one of `stages` without an
    /// open job for it (documents parked before their next stage existed). Returns how many.
    async fn backfill(&self, stages: &[Stage]) -> Result<u64, StoreError>;

    /// Changes when this process commits a queued job (see `wake.rs`): idle stage loops wait on
    /// it, their poll interval covering jobs queued elsewhere.
    fn job_signal(&self) -> tokio::sync::watch::Receiver<u64>;
}

pub(crate) fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1))
}

/// Queues `stage` for `doc`, valid while the document stays in `for_state`. An open job of the
/// same stage queued for another state is retired first (`stale`): the caller has just moved the
/// document out of that state, so the old job could only be refused (a running one loses its
/// lease and its completion is refused).
pub(crate) async fn enqueue(
    tx: &mut Tx,
    doc: DocumentId,
    stage: Stage,
    for_state: DocumentState,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_job(tx, doc, stage, for_state, at, None).await?;
    Ok(())
}

/// The first job of a document created in the caller's transaction: nothing can be superseded.
pub(crate) async fn enqueue_first(
    tx: &mut Tx,
    doc: DocumentId,
    stage: Stage,
    for_state: DocumentState,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_row(tx, doc, stage, for_state, at, None, false).await?;
    Ok(())
}

/// Like `enqueue`, but the job is born claimed by `owner` until `until` under a fresh token, as
/// if `claim_job` had taken it in the same transaction: nobody else can see it queued, and if
/// the claimant dies its lease expires like any other.
pub(crate) async fn enqueue_taken(
    tx: &mut Tx,
    doc: DocumentId,
    stage: Stage,
    for_state: DocumentState,
    at: DateTime<Utc>,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<Job, StoreError> {
    let token = new_token();
    let id = insert_job(tx, doc, stage, for_state, at, Some((owner, &token, until))).await?;
    Ok(Job {
        id,
        document: doc,
        stage,
        attempts: 1,
        crashes: 0,
        for_state,
        owner: owner.to_string(),
        token,
        lease_expires_at: until,
    })
}

/// Retires a superseded open job of `stage` and inserts the new one, queued or (with `claim`:
/// owner, token, lease end) already running. Returns its id.
///
/// The insert is tried first: at most one job of a stage is open per document (the unique
/// index `jobs_one_open`), so it goes in unless one is still open, and only then is that one
/// retired and the insert made again: one statement, not two, when nothing is superseded.
async fn insert_job(
    tx: &mut Tx,
    doc: DocumentId,
    stage: Stage,
    for_state: DocumentState,
    at: DateTime<Utc>,
    claim: Option<(&str, &str, DateTime<Utc>)>,
) -> Result<i64, StoreError> {
    if let Some(id) = insert_row(tx, doc, stage, for_state, at, claim, true).await? {
        return Ok(id);
    }
    sql(
        "UPDATE jobs SET status = 'stale', lease_token = NULL, updated_at = $4, \
         last_error = 'stale: the document moved to ' || $3 \
         WHERE document_id = $1 AND stage = $2 AND status IN ('queued', 'running') \
         AND for_state <> $3",
    )
    .bind(doc.0)
    .bind(stage.as_str())
    .bind(for_state.as_str())
    .bind(at)
    .execute(&mut *tx, "retiring a superseded job")
    .await?;
    insert_row(tx, doc, stage, for_state, at, claim, false)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a job insert returned no id".into()))
}

/// The job's row, queued or already claimed; with `unless_open`, nothing (None) when a job of
/// the stage is still open for the document, else that is an error as any constraint is.
async fn insert_row(
    tx: &mut Tx,
    doc: DocumentId,
    stage: Stage,
    for_state: DocumentState,
    at: DateTime<Utc>,
    claim: Option<(&str, &str, DateTime<Utc>)>,
    unless_open: bool,
) -> Result<Option<i64>, StoreError> {
    let (status, attempts) = match claim {
        Some(_) => ("running", 1i64),
        None => ("queued", 0),
    };
    sql(format!(
        "INSERT INTO jobs (document_id, stage, for_state, status, attempts, run_after, \
         created_at, updated_at, lease_owner, lease_token, lease_expires_at) \
         VALUES ($1, $2, $3, $5, $6, $4, $4, $4, $7, $8, $9) {} RETURNING id",
        if unless_open {
            "ON CONFLICT DO NOTHING"
        } else {
            ""
        }
    ))
    .bind(doc.0)
    .bind(stage.as_str())
    .bind(for_state.as_str())
    .bind(at)
    .bind(status)
    .bind(attempts)
    .bind(claim.map(|c| c.0))
    .bind(claim.map(|c| c.1))
    .bind(claim.map(|c| c.2))
    .scalar(&mut *tx, "enqueueing a job")
    .await
}

pub(crate) async fn jobs_of(db: &Db, id: DocumentId) -> Result<Vec<JobRecord>, StoreError> {
    sql(
        "SELECT id, stage, status, attempts, run_after, lease_owner, last_error FROM jobs \
         WHERE document_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(db, "reading jobs")
    .await?
    .iter()
    .map(|r| {
        Ok(JobRecord {
            id: r.get("id")?,
            stage: r.get("stage")?,
            status: r.get("status")?,
            attempts: r.get::<i32>("attempts")?.max(0) as u32,
            run_after: r.get("run_after")?,
            lease_owner: r.get("lease_owner")?,
            last_error: r.get("last_error")?,
        })
    })
    .collect()
}

/// A job leaves `running` for `status`, only if this claim still holds it. Returns whether it did.
pub(crate) async fn settle(
    tx: &mut Tx,
    job_id: i64,
    token: &str,
    status: &str,
    run_after: Option<DateTime<Utc>>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = sql(
        "UPDATE jobs SET status = $1, run_after = COALESCE($2, run_after), \
                 last_error = COALESCE($3, last_error), lease_owner = NULL, lease_token = NULL, \
                 lease_expires_at = NULL, updated_at = $4 \
                 WHERE id = $5 AND status = 'running' AND lease_token = $6",
    )
    .bind(status)
    .bind(run_after)
    .bind(error)
    .bind(now)
    .bind(job_id)
    .bind(token)
    .execute(tx, "settling a job")
    .await?;
    Ok(n == 1)
}

/// The job is out of attempts: `dead`, and its document `failed` if it is still where the job
/// found it. Returns false (nothing written) if the claim no longer holds the job.
pub(crate) async fn bury(
    tx: &mut Tx,
    job: &Job,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !settle(tx, job.id, &job.token, "dead", None, Some(error), now).await? {
        return Ok(false);
    }
    let reason = format!(
        "stage {} gave up after {} attempt(s): {error}",
        job.stage, job.attempts
    );
    match unit::move_document(
        tx,
        job.document,
        job.for_state,
        DocumentState::Failed,
        &reason,
        now,
    )
    .await
    {
        // The document moved on without this job: leave it where it is.
        Err(StoreError::Stale(_)) => Ok(true),
        r => r.map(|()| true),
    }
}

pub(crate) fn job_from_row(
    row: &Row,
    owner: &str,
    token: &str,
    until: DateTime<Utc>,
) -> Result<Job, StoreError> {
    let stage: String = row.get("stage")?;
    let for_state: String = row.get("for_state")?;
    Ok(Job {
        id: row.get("id")?,
        document: DocumentId(row.get("document_id")?),
        stage: stage.parse().map_err(StoreError::Corrupt)?,
        attempts: row.get::<i32>("attempts")?.max(0) as u32,
        crashes: row.get::<i32>("crashes")?.max(0) as u32,
        for_state: parse_state(&for_state)?,
        owner: owner.to_string(),
        token: token.to_string(),
        lease_expires_at: until,
    })
}

fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl SqlStore {
    /// Completes `job` with its transition in one transaction; with `take`, the next job is
    /// born claimed by the same owner for that lease and returned.
    async fn complete(
        &self,
        job: &Job,
        t: Transition,
        take: Option<Duration>,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_micros();
        let mut tx = self.db.begin_write("starting job completion").await?;
        if !settle(&mut tx, job.id, &job.token, "done", None, None, now).await? {
            return Err(StoreError::Conflict(format!(
                "job {} ({} of document {}) is no longer leased to {}",
                job.id, job.stage, job.document, job.owner
            )));
        }
        let take = take.map(|lease| (job.owner.as_str(), lease_end(now, lease)));
        match unit::apply(&mut tx, job, &t, now, take).await {
            Ok(next) => {
                tx.commit("committing job completion").await?;
                if t.next.is_some() && next.is_none() {
                    self.jobs.queued();
                }
                Ok(next)
            }
            Err(StoreError::Stale(why)) => {
                tx.rollback("rolling back a stale completion").await?;
                let mut tx = self.db.begin_write("retiring a stale job").await?;
                let error = format!("stale: {why}");
                settle(
                    &mut tx,
                    job.id,
                    &job.token,
                    "stale",
                    None,
                    Some(&error),
                    now,
                )
                .await?;
                tx.commit("retiring a stale job").await?;
                Err(StoreError::Stale(why))
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl QueueStore for SqlStore {
    async fn claim_job(
        &self,
        owner: &str,
        stages: &[Stage],
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_micros();
        let until = lease_end(now, lease);
        let token = new_token();
        let stage_list = stages
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let row = sql(format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_token = $2, \
             lease_expires_at = $3, attempts = attempts + 1, updated_at = $4 \
             WHERE status = 'queued' AND id = (SELECT id FROM jobs WHERE status = 'queued' \
             AND run_after <= $4 AND $5 LIKE '%,' || stage || ',%' ORDER BY run_after, id \
             LIMIT 1 {}) \
             RETURNING id, document_id, stage, attempts, crashes, for_state",
            self.db.skip_locked()
        ))
        .bind(owner)
        .bind(token.as_str())
        .bind(until)
        .bind(now)
        .bind(format!(",{stage_list},"))
        .fetch_optional(&self.db, "claiming a job")
        .await?;
        row.map(|r| job_from_row(&r, owner, &token, until))
            .transpose()
    }

    async fn renew_lease(&self, job: &Job, lease: Duration) -> Result<bool, StoreError> {
        let now = now_micros();
        let n = sql("UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
                     WHERE id = $3 AND status = 'running' AND lease_token = $4")
        .bind(lease_end(now, lease))
        .bind(now)
        .bind(job.id)
        .bind(job.token.as_str())
        .execute(&self.db, "renewing a job lease")
        .await?;
        Ok(n == 1)
    }

    async fn complete_job(&self, job: &Job, t: Transition) -> Result<(), StoreError> {
        self.complete(job, t, None).await.map(|_| ())
    }

    async fn complete_and_take(
        &self,
        job: &Job,
        t: Transition,
        stages: &[Stage],
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let take = t.next.filter(|s| stages.contains(s)).map(|_| lease);
        self.complete(job, t, take).await
    }

    async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        kind: FailureKind,
        policy: RetryPolicy,
    ) -> Result<JobFate, StoreError> {
        let now = now_micros();
        let crashes = job.crashes + u32::from(kind == FailureKind::ReaderDied);
        let mut tx = self.db.begin_write("starting job failure").await?;
        let held = if crashes >= policy.max_crashes.max(1) {
            let error =
                format!("the reader crashed or hung on this document {crashes} times: {error}");
            bury(&mut tx, job, &error, now)
                .await?
                .then_some(JobFate::Dead)
        } else if job.attempts >= policy.max_attempts {
            bury(&mut tx, job, error, now)
                .await?
                .then_some(JobFate::Dead)
        } else {
            let at = lease_end(now, policy.delay(job.attempts));
            let ok = settle(
                &mut tx,
                job.id,
                &job.token,
                "queued",
                Some(at),
                Some(error),
                now,
            )
            .await?;
            if ok && crashes > job.crashes {
                sql("UPDATE jobs SET crashes = $1 WHERE id = $2")
                    .bind(crashes)
                    .bind(job.id)
                    .execute(&mut tx, "counting a reader crash")
                    .await?;
            }
            ok.then_some(JobFate::Retry { at })
        };
        let Some(fate) = held else {
            return Err(StoreError::Conflict(format!(
                "job {} is no longer leased to {}",
                job.id, job.owner
            )));
        };
        tx.commit("committing job failure").await?;
        Ok(fate)
    }

    async fn release_job(&self, job: &Job) -> Result<(), StoreError> {
        let now = now_micros();
        sql(
            "UPDATE jobs SET status = 'queued', attempts = attempts - 1, run_after = $1, \
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND status = 'running' AND lease_token = $3",
        )
        .bind(now)
        .bind(job.id)
        .bind(job.token.as_str())
        .execute(&self.db, "releasing a job")
        .await?;
        self.jobs.queued();
        Ok(())
    }

    async fn reap_expired(&self, policy: RetryPolicy) -> Result<u64, StoreError> {
        super::reaper::reap(&self.db, policy, None).await
    }

    async fn lease_owners(&self) -> Result<Vec<String>, StoreError> {
        sql(
            "SELECT lease_owner FROM jobs WHERE status = 'running' AND lease_owner IS NOT NULL \
             UNION SELECT owner FROM leases",
        )
        .fetch_all(&self.db, "listing lease owners")
        .await?
        .iter()
        .map(|r| r.at::<String>(0))
        .collect()
    }

    async fn reclaim(&self, owner: &str, policy: RetryPolicy) -> Result<u64, StoreError> {
        sql("DELETE FROM leases WHERE owner = $1")
            .bind(owner)
            .execute(&self.db, "dropping a gone owner's named leases")
            .await?;
        super::reaper::reap(&self.db, policy, Some(owner)).await
    }

    async fn backfill(&self, stages: &[Stage]) -> Result<u64, StoreError> {
        let now = now_micros();
        let mut queued = 0;
        for state in DocumentState::ALL {
            // A check made while a document waits runs once per stay: any job of it for this
            // state, even finished, means it ran. A next stage is queued when none is open.
            let wanted = [
                (state.check_while_waiting(), "AND j.for_state = $2"),
                (state.next_stage(), "AND j.status IN ('queued', 'running')"),
            ];
            for (stage, already) in wanted {
                let Some(stage) = stage.filter(|s| stages.contains(s)) else {
                    continue;
                };
                let mut tx = self.db.begin_write("starting a backfill").await?;
                queued += sql(format!(
                    "INSERT INTO jobs (document_id, stage, for_state, status, attempts, \
                     run_after, created_at, updated_at) \
                     SELECT d.id, $1, $2, 'queued', 0, $3, $3, $3 FROM documents d \
                     WHERE d.state = $2 AND NOT EXISTS (SELECT 1 FROM jobs j \
                     WHERE j.document_id = d.id AND j.stage = $1 {already}) \
                     ON CONFLICT DO NOTHING"
                ))
                .bind(stage.as_str())
                .bind(state.as_str())
                .bind(now)
                .execute(&mut tx, "queueing parked documents")
                .await?;
                tx.commit("committing a backfill").await?;
            }
        }
        Ok(queued)
    }

    fn job_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.jobs.subscribe()
    }
}
