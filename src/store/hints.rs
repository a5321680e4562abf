//! Supplier hints' side of the store: saved with the correction that taught them (in
//! `review_correct`'s transaction), looked up by the read stage by the identifiers a fresh
//! reading validated on the page.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::{sql, Tx};
use super::{SqlStore, StoreError};
use crate::domain::hint::{SupplierHint, SupplierKey};
use crate::domain::{DocumentId, Field, Party};

#[async_trait]
pub trait HintStore: Send + Sync {
    /// The hints saved for `seller`'s identifiers, strongest identifier first.
    async fn supplier_hints(&self, seller: &Party) -> Result<Vec<SupplierHint>, StoreError>;
}

/// Saves (or replaces: the newest correction wins) `hints`, taught by `by` on `document`.
pub(crate) async fn save(
    tx: &mut Tx,
    document: DocumentId,
    hints: &[SupplierHint],
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for h in hints {
        sql(
            "INSERT INTO supplier_hints (key_kind, key_value, field, value, from_document, \
             saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (key_kind, key_value, field) DO UPDATE SET value = excluded.value, \
             from_document = excluded.from_document, saved_by = excluded.saved_by, \
             saved_at = excluded.saved_at",
        )
        .bind(h.key.kind())
        .bind(h.key.value())
        .bind(h.field.as_str())
        .bind(h.value.as_str())
        .bind(document.0)
        .bind(by)
        .bind(now)
        .execute(&mut *tx, "saving a supplier hint")
        .await?;
    }
    Ok(())
}

#[async_trait]
impl HintStore for SqlStore {
    async fn supplier_hints(&self, seller: &Party) -> Result<Vec<SupplierHint>, StoreError> {
        let mut found = Vec::new();
        for key in SupplierKey::of(seller) {
            for r in sql(
                "SELECT field, value FROM supplier_hints WHERE key_kind = $1 AND key_value = $2 \
                 ORDER BY field",
            )
            .bind(key.kind())
            .bind(key.value())
            .fetch_all(&self.db, "reading supplier hints")
            .await?
            {
                let field: String = r.get("field")?;
                let Some(field) = Field::ALL.into_iter().find(|f| f.as_str() == field) else {
                    return Err(StoreError::Corrupt(format!(
                        "supplier hint field '{field}'"
                    )));
                };
                found.push(SupplierHint {
                    key: key.clone(),
                    field,
                    value: r.get("value")?,
                });
            }
        }
        Ok(found)
    }
}
