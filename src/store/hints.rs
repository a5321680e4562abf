//! Supplier hints' side of the store: saved with the correction that taught them (in
//! `review_correct`'s transaction), looked up by the read stage by the identifiers a fresh
//! reading validated on the page; and the bank accounts a supplier was known by before
//! (`known_ibans`), for the read stage's IBAN cross-check.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::{sql, Tx};
use super::{SqlStore, StoreError};
use crate::dedupe::supplier::SupplierKeys;
use crate::domain::hint::{SupplierHint, SupplierKey};
use crate::domain::{DocumentId, DocumentState, Field, Party};
use crate::read::fields::crosscheck::KnownIbans;

/// States of a document that went through reading and duplicate checks and that nobody
/// stopped: what it says of its supplier was let through.
const LET_THROUGH: [DocumentState; 5] = [
    DocumentState::PendingApproval,
    DocumentState::Approved,
    DocumentState::Posted,
    DocumentState::Exported,
    DocumentState::Paid,
];

#[async_trait]
pub trait HintStore: Send + Sync {
    /// The hints saved for `seller`'s identifiers, strongest identifier first.
    async fn supplier_hints(&self, seller: &Party) -> Result<Vec<SupplierHint>, StoreError>;

    /// The bank accounts `seller` (known by its SIREN or VAT id, never by an IBAN or a name) was
    /// known by before `except`: on its documents that were let through (pending approval and
    /// after), and in the supplier hints people saved for its VAT id or SIRET.
    async fn known_ibans(
        &self,
        seller: &Party,
        except: DocumentId,
    ) -> Result<KnownIbans, StoreError>;
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

    async fn known_ibans(
        &self,
        seller: &Party,
        except: DocumentId,
    ) -> Result<KnownIbans, StoreError> {
        let keys = SupplierKeys::of(seller);
        let mut known = KnownIbans::default();
        let states: Vec<String> = LET_THROUGH
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let mut seen_docs: Vec<i64> = Vec::new();
        for (column, value) in [
            ("supplier_siren", keys.siren.as_deref()),
            ("supplier_vat", keys.vat_id.as_deref()),
        ] {
            let Some(value) = value else { continue };
            for r in sql(format!(
                "SELECT k.document_id, k.supplier_iban FROM dedupe_keys k \
                 JOIN documents d ON d.id = k.document_id \
                 WHERE k.{column} = $1 AND k.document_id <> $2 AND d.state IN ({})",
                states.join(", ")
            ))
            .bind(value)
            .bind(except.0)
            .fetch_all(&self.db, "reading the supplier's earlier bank accounts")
            .await?
            {
                let doc: i64 = r.get("document_id")?;
                if seen_docs.contains(&doc) {
                    continue;
                }
                seen_docs.push(doc);
                known.documents += 1;
                if let Some(iban) = r.get::<Option<String>>("supplier_iban")? {
                    known.add(iban);
                }
            }
        }
        for key in SupplierKey::of(seller)
            .into_iter()
            .filter(|k| !matches!(k, SupplierKey::Iban(_)))
        {
            for r in sql(
                "SELECT value FROM supplier_hints WHERE key_kind = $1 AND key_value = $2 \
                 AND field = $3",
            )
            .bind(key.kind())
            .bind(key.value())
            .bind(Field::SupplierIban.as_str())
            .fetch_all(&self.db, "reading the supplier's bank account hints")
            .await?
            {
                known.documents += 1;
                known.add(r.get("value")?);
            }
        }
        Ok(known)
    }
}
