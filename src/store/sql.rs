//! The SQL both backends run, written once.
//!
//! `impl_store!` expands to the `Store` impl for a backend type that provides, in its own module:
//! `type Money` (NUMERIC ↔ `Decimal` on PostgreSQL, canonical TEXT ↔ `String` on SQLite),
//! `fn to_money(Decimal) -> Money`, `fn from_money(Money) -> Result<Decimal, StoreError>`, and the
//! consts `BEGIN` (SQLite takes the write lock up front: `BEGIN IMMEDIATE`) and `CLAIM_SQL` (the
//! claim differs only by PostgreSQL's `FOR UPDATE SKIP LOCKED`). Keeping one body is what stops the
//! two backends drifting apart; the conformance suite in tests/it/store.rs runs against both.

/// Columns of `DocumentSummary`, in `summary_from_row` order.
pub(crate) const SUMMARY_COLUMNS: &str = "id, file_name, source, state, reason, received_at, \
     invoice_number, issue_date, supplier_name, currency, total_gross";

macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use std::time::Duration as StdDuration;

        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row;

        use $crate::domain::{
            now_micros, ContentHash, DocumentEvent, DocumentId, DocumentState, Extraction, Origin,
            RawDocument, Stage,
        };
        use $crate::store::sql::SUMMARY_COLUMNS;
        use $crate::store::{
            Arrival, Context, Counts, DocumentRecord, DocumentSummary, IntakeOutcome, Job, JobFate,
            JobRecord, RetryPolicy, Store, StoreError, Transition,
        };

        fn lease_end(now: DateTime<Utc>, lease: StdDuration) -> DateTime<Utc> {
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1))
        }

        fn parse_state(s: &str) -> Result<DocumentState, StoreError> {
            s.parse().map_err(|e: $crate::domain::document::UnknownState| StoreError::Corrupt(e.to_string()))
        }

        fn parse_origin(s: &str) -> Result<Origin, StoreError> {
            serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("origin JSON: {e}")))
        }

        fn summary_from_row(row: &<$db as sqlx::Database>::Row) -> Result<DocumentSummary, StoreError> {
            let state: String = row.try_get("state").ctx("reading a document row")?;
            let gross: Option<Money> = row.try_get("total_gross").ctx("reading a document row")?;
            Ok(DocumentSummary {
                id: DocumentId(row.try_get("id").ctx("reading a document row")?),
                file_name: row.try_get("file_name").ctx("reading a document row")?,
                source: row.try_get("source").ctx("reading a document row")?,
                state: parse_state(&state)?,
                reason: row.try_get("reason").ctx("reading a document row")?,
                received_at: row.try_get("received_at").ctx("reading a document row")?,
                invoice_number: row.try_get("invoice_number").ctx("reading a document row")?,
                issue_date: row.try_get("issue_date").ctx("reading a document row")?,
                supplier_name: row.try_get("supplier_name").ctx("reading a document row")?,
                currency: row.try_get("currency").ctx("reading a document row")?,
                total_gross: gross.map(from_money).transpose()?,
            })
        }

        impl $store {
            async fn insert_event(
                tx: &mut sqlx::Transaction<'static, $db>,
                doc: i64,
                from: Option<DocumentState>,
                to: DocumentState,
                reason: &str,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO document_events (document_id, at, from_state, to_state, reason) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(doc)
                .bind(at)
                .bind(from.map(|s| s.as_str()))
                .bind(to.as_str())
                .bind(reason)
                .execute(&mut **tx)
                .await
                .ctx("recording a document event")?;
                Ok(())
            }

            async fn enqueue(
                tx: &mut sqlx::Transaction<'static, $db>,
                doc: i64,
                stage: Stage,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO jobs (document_id, stage, status, attempts, run_after, created_at, updated_at) \
                     VALUES ($1, $2, 'queued', 0, $3, $3, $3)",
                )
                .bind(doc)
                .bind(stage.as_str())
                .bind(at)
                .execute(&mut **tx)
                .await
                .ctx("enqueueing a job")?;
                Ok(())
            }

            /// Moves a document to `to` with an event; returns the state it left.
            async fn transition(
                tx: &mut sqlx::Transaction<'static, $db>,
                doc: i64,
                to: DocumentState,
                reason: &str,
                extraction: Option<&Extraction>,
                at: DateTime<Utc>,
            ) -> Result<DocumentState, StoreError> {
                let from: String = sqlx::query_scalar("SELECT state FROM documents WHERE id = $1")
                    .bind(doc)
                    .fetch_optional(&mut **tx)
                    .await
                    .ctx("reading a document's state")?
                    .ok_or_else(|| StoreError::NotFound(format!("document {doc}")))?;
                let from = parse_state(&from)?;
                sqlx::query("UPDATE documents SET state = $1, reason = $2, updated_at = $3 WHERE id = $4")
                    .bind(to.as_str())
                    .bind(reason)
                    .bind(at)
                    .bind(doc)
                    .execute(&mut **tx)
                    .await
                    .ctx("changing a document's state")?;
                if let Some(x) = extraction {
                    let inv = &x.invoice;
                    let json = serde_json::to_string(x)
                        .map_err(|e| StoreError::Corrupt(format!("extraction to JSON: {e}")))?;
                    sqlx::query(
                        "UPDATE documents SET method = $1, doc_type = $2, invoice_number = $3, \
                         issue_date = $4, due_date = $5, currency = $6, total_net = $7, total_tax = $8, \
                         total_gross = $9, supplier_name = $10, supplier_vat_id = $11, confidence = $12, \
                         extraction = $13 WHERE id = $14",
                    )
                    .bind(x.method.as_str())
                    .bind(inv.doc_type.as_str())
                    .bind(inv.number.as_deref())
                    .bind(inv.issue_date)
                    .bind(inv.due_date)
                    .bind(inv.currency.map(|c| c.to_string()))
                    .bind(inv.total_net.map(to_money))
                    .bind(inv.total_tax.map(to_money))
                    .bind(inv.total_gross.map(to_money))
                    .bind(inv.seller.name.as_deref())
                    .bind(inv.seller.vat_id.as_ref().map(|v| v.to_string()))
                    .bind(x.overall_confidence())
                    .bind(json)
                    .bind(doc)
                    .execute(&mut **tx)
                    .await
                    .ctx("saving the extracted fields")?;
                }
                Self::insert_event(tx, doc, Some(from), to, reason, at).await?;
                Ok(from)
            }

            /// The document intake inside a caller's transaction (`intake`, and the mail store,
            /// which records a message in the same transaction as its documents).
            pub(crate) async fn intake_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                raw: &RawDocument,
                now: DateTime<Utc>,
            ) -> Result<IntakeOutcome, StoreError> {
                let hash = ContentHash::of(&raw.bytes);
                let origin = serde_json::to_string(&raw.origin)
                    .map_err(|e| StoreError::Corrupt(format!("origin to JSON: {e}")))?;
                let existing: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM documents WHERE content_hash = $1")
                        .bind(hash.as_str())
                        .fetch_optional(&mut **tx)
                        .await
                        .ctx("looking up the content hash")?;
                let created = match existing {
                    Some(_) => None,
                    None => {
                        sqlx::query(
                            "INSERT INTO blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (hash) DO NOTHING",
                        )
                        .bind(hash.as_str())
                        .bind(raw.bytes.len() as i64)
                        .bind(&raw.bytes)
                        .bind(now)
                        .execute(&mut **tx)
                        .await
                        .ctx("storing the original bytes")?;
                        sqlx::query_scalar(
                            "INSERT INTO documents (content_hash, file_name, source, origin, state, reason, \
                             received_at, updated_at) VALUES ($1, $2, $3, $4, 'received', $5, $6, $6) \
                             ON CONFLICT (content_hash) DO NOTHING RETURNING id",
                        )
                        .bind(hash.as_str())
                        .bind(&raw.name)
                        .bind(raw.origin.source())
                        .bind(&origin)
                        .bind(format!("received from {}", raw.origin.describe()))
                        .bind(now)
                        .fetch_optional(&mut **tx)
                        .await
                        .ctx("creating the document")?
                    }
                };
                let (doc, outcome) = match (created, existing) {
                    (Some(id), _) => {
                        let reason = format!("received from {}", raw.origin.describe());
                        sqlx::query(
                            "INSERT INTO document_events (document_id, at, from_state, to_state, reason) \
                             VALUES ($1, $2, NULL, 'received', $3)",
                        )
                        .bind(id)
                        .bind(now)
                        .bind(&reason)
                        .execute(&mut **tx)
                        .await
                        .ctx("recording the arrival event")?;
                        Self::enqueue(tx, id, Stage::Read, now).await?;
                        (id, IntakeOutcome::Created(DocumentId(id)))
                    }
                    (None, Some(id)) => (id, IntakeOutcome::Rearrived(DocumentId(id))),
                    (None, None) => {
                        // Another worker committed the same bytes between our look-up and insert.
                        let id: i64 = sqlx::query_scalar("SELECT id FROM documents WHERE content_hash = $1")
                            .bind(hash.as_str())
                            .fetch_one(&mut **tx)
                            .await
                            .ctx("looking up the concurrent document")?;
                        (id, IntakeOutcome::Rearrived(DocumentId(id)))
                    }
                };
                sqlx::query(
                    "INSERT INTO arrivals (document_id, source, origin, file_name, arrived_at, is_first) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(doc)
                .bind(raw.origin.source())
                .bind(&origin)
                .bind(&raw.name)
                .bind(now)
                .bind(matches!(outcome, IntakeOutcome::Created(_)))
                .execute(&mut **tx)
                .await
                .ctx("recording the arrival")?;
                Ok(outcome)
            }

            async fn dead_job(
                tx: &mut sqlx::Transaction<'static, $db>,
                job_id: i64,
                doc: i64,
                stage: &str,
                attempts: u32,
                error: &str,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE jobs SET status = 'dead', last_error = $1, lease_owner = NULL, \
                     lease_expires_at = NULL, updated_at = $2 WHERE id = $3",
                )
                .bind(error)
                .bind(at)
                .bind(job_id)
                .execute(&mut **tx)
                .await
                .ctx("marking a job dead")?;
                let reason = format!("stage {stage} gave up after {attempts} attempt(s): {error}");
                Self::transition(tx, doc, DocumentState::Failed, &reason, None, at).await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn intake(&self, raw: &RawDocument) -> Result<IntakeOutcome, StoreError> {
                let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting intake")?;
                let outcome = Self::intake_in(&mut tx, raw, now_micros()).await?;
                tx.commit().await.ctx("committing intake")?;
                Ok(outcome)
            }

            async fn claim_job(
                &self,
                owner: &str,
                stages: &[Stage],
                lease: StdDuration,
            ) -> Result<Option<Job>, StoreError> {
                let now = now_micros();
                let until = lease_end(now, lease);
                let stage_list = stages.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
                let row = sqlx::query(CLAIM_SQL)
                    .bind(owner)
                    .bind(until)
                    .bind(now)
                    .bind(format!(",{stage_list},"))
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("claiming a job")?;
                let Some(row) = row else { return Ok(None) };
                let stage: String = row.try_get("stage").ctx("reading a claimed job")?;
                let attempts: i32 = row.try_get("attempts").ctx("reading a claimed job")?;
                Ok(Some(Job {
                    id: row.try_get("id").ctx("reading a claimed job")?,
                    document: DocumentId(row.try_get("document_id").ctx("reading a claimed job")?),
                    stage: stage.parse().map_err(StoreError::Corrupt)?,
                    attempts: attempts.max(0) as u32,
                    owner: owner.to_string(),
                    lease_expires_at: until,
                }))
            }

            async fn renew_lease(&self, job: &Job, lease: StdDuration) -> Result<bool, StoreError> {
                let now = now_micros();
                let r = sqlx::query(
                    "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
                     WHERE id = $3 AND status = 'running' AND lease_owner = $4",
                )
                .bind(lease_end(now, lease))
                .bind(now)
                .bind(job.id)
                .bind(&job.owner)
                .execute(&self.pool)
                .await
                .ctx("renewing a job lease")?;
                Ok(r.rows_affected() == 1)
            }

            async fn complete_job(&self, job: &Job, t: Transition) -> Result<(), StoreError> {
                let now = now_micros();
                let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting job completion")?;
                let r = sqlx::query(
                    "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, \
                     updated_at = $1 WHERE id = $2 AND status = 'running' AND lease_owner = $3",
                )
                .bind(now)
                .bind(job.id)
                .bind(&job.owner)
                .execute(&mut *tx)
                .await
                .ctx("completing a job")?;
                if r.rows_affected() != 1 {
                    return Err(StoreError::Conflict(format!(
                        "job {} ({} of document {}) is no longer leased to {}",
                        job.id, job.stage, job.document, job.owner
                    )));
                }
                Self::transition(&mut tx, job.document.0, t.to, &t.reason, t.extraction.as_ref(), now).await?;
                if let Some(next) = t.next {
                    Self::enqueue(&mut tx, job.document.0, next, now).await?;
                }
                tx.commit().await.ctx("committing job completion")?;
                Ok(())
            }

            async fn fail_job(&self, job: &Job, error: &str, policy: RetryPolicy) -> Result<JobFate, StoreError> {
                let now = now_micros();
                let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting job failure")?;
                let held: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                )
                .bind(job.id)
                .bind(&job.owner)
                .fetch_optional(&mut *tx)
                .await
                .ctx("checking a job lease")?;
                if held.is_none() {
                    return Err(StoreError::Conflict(format!("job {} is no longer leased to {}", job.id, job.owner)));
                }
                let fate = if job.attempts >= policy.max_attempts {
                    Self::dead_job(&mut tx, job.id, job.document.0, job.stage.as_str(), job.attempts, error, now).await?;
                    JobFate::Dead
                } else {
                    let at = lease_end(now, policy.delay(job.attempts));
                    sqlx::query(
                        "UPDATE jobs SET status = 'queued', run_after = $1, last_error = $2, lease_owner = NULL, \
                         lease_expires_at = NULL, updated_at = $3 WHERE id = $4",
                    )
                    .bind(at)
                    .bind(error)
                    .bind(now)
                    .bind(job.id)
                    .execute(&mut *tx)
                    .await
                    .ctx("scheduling a retry")?;
                    JobFate::Retry { at }
                };
                tx.commit().await.ctx("committing job failure")?;
                Ok(fate)
            }

            async fn release_job(&self, job: &Job) -> Result<(), StoreError> {
                let now = now_micros();
                sqlx::query(
                    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, run_after = $1, \
                     lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
                     WHERE id = $2 AND status = 'running' AND lease_owner = $3",
                )
                .bind(now)
                .bind(job.id)
                .bind(&job.owner)
                .execute(&self.pool)
                .await
                .ctx("releasing a job")?;
                Ok(())
            }

            async fn reap_expired(&self, policy: RetryPolicy) -> Result<u64, StoreError> {
                let now = now_micros();
                let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting the reaper")?;
                let rows = sqlx::query(
                    "SELECT id, document_id, stage, attempts, lease_owner FROM jobs \
                     WHERE status = 'running' AND lease_expires_at < $1",
                )
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .ctx("finding expired leases")?;
                let mut n = 0;
                for row in rows {
                    let id: i64 = row.try_get("id").ctx("reading an expired job")?;
                    let doc: i64 = row.try_get("document_id").ctx("reading an expired job")?;
                    let stage: String = row.try_get("stage").ctx("reading an expired job")?;
                    let attempts: i32 = row.try_get("attempts").ctx("reading an expired job")?;
                    let owner: Option<String> = row.try_get("lease_owner").ctx("reading an expired job")?;
                    let error = format!(
                        "lease expired: worker {} stopped or crashed during the attempt",
                        owner.unwrap_or_default()
                    );
                    // A document that kills its worker every time must not loop forever.
                    if attempts.max(0) as u32 >= policy.max_attempts {
                        Self::dead_job(&mut tx, id, doc, &stage, attempts as u32, &error, now).await?;
                    } else {
                        sqlx::query(
                            "UPDATE jobs SET status = 'queued', run_after = $1, last_error = $2, \
                             lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE id = $3",
                        )
                        .bind(now)
                        .bind(&error)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .ctx("requeueing an expired job")?;
                    }
                    n += 1;
                }
                tx.commit().await.ctx("committing the reaper")?;
                Ok(n)
            }

            async fn document(&self, id: DocumentId) -> Result<DocumentRecord, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {SUMMARY_COLUMNS}, content_hash, origin, extraction, \
                     (SELECT size FROM blobs WHERE hash = content_hash) AS size FROM documents WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .ctx("reading a document")?
                .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
                let summary = summary_from_row(&row)?;
                let hash: String = row.try_get("content_hash").ctx("reading a document")?;
                let origin: String = row.try_get("origin").ctx("reading a document")?;
                let extraction: Option<String> = row.try_get("extraction").ctx("reading a document")?;
                let extraction = extraction
                    .map(|e| serde_json::from_str::<Extraction>(&e))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("extraction JSON: {e}")))?;
                let events = sqlx::query(
                    "SELECT at, from_state, to_state, reason FROM document_events WHERE document_id = $1 ORDER BY id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .ctx("reading document events")?
                .iter()
                .map(|r| {
                    let from: Option<String> = r.try_get("from_state").ctx("reading an event")?;
                    let to: String = r.try_get("to_state").ctx("reading an event")?;
                    Ok(DocumentEvent {
                        at: r.try_get("at").ctx("reading an event")?,
                        from_state: from.as_deref().map(parse_state).transpose()?,
                        to_state: parse_state(&to)?,
                        reason: r.try_get("reason").ctx("reading an event")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
                let arrivals = sqlx::query(
                    "SELECT arrived_at, source, origin, file_name, is_first FROM arrivals WHERE document_id = $1 ORDER BY id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .ctx("reading arrivals")?
                .iter()
                .map(|r| {
                    let origin: String = r.try_get("origin").ctx("reading an arrival")?;
                    Ok(Arrival {
                        at: r.try_get("arrived_at").ctx("reading an arrival")?,
                        source: r.try_get("source").ctx("reading an arrival")?,
                        origin: parse_origin(&origin)?,
                        file_name: r.try_get("file_name").ctx("reading an arrival")?,
                        first: r.try_get("is_first").ctx("reading an arrival")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
                let jobs = sqlx::query(
                    "SELECT id, stage, status, attempts, run_after, lease_owner, last_error FROM jobs \
                     WHERE document_id = $1 ORDER BY id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .ctx("reading jobs")?
                .iter()
                .map(|r| {
                    let attempts: i32 = r.try_get("attempts").ctx("reading a job")?;
                    Ok(JobRecord {
                        id: r.try_get("id").ctx("reading a job")?,
                        stage: r.try_get("stage").ctx("reading a job")?,
                        status: r.try_get("status").ctx("reading a job")?,
                        attempts: attempts.max(0) as u32,
                        run_after: r.try_get("run_after").ctx("reading a job")?,
                        lease_owner: r.try_get("lease_owner").ctx("reading a job")?,
                        last_error: r.try_get("last_error").ctx("reading a job")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(DocumentRecord {
                    summary,
                    content_hash: ContentHash::parse(&hash)
                        .ok_or_else(|| StoreError::Corrupt(format!("content hash '{hash}'")))?,
                    size: row.try_get::<Option<i64>, _>("size").ctx("reading a document")?.unwrap_or(0),
                    origin: parse_origin(&origin)?,
                    extraction,
                    events,
                    arrivals,
                    jobs,
                })
            }

            async fn list_documents(
                &self,
                state: Option<DocumentState>,
                limit: u32,
            ) -> Result<Vec<DocumentSummary>, StoreError> {
                sqlx::query(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM documents \
                     WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
                ))
                .bind(state.map(|s| s.as_str()))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .ctx("listing documents")?
                .iter()
                .map(summary_from_row)
                .collect()
            }

            async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError> {
                sqlx::query_scalar("SELECT bytes FROM blobs WHERE hash = $1")
                    .bind(hash.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading original bytes")?
                    .ok_or_else(|| StoreError::NotFound(format!("blob {hash}")))
            }

            async fn document_bytes(&self, id: DocumentId) -> Result<Vec<u8>, StoreError> {
                sqlx::query_scalar(
                    "SELECT b.bytes FROM documents d JOIN blobs b ON b.hash = d.content_hash WHERE d.id = $1",
                )
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .ctx("reading a document's bytes")?
                .ok_or_else(|| StoreError::NotFound(format!("document {id}")))
            }

            async fn counts(&self) -> Result<Counts, StoreError> {
                let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
                    .fetch_one(&self.pool)
                    .await
                    .ctx("counting documents")?;
                let arrivals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM arrivals")
                    .fetch_one(&self.pool)
                    .await
                    .ctx("counting arrivals")?;
                let by_state = sqlx::query_as::<_, (String, i64)>(
                    "SELECT state, COUNT(*) FROM documents GROUP BY state ORDER BY state",
                )
                .fetch_all(&self.pool)
                .await
                .ctx("counting documents by state")?;
                let jobs_by_status = sqlx::query_as::<_, (String, i64)>(
                    "SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status",
                )
                .fetch_all(&self.pool)
                .await
                .ctx("counting jobs")?;
                Ok(Counts { documents, arrivals, by_state, jobs_by_status })
            }

            async fn try_lease(&self, name: &str, owner: &str, ttl: StdDuration) -> Result<bool, StoreError> {
                let now = now_micros();
                let r = sqlx::query(
                    "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                     WHERE leases.owner = excluded.owner OR leases.expires_at < $4",
                )
                .bind(name)
                .bind(owner)
                .bind(lease_end(now, ttl))
                .bind(now)
                .execute(&self.pool)
                .await
                .ctx("taking a named lease")?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
                    .bind(name)
                    .bind(owner)
                    .execute(&self.pool)
                    .await
                    .ctx("releasing a named lease")?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_store;
