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

/// `(key_kind = $a AND key_value = $b) OR …` for `keys`, its parameters numbered from `first`.
fn keys_clause(keys: &[SupplierKey], first: usize) -> String {
    let arms: Vec<String> = (0..keys.len())
        .map(|i| {
            format!(
                "(key_kind = ${} AND key_value = ${})",
                first + 2 * i,
                first + 2 * i + 1
            )
        })
        .collect();
    arms.join(" OR ")
}

#[async_trait]
impl HintStore for SqlStore {
    async fn supplier_hints(&self, seller: &Party) -> Result<Vec<SupplierHint>, StoreError> {
        let keys = SupplierKey::of(seller);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One query for every identifier; the hints come back grouped by identifier, strongest
        // first, as one query per identifier would give them.
        let mut q = sql(format!(
            "SELECT key_kind, key_value, field, value FROM supplier_hints WHERE {} \
             ORDER BY field",
            keys_clause(&keys, 1)
        ));
        for key in &keys {
            q = q.bind(key.kind()).bind(key.value());
        }
        let rows = q.fetch_all(&self.db, "reading supplier hints").await?;
        let mut found = Vec::new();
        for key in &keys {
            for r in &rows {
                if r.get::<String>("key_kind")? != key.kind()
                    || r.get::<String>("key_value")? != key.value()
                {
                    continue;
                }
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
        let arms: Vec<(&str, &str)> = [
            ("supplier_siren", keys.siren.as_deref()),
            ("supplier_vat", keys.vat_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(c, v)| Some((c, v?)))
        .collect();
        if !arms.is_empty() {
            // One query for both identifiers; a document known by both counts once.
            let by: Vec<String> = arms
                .iter()
                .enumerate()
                .map(|(i, (column, _))| format!("k.{column} = ${}", i + 2))
                .collect();
            let mut q = sql(format!(
                "SELECT k.document_id, k.supplier_iban FROM dedupe_keys k \
                 JOIN documents d ON d.id = k.document_id \
                 WHERE ({}) AND k.document_id <> $1 AND d.state IN ({}) ORDER BY k.document_id",
                by.join(" OR "),
                states.join(", ")
            ))
            .bind(except.0);
            for (_, value) in &arms {
                q = q.bind(*value);
            }
            let mut seen_docs: Vec<i64> = Vec::new();
            for r in q
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
        let hint_keys: Vec<SupplierKey> = SupplierKey::of(seller)
            .into_iter()
            .filter(|k| !matches!(k, SupplierKey::Iban(_)))
            .collect();
        if !hint_keys.is_empty() {
            let mut q = sql(format!(
                "SELECT value FROM supplier_hints WHERE field = $1 AND ({})",
                keys_clause(&hint_keys, 2)
            ))
            .bind(Field::SupplierIban.as_str());
            for key in &hint_keys {
                q = q.bind(key.kind()).bind(key.value());
            }
            for r in q
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
