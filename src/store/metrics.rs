//! The store's side of `/metrics`: counts and ages read at each scrape (documents by state,
//! queued jobs by stage and the oldest's age, dead jobs, the outbox, mail that failed, open
//! approval requests), a handful of grouped queries on indexed columns. Also what the reports
//! page charts of the intake: each document received since a date, and whether it went straight
//! through (read, checked and routed with no person touching it).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::sql;
use super::{SqlStore, StoreError};
use crate::domain::{DocumentState, Stage};

/// One scrape's figures.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub by_state: Vec<(String, i64)>,
    /// Per stage: queued jobs and the oldest one's creation time.
    pub queued: Vec<(String, i64, Option<DateTime<Utc>>)>,
    pub dead_jobs: i64,
    pub outbox_pending: i64,
    pub outbox_failing: i64,
    pub mail_failing: i64,
    pub approvals_open: i64,
    pub approval_oldest_seconds: f64,
    /// When the figures were read.
    pub at: DateTime<Utc>,
}

impl Gauges {
    pub fn documents(&self, s: DocumentState) -> i64 {
        self.by_state
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    }

    pub fn queued(&self, s: Stage) -> i64 {
        self.queued
            .iter()
            .find(|(k, ..)| k == s.as_str())
            .map_or(0, |(_, n, _)| *n)
    }

    pub fn oldest_queued_seconds(&self, s: Stage) -> f64 {
        self.queued
            .iter()
            .find(|(k, ..)| k == s.as_str())
            .and_then(|(_, _, t)| *t)
            .map_or(0.0, |t| seconds(self.at, t))
    }
}

fn seconds(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    ((now - then).num_milliseconds().max(0) as f64) / 1000.0
}

/// One document received, for the intake chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intake {
    pub received_at: DateTime<Utc>,
    /// Reading is over (the document left `received` and `read`).
    pub settled: bool,
    /// It was never held for a person: no review, no duplicate hold, no failure.
    pub untouched: bool,
}

impl Intake {
    /// Read, checked and routed with no person touching it.
    pub fn straight_through(&self) -> bool {
        self.settled && self.untouched
    }
}

/// States that mean a person had to look (or could not be spared).
const HELD: &str = "'needs_review', 'duplicate', 'duplicate_suspected', 'failed'";

#[async_trait]
pub trait MetricsStore: Send + Sync {
    async fn gauges(&self, now: DateTime<Utc>) -> Result<Gauges, StoreError>;

    /// Every document received at or after `since`, oldest first.
    async fn intake_since(&self, since: DateTime<Utc>) -> Result<Vec<Intake>, StoreError>;
}

#[async_trait]
impl MetricsStore for SqlStore {
    async fn intake_since(&self, since: DateTime<Utc>) -> Result<Vec<Intake>, StoreError> {
        sql(format!(
            "SELECT d.received_at, d.state, (SELECT COUNT(*) FROM document_events e \
             WHERE e.document_id = d.id AND e.to_state IN ({HELD})) AS held \
             FROM documents d WHERE d.received_at >= $1 ORDER BY d.received_at, d.id"
        ))
        .bind(since)
        .fetch_all(&self.db, "reading the intake")
        .await?
        .iter()
        .map(|r| {
            let state: String = r.get("state")?;
            Ok(Intake {
                received_at: r.get("received_at")?,
                settled: !matches!(state.as_str(), "received" | "read"),
                untouched: r.get::<i64>("held")? == 0,
            })
        })
        .collect()
    }

    async fn gauges(&self, now: DateTime<Utc>) -> Result<Gauges, StoreError> {
        let count = |text: &'static str, context: &'static str| async move {
            let n: Option<i64> = sql(text).scalar(&self.db, context).await?;
            Ok::<i64, StoreError>(n.unwrap_or(0))
        };
        let by_state = sql("SELECT state, COUNT(*) AS n FROM documents GROUP BY state")
            .fetch_all(&self.db, "counting documents by state")
            .await?
            .iter()
            .map(|r| Ok((r.get("state")?, r.get("n")?)))
            .collect::<Result<_, StoreError>>()?;
        let queued = sql(
            "SELECT stage, COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs \
             WHERE status = 'queued' GROUP BY stage",
        )
        .fetch_all(&self.db, "measuring the queue")
        .await?
        .iter()
        .map(|r| Ok((r.get("stage")?, r.get("n")?, r.get("oldest")?)))
        .collect::<Result<_, StoreError>>()?;
        // MIN over no rows is NULL.
        let oldest: Option<DateTime<Utc>> =
            sql("SELECT MIN(sent_at) FROM approval_requests WHERE decided_at IS NULL")
                .scalar::<Option<DateTime<Utc>>>(&self.db, "ageing approval requests")
                .await?
                .flatten();
        Ok(Gauges {
            by_state,
            queued,
            dead_jobs: count(
                "SELECT COUNT(*) FROM jobs WHERE status = 'dead'",
                "counting dead jobs",
            )
            .await?,
            outbox_pending: count(
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
                "counting the outbox",
            )
            .await?,
            outbox_failing: count(
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND last_error IS NOT NULL",
                "counting failing mail",
            )
            .await?,
            mail_failing: count(
                "SELECT COUNT(*) FROM mail_messages WHERE status IN ('failed', 'retrying')",
                "counting mail that failed",
            )
            .await?,
            approvals_open: count(
                "SELECT COUNT(*) FROM approval_requests WHERE decided_at IS NULL",
                "counting open approval requests",
            )
            .await?,
            approval_oldest_seconds: oldest.map_or(0.0, |t| seconds(now, t)),
            at: now,
        })
    }
}
