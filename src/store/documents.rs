//! Documents, their original bytes (content-addressed blobs), their history and arrivals.
//!
//! Intake is the one way a document is created: the bytes are stored under their SHA-256 and
//! either a new document starts in `received` with its `read` job, or the arrival is recorded
//! against the document that already holds those bytes, in one transaction (`intake_in` also runs
//! inside the mail store's transaction, so a message and its documents commit together).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::{sql, Db, Row, Tx};
use super::duplicates::{DuplicateRecord, DuplicateStore};
use super::queue::{self, JobRecord};
use super::{SqlStore, StoreError};
use crate::domain::{
    now_micros, ContentHash, DocumentEvent, DocumentId, DocumentState, Extraction, Origin,
    RawDocument, Stage,
};

/// What intake did with a document's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// New bytes: a new document in `received`, with a `read` job queued.
    Created(DocumentId),
    /// These exact bytes were already a document: the arrival is recorded against it.
    Rearrived(DocumentId),
}

impl IntakeOutcome {
    pub fn document(&self) -> DocumentId {
        match self {
            IntakeOutcome::Created(id) | IntakeOutcome::Rearrived(id) => *id,
        }
    }
}

/// A document row as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentSummary {
    pub id: DocumentId,
    pub file_name: String,
    pub source: String,
    pub state: DocumentState,
    pub reason: Option<String>,
    pub received_at: DateTime<Utc>,
    pub invoice_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub supplier_name: Option<String>,
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_gross: Option<Decimal>,
}

/// Everything known about one document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRecord {
    #[serde(flatten)]
    pub summary: DocumentSummary,
    pub content_hash: ContentHash,
    pub size: i64,
    pub origin: Origin,
    pub extraction: Option<Extraction>,
    pub events: Vec<DocumentEvent>,
    pub arrivals: Vec<Arrival>,
    pub jobs: Vec<JobRecord>,
    /// The earlier documents this one duplicates, by rule, with the evidence.
    pub duplicates: Vec<DuplicateRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub at: DateTime<Utc>,
    pub source: String,
    pub origin: Origin,
    pub file_name: String,
    pub first: bool,
}

/// Counts for `status` views and tests.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub documents: i64,
    pub arrivals: i64,
    pub by_state: Vec<(String, i64)>,
    pub jobs_by_status: Vec<(String, i64)>,
}

impl Counts {
    pub fn state(&self, s: DocumentState) -> i64 {
        self.by_state
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    }
    pub fn jobs(&self, status: &str) -> i64 {
        self.jobs_by_status
            .iter()
            .find(|(k, _)| k == status)
            .map_or(0, |(_, n)| *n)
    }
}

#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores the bytes (content-addressed) and either creates a document with its `read` job or
    /// records a re-arrival of known bytes; one transaction.
    async fn intake(&self, raw: &RawDocument) -> Result<IntakeOutcome, StoreError>;

    async fn document(&self, id: DocumentId) -> Result<DocumentRecord, StoreError>;

    /// The document's row alone, in one query: its history, arrivals, jobs and duplicate
    /// findings are left empty. For stages, which need the row on every document (`document`
    /// costs five queries).
    async fn document_head(&self, id: DocumentId) -> Result<DocumentRecord, StoreError>;

    /// The states of `ids` in one query (the ones that exist), in `ids` order.
    async fn document_states(
        &self,
        ids: &[DocumentId],
    ) -> Result<Vec<(DocumentId, DocumentState)>, StoreError>;

    /// Newest first.
    async fn list_documents(
        &self,
        state: Option<DocumentState>,
        limit: u32,
    ) -> Result<Vec<DocumentSummary>, StoreError>;

    async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError>;

    /// What the read stage extracted, if it has run.
    async fn document_extraction(&self, id: DocumentId) -> Result<Option<Extraction>, StoreError>;

    /// A document's original bytes in one query (the read stage's hot path).
    async fn document_bytes(&self, id: DocumentId) -> Result<Vec<u8>, StoreError>;

    async fn counts(&self) -> Result<Counts, StoreError>;
}

/// Columns of `DocumentSummary`, in `summary_from_row` order.
pub(crate) const SUMMARY_COLUMNS: &str = "id, file_name, source, state, reason, received_at, \
     invoice_number, issue_date, supplier_name, currency, total_gross";

pub(crate) fn parse_state(s: &str) -> Result<DocumentState, StoreError> {
    s.parse()
        .map_err(|e: crate::domain::document::UnknownState| StoreError::Corrupt(e.to_string()))
}

fn parse_origin(s: &str) -> Result<Origin, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("origin JSON: {e}")))
}

pub(crate) fn summary_from_row(row: &Row) -> Result<DocumentSummary, StoreError> {
    Ok(DocumentSummary {
        id: DocumentId(row.get("id")?),
        file_name: row.get("file_name")?,
        source: row.get("source")?,
        state: parse_state(&row.get::<String>("state")?)?,
        reason: row.get("reason")?,
        received_at: row.get("received_at")?,
        invoice_number: row.get("invoice_number")?,
        issue_date: row.get("issue_date")?,
        supplier_name: row.get("supplier_name")?,
        currency: row.get("currency")?,
        total_gross: row.money("total_gross")?,
    })
}

/// One line of a document's history.
pub(crate) async fn insert_event(
    tx: &mut Tx,
    doc: DocumentId,
    from: Option<DocumentState>,
    to: DocumentState,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql(
        "INSERT INTO document_events (document_id, at, from_state, to_state, reason) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(doc.0)
    .bind(at)
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(reason)
    .execute(tx, "recording a document event")
    .await?;
    Ok(())
}

/// Saves what the read stage extracted on the document row (searchable columns + full JSON).
pub(crate) async fn save_extraction(
    tx: &mut Tx,
    doc: DocumentId,
    x: &Extraction,
) -> Result<(), StoreError> {
    let inv = &x.invoice;
    let json = serde_json::to_string(x)
        .map_err(|e| StoreError::Corrupt(format!("extraction to JSON: {e}")))?;
    sql(
        "UPDATE documents SET method = $1, doc_type = $2, invoice_number = $3, issue_date = $4, \
         due_date = $5, currency = $6, total_net = $7, total_tax = $8, total_gross = $9, \
         supplier_name = $10, supplier_vat_id = $11, confidence = $12, extraction = $13 \
         WHERE id = $14",
    )
    .bind(x.method.as_str())
    .bind(inv.doc_type.as_str())
    .bind(inv.number.as_deref())
    .bind(inv.issue_date)
    .bind(inv.due_date)
    .bind(inv.currency.map(|c| c.to_string()))
    .money(inv.total_net)
    .money(inv.total_tax)
    .money(inv.total_gross)
    .bind(inv.seller.name.as_deref())
    .bind(inv.seller.vat_id.as_ref().map(|v| v.to_string()))
    .bind(x.overall_confidence())
    .bind(json)
    .bind(doc.0)
    .execute(tx, "saving the extracted fields")
    .await?;
    Ok(())
}

/// The document intake inside a caller's transaction (`intake`, and the mail store, which records
/// a message in the same transaction as its documents).
pub(crate) async fn intake_in(
    tx: &mut Tx,
    raw: &RawDocument,
    now: DateTime<Utc>,
) -> Result<IntakeOutcome, StoreError> {
    let hash = ContentHash::of(&raw.bytes);
    let origin = serde_json::to_string(&raw.origin)
        .map_err(|e| StoreError::Corrupt(format!("origin to JSON: {e}")))?;
    // New bytes are the common case: insert first, and look up the holder only when the bytes
    // were known (two statements fewer than looking up first).
    sql(
        "INSERT INTO blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(hash.as_str())
    .bind(raw.bytes.len() as i64)
    .bind(raw.bytes.as_slice())
    .bind(now)
    .execute(&mut *tx, "storing the original bytes")
    .await?;
    let created: Option<i64> = sql(
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
    .scalar(&mut *tx, "creating the document")
    .await?;
    let outcome = match created {
        Some(id) => {
            let id = DocumentId(id);
            let reason = format!("received from {}", raw.origin.describe());
            insert_event(tx, id, None, DocumentState::Received, &reason, now).await?;
            queue::enqueue_first(tx, id, Stage::Read, DocumentState::Received, now).await?;
            IntakeOutcome::Created(id)
        }
        None => {
            let id: i64 = sql("SELECT id FROM documents WHERE content_hash = $1")
                .bind(hash.as_str())
                .scalar(&mut *tx, "looking up the document holding these bytes")
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("document with bytes {hash}")))?;
            IntakeOutcome::Rearrived(DocumentId(id))
        }
    };
    sql(
        "INSERT INTO arrivals (document_id, source, origin, file_name, arrived_at, is_first) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(outcome.document().0)
    .bind(raw.origin.source())
    .bind(&origin)
    .bind(&raw.name)
    .bind(now)
    .bind(matches!(outcome, IntakeOutcome::Created(_)))
    .execute(tx, "recording the arrival")
    .await?;
    Ok(outcome)
}

async fn events_of(db: &Db, id: DocumentId) -> Result<Vec<DocumentEvent>, StoreError> {
    sql(
        "SELECT at, from_state, to_state, reason FROM document_events \
         WHERE document_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(db, "reading document events")
    .await?
    .iter()
    .map(|r| {
        let from: Option<String> = r.get("from_state")?;
        Ok(DocumentEvent {
            at: r.get("at")?,
            from_state: from.as_deref().map(parse_state).transpose()?,
            to_state: parse_state(&r.get::<String>("to_state")?)?,
            reason: r.get("reason")?,
        })
    })
    .collect()
}

async fn arrivals_of(db: &Db, id: DocumentId) -> Result<Vec<Arrival>, StoreError> {
    sql(
        "SELECT arrived_at, source, origin, file_name, is_first FROM arrivals \
         WHERE document_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(db, "reading arrivals")
    .await?
    .iter()
    .map(|r| {
        Ok(Arrival {
            at: r.get("arrived_at")?,
            source: r.get("source")?,
            origin: parse_origin(&r.get::<String>("origin")?)?,
            file_name: r.get("file_name")?,
            first: r.get("is_first")?,
        })
    })
    .collect()
}

#[async_trait]
impl DocumentStore for SqlStore {
    async fn intake(&self, raw: &RawDocument) -> Result<IntakeOutcome, StoreError> {
        let mut tx = self.db.begin_write("starting intake").await?;
        let outcome = intake_in(&mut tx, raw, now_micros()).await?;
        tx.commit("committing intake").await?;
        if matches!(outcome, IntakeOutcome::Created(_)) {
            self.jobs.queued();
        }
        Ok(outcome)
    }

    async fn document(&self, id: DocumentId) -> Result<DocumentRecord, StoreError> {
        let mut record = self.document_head(id).await?;
        record.events = events_of(&self.db, id).await?;
        record.arrivals = arrivals_of(&self.db, id).await?;
        record.jobs = queue::jobs_of(&self.db, id).await?;
        record.duplicates = self.duplicates_of(id).await?;
        Ok(record)
    }

    async fn document_head(&self, id: DocumentId) -> Result<DocumentRecord, StoreError> {
        let row = sql(format!(
            "SELECT {SUMMARY_COLUMNS}, content_hash, origin, extraction, \
             (SELECT size FROM blobs WHERE hash = content_hash) AS size \
             FROM documents WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.db, "reading a document")
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
        let hash: String = row.get("content_hash")?;
        let extraction = row
            .get::<Option<String>>("extraction")?
            .map(|e| serde_json::from_str::<Extraction>(&e))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("extraction JSON: {e}")))?;
        Ok(DocumentRecord {
            summary: summary_from_row(&row)?,
            content_hash: ContentHash::parse(&hash)
                .ok_or_else(|| StoreError::Corrupt(format!("content hash '{hash}'")))?,
            size: row.get::<Option<i64>>("size")?.unwrap_or(0),
            origin: parse_origin(&row.get::<String>("origin")?)?,
            extraction,
            events: Vec::new(),
            arrivals: Vec::new(),
            jobs: Vec::new(),
            duplicates: Vec::new(),
        })
    }

    async fn document_states(
        &self,
        ids: &[DocumentId],
    ) -> Result<Vec<(DocumentId, DocumentState)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let mut q = sql(format!(
            "SELECT id, state FROM documents WHERE id IN ({})",
            marks.join(", ")
        ));
        for id in ids {
            q = q.bind(id.0);
        }
        let mut found = q
            .fetch_all(&self.db, "reading documents' states")
            .await?
            .iter()
            .map(|r| {
                let state = parse_state(&r.get::<String>("state")?)?;
                Ok((DocumentId(r.get("id")?), state))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        found.sort_by_key(|(id, _)| ids.iter().position(|i| i == id));
        Ok(found)
    }

    async fn list_documents(
        &self,
        state: Option<DocumentState>,
        limit: u32,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        sql(format!(
            "SELECT {SUMMARY_COLUMNS} FROM documents \
             WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(state.map(|s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.db, "listing documents")
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
    }

    async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError> {
        sql("SELECT bytes FROM blobs WHERE hash = $1")
            .bind(hash.as_str())
            .scalar(&self.db, "reading original bytes")
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("blob {hash}")))
    }

    async fn document_extraction(&self, id: DocumentId) -> Result<Option<Extraction>, StoreError> {
        let json: Option<Option<String>> = sql("SELECT extraction FROM documents WHERE id = $1")
            .bind(id.0)
            .scalar(&self.db, "reading an extraction")
            .await?;
        let json = json.ok_or_else(|| StoreError::NotFound(format!("document {id}")))?;
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("extraction JSON: {e}")))
    }

    async fn document_bytes(&self, id: DocumentId) -> Result<Vec<u8>, StoreError> {
        sql(
            "SELECT b.bytes FROM documents d JOIN blobs b ON b.hash = d.content_hash \
             WHERE d.id = $1",
        )
        .bind(id.0)
        .scalar(&self.db, "reading a document's bytes")
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("document {id}")))
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let count = |text: &'static str, context: &'static str| async move {
            let n: Option<i64> = sql(text).scalar(&self.db, context).await?;
            Ok::<i64, StoreError>(n.unwrap_or(0))
        };
        let groups = |text: &'static str, context: &'static str| async move {
            sql(text)
                .fetch_all(&self.db, context)
                .await?
                .iter()
                .map(|r| Ok((r.at::<String>(0)?, r.at::<i64>(1)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        };
        Ok(Counts {
            documents: count("SELECT COUNT(*) FROM documents", "counting documents").await?,
            arrivals: count("SELECT COUNT(*) FROM arrivals", "counting arrivals").await?,
            by_state: groups(
                "SELECT state, COUNT(*) FROM documents GROUP BY state ORDER BY state",
                "counting documents by state",
            )
            .await?,
            jobs_by_status: groups(
                "SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status",
                "counting jobs",
            )
            .await?,
        })
    }
}
