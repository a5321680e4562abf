//! The REST API's side of the store: per-user API tokens (only their SHA-256 is kept), the
//! idempotency keys of uploads, and the pages the API lists (documents newest first, ledger
//! entries in posting order), read by keyset so a page never repeats or skips a row when others
//! are added meanwhile. Which approval request a signed-in user answers is looked up here too;
//! the decision itself goes through `ApprovalStore::approval_decide`, like an emailed link's.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::db::{sql, Row};
use super::documents::{summary_from_row, DocumentSummary, SUMMARY_COLUMNS};
use super::users::{user_columns_of, user_from_row, User};
use super::{SqlStore, StoreError};
use crate::domain::{DocumentId, DocumentState};
use crate::ledger::entry::Journal;
use crate::ledger::PostedEntry;
use crate::users::api_token::Scope;

/// `last_used_at` is written at most this often per token (a busy client is not a write per
/// request).
const LAST_USED_EVERY_SECS: i64 = 60;

/// A token to record; its text was shown once and is not kept.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user: i64,
    pub name: String,
    pub scope: Scope,
    pub token_hash: String,
    /// `fct_` and the first hex digits, for lists.
    pub shown: String,
    pub by: String,
}

/// A token as lists show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub scope: Scope,
    pub shown: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who calls the API: a live token and its enabled user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub token_name: String,
    pub scope: Scope,
    pub user: User,
}

/// An upload made under an idempotency key, as first answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedUpload {
    pub document: DocumentId,
    /// The first answer was a new document (201), not known bytes (200).
    pub created: bool,
    /// SHA-256 of the uploaded file.
    pub body_hash: String,
}

/// What `GET /api/v1/documents` filters on.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub state: Option<DocumentState>,
    /// Part of the supplier's name, any case.
    pub supplier: Option<String>,
    /// Part of the number, the supplier's name or the file name, any case.
    pub q: Option<String>,
}

/// What `GET /api/v1/ledger/entries` filters on.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryFilter {
    pub journal: Option<Journal>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[async_trait]
pub trait ApiStore: Send + Sync {
    /// Records a token; returns its id.
    async fn add_api_token(&self, t: &NewApiToken) -> Result<i64, StoreError>;

    /// Every token (revoked ones too), by id.
    async fn api_tokens(&self) -> Result<Vec<ApiTokenInfo>, StoreError>;

    /// Revokes a token at `now`; `NotFound` for an unknown id, `Conflict` when it already was.
    async fn revoke_api_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The caller whose token hashes to `token_hash`: None when it is unknown, revoked, or its
    /// user is disabled. Records the use.
    async fn api_caller(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, StoreError>;

    /// The upload `user` made under `key`, if any.
    async fn keyed_upload(&self, user: i64, key: &str) -> Result<Option<KeyedUpload>, StoreError>;

    /// Records an upload under `key`; returns what is recorded under it: this one, or the one
    /// a concurrent request with the same key recorded first.
    async fn record_keyed_upload(
        &self,
        user: i64,
        key: &str,
        upload: &KeyedUpload,
        now: DateTime<Utc>,
    ) -> Result<KeyedUpload, StoreError>;

    /// Documents newest first, older than `before` (all when None), at most `limit`.
    async fn documents_page(
        &self,
        filter: &DocumentFilter,
        before: Option<DocumentId>,
        limit: u32,
    ) -> Result<Vec<DocumentSummary>, StoreError>;

    /// Entries in posting order after entry `after` (from the first when None), at most `limit`.
    async fn entries_page(
        &self,
        filter: &EntryFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PostedEntry>, StoreError>;

    /// The link token hash of the request `email` answers on `document`: the open request of
    /// the step being asked (its newest link), else the request they already decided (so the
    /// decision code answers "already decided"). None when they are not asked at all.
    async fn approval_turn(
        &self,
        document: DocumentId,
        email: &str,
    ) -> Result<Option<String>, StoreError>;
}

fn token_from_row(r: &Row) -> Result<ApiTokenInfo, StoreError> {
    Ok(ApiTokenInfo {
        id: r.get("id")?,
        user: r.get("email")?,
        name: r.get("name")?,
        scope: Scope::parse(&r.get::<String>("scope")?).map_err(StoreError::Corrupt)?,
        shown: r.get("prefix")?,
        created_at: r.get("created_at")?,
        created_by: r.get("created_by")?,
        last_used_at: r.get("last_used_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

/// A LIKE pattern matching `text` anywhere, any case; `%`, `_` and `\` in it match themselves.
fn contains_pattern(text: &str) -> String {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// What an idempotency key recorded.
const KEYED: &str = "SELECT document_id, created, body_hash FROM api_uploads \
     WHERE user_id = $1 AND idem_key = $2";

fn keyed_from_row(r: &Row) -> Result<KeyedUpload, StoreError> {
    Ok(KeyedUpload {
        document: DocumentId(r.get("document_id")?),
        created: r.get("created")?,
        body_hash: r.get("body_hash")?,
    })
}

#[async_trait]
impl ApiStore for SqlStore {
    async fn add_api_token(&self, t: &NewApiToken) -> Result<i64, StoreError> {
        sql(
            "INSERT INTO api_tokens (user_id, name, scope, token_hash, prefix, created_at, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(t.user)
        .bind(t.name.as_str())
        .bind(t.scope.as_str())
        .bind(t.token_hash.as_str())
        .bind(t.shown.as_str())
        .bind(crate::domain::now_micros())
        .bind(t.by.as_str())
        .scalar(&self.db, "recording an API token")
        .await?
        .ok_or_else(|| StoreError::Corrupt("no id for a new API token".into()))
    }

    async fn api_tokens(&self) -> Result<Vec<ApiTokenInfo>, StoreError> {
        sql(
            "SELECT t.id, u.email, t.name, t.scope, t.prefix, t.created_at, t.created_by, \
             t.last_used_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             ORDER BY t.id",
        )
        .fetch_all(&self.db, "listing API tokens")
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn revoke_api_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write("revoking an API token").await?;
        let revoked: Option<Option<DateTime<Utc>>> =
            sql("SELECT revoked_at FROM api_tokens WHERE id = $1")
                .bind(id)
                .scalar(&mut tx, "reading an API token")
                .await?;
        match revoked {
            None => return Err(StoreError::NotFound(format!("API token {id}"))),
            Some(Some(at)) => {
                return Err(StoreError::Conflict(format!(
                    "API token {id} was revoked already, on {}",
                    at.format("%Y-%m-%d %H:%M UTC")
                )))
            }
            Some(None) => {}
        }
        sql("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut tx, "revoking an API token")
            .await?;
        tx.commit("committing a revoked API token").await
    }

    async fn api_caller(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Caller>, StoreError> {
        let cols = user_columns_of("u");
        let Some(r) = sql(format!(
            "SELECT {cols}, t.id AS token_id, t.name AS token_name, t.scope FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND u.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.db, "looking up an API token")
        .await?
        else {
            return Ok(None);
        };
        let caller = Caller {
            token_id: r.get("token_id")?,
            token_name: r.get("token_name")?,
            scope: Scope::parse(&r.get::<String>("scope")?).map_err(StoreError::Corrupt)?,
            user: user_from_row(&r)?,
        };
        sql("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now)
        .bind(caller.token_id)
        .bind(now - Duration::seconds(LAST_USED_EVERY_SECS))
        .execute(&self.db, "recording an API token's use")
        .await?;
        Ok(Some(caller))
    }

    async fn keyed_upload(&self, user: i64, key: &str) -> Result<Option<KeyedUpload>, StoreError> {
        sql(KEYED)
            .bind(user)
            .bind(key)
            .fetch_optional(&self.db, "reading an idempotency key")
            .await?
            .as_ref()
            .map(keyed_from_row)
            .transpose()
    }

    async fn record_keyed_upload(
        &self,
        user: i64,
        key: &str,
        upload: &KeyedUpload,
        now: DateTime<Utc>,
    ) -> Result<KeyedUpload, StoreError> {
        let mut tx = self.db.begin_write("recording an idempotency key").await?;
        sql(
            "INSERT INTO api_uploads (user_id, idem_key, body_hash, document_id, created, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, idem_key) DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(upload.body_hash.as_str())
        .bind(upload.document.0)
        .bind(upload.created)
        .bind(now)
        .execute(&mut tx, "recording an idempotency key")
        .await?;
        let kept = sql(KEYED)
            .bind(user)
            .bind(key)
            .fetch_optional(&mut tx, "reading an idempotency key back")
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("idempotency key '{key}' vanished")))?;
        tx.commit("committing an idempotency key").await?;
        keyed_from_row(&kept)
    }

    async fn documents_page(
        &self,
        filter: &DocumentFilter,
        before: Option<DocumentId>,
        limit: u32,
    ) -> Result<Vec<DocumentSummary>, StoreError> {
        sql(format!(
            "SELECT {SUMMARY_COLUMNS} FROM documents WHERE id < $1 \
             AND (CAST($2 AS TEXT) IS NULL OR state = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR LOWER(COALESCE(supplier_name, '')) LIKE $3 ESCAPE '\\') \
             AND (CAST($4 AS TEXT) IS NULL OR LOWER(COALESCE(invoice_number, '')) LIKE $4 ESCAPE '\\' \
                  OR LOWER(COALESCE(supplier_name, '')) LIKE $4 ESCAPE '\\' \
                  OR LOWER(file_name) LIKE $4 ESCAPE '\\') \
             ORDER BY id DESC LIMIT $5"
        ))
        .bind(before.map_or(i64::MAX, |d| d.0))
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.supplier.as_deref().map(contains_pattern))
        .bind(filter.q.as_deref().map(contains_pattern))
        .bind(i64::from(limit))
        .fetch_all(&self.db, "listing a page of documents")
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
    }

    async fn entries_page(
        &self,
        filter: &EntryFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PostedEntry>, StoreError> {
        super::ledger::entries_page(
            &self.db,
            after.unwrap_or(0),
            limit,
            filter.journal,
            filter.from,
            filter.to,
        )
        .await
    }

    async fn approval_turn(
        &self,
        document: DocumentId,
        email: &str,
    ) -> Result<Option<String>, StoreError> {
        let open: Option<String> = sql("SELECT t.hash FROM approval_requests r \
             JOIN approval_steps s ON s.document_id = r.document_id AND s.step = r.step \
             JOIN approval_tokens t ON t.request_id = r.id \
             WHERE r.document_id = $1 AND LOWER(r.approver) = $2 AND r.decision IS NULL \
             AND s.issued_at IS NOT NULL AND s.done_at IS NULL \
             ORDER BY t.expires_at DESC, t.created_at DESC LIMIT 1")
        .bind(document.0)
        .bind(email.to_lowercase())
        .scalar(&self.db, "looking up an approver's open request")
        .await?;
        if open.is_some() {
            return Ok(open);
        }
        sql("SELECT t.hash FROM approval_requests r \
             JOIN approval_tokens t ON t.request_id = r.id \
             WHERE r.document_id = $1 AND LOWER(r.approver) = $2 \
             AND r.decision IN ('approve', 'reject') \
             ORDER BY r.decided_at DESC, t.created_at DESC LIMIT 1")
        .bind(document.0)
        .bind(email.to_lowercase())
        .scalar(&self.db, "looking up an approver's decided request")
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_their_text_only() {
        assert_eq!(contains_pattern("ACME"), "%acme%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
