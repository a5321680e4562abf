//! Supplier master records (migrations/*/0012_suppliers.sql): the post stage matches an invoice's
//! seller by VAT id, then SIREN, then IBAN, or creates it, and posts to the auxiliary account the
//! supplier was given first. A match fills in the identifiers the record lacked (unless another
//! supplier has them); the auxiliary account never changes, so a supplier first seen with its
//! VAT id keeps `F<VAT id>` when its next invoice also shows its SIREN.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::db::{sql, Row};
use super::{SqlStore, StoreError};
use crate::domain::{now_micros, Party};
use crate::ledger::entry::Auxiliary;

/// A supplier as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Supplier {
    pub id: i64,
    /// Its auxiliary account under 401 (CompAuxNum).
    pub aux_code: String,
    pub name: String,
    pub vat_id: Option<String>,
    pub siren: Option<String>,
    pub iban: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Supplier {
    pub fn auxiliary(&self) -> Auxiliary {
        Auxiliary {
            code: self.aux_code.clone(),
            name: self.name.clone(),
        }
    }
}

/// What identifies a seller: its parsed ids (SIREN from the SIRET when only that is given).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SupplierKeys {
    pub name: String,
    pub vat_id: Option<String>,
    pub siren: Option<String>,
    pub iban: Option<String>,
}

impl SupplierKeys {
    pub fn of(seller: &Party) -> SupplierKeys {
        SupplierKeys {
            name: seller.name.clone().unwrap_or_else(|| "Fournisseur".into()),
            vat_id: seller.vat_id.as_ref().map(|v| v.as_str().to_string()),
            siren: seller
                .siren
                .clone()
                .or_else(|| seller.siret.as_ref().map(|s| s.siren()))
                .map(|s| s.as_str().to_string()),
            iban: seller.iban.as_ref().map(|i| i.as_str().to_string()),
        }
    }

    fn is_empty(&self) -> bool {
        self.vat_id.is_none() && self.siren.is_none() && self.iban.is_none()
    }
}

#[async_trait]
pub trait SupplierStore: Send + Sync {
    /// The supplier these keys name (by VAT id, SIREN, IBAN, in that order), its missing
    /// identifiers filled in; or a new one with auxiliary account `aux` (made unique). `None`
    /// when the keys hold no identifier (a name alone matches nobody for sure).
    async fn supplier_for(
        &self,
        keys: &SupplierKeys,
        aux: &str,
    ) -> Result<Option<Supplier>, StoreError>;

    /// Every supplier, by auxiliary account.
    async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError>;
}

const COLUMNS: &str = "id, aux_code, name, vat_id, siren, iban, created_at";

fn from_row(r: &Row) -> Result<Supplier, StoreError> {
    Ok(Supplier {
        id: r.get("id")?,
        aux_code: r.get("aux_code")?,
        name: r.get("name")?,
        vat_id: r.get("vat_id")?,
        siren: r.get("siren")?,
        iban: r.get("iban")?,
        created_at: r.get("created_at")?,
    })
}

impl SqlStore {
    /// The supplier `supplier_for` would match (VAT id first, then SIREN, then IBAN), if it
    /// already has each identifier `keys` carries, so that matching would change nothing.
    async fn known_supplier(&self, keys: &SupplierKeys) -> Result<Option<Supplier>, StoreError> {
        let arms: Vec<(&str, &str)> = [
            ("vat_id", &keys.vat_id),
            ("siren", &keys.siren),
            ("iban", &keys.iban),
        ]
        .into_iter()
        .filter_map(|(c, v)| Some((c, v.as_deref()?)))
        .collect();
        if arms.is_empty() {
            return Ok(None);
        }
        let by: Vec<String> = arms
            .iter()
            .enumerate()
            .map(|(i, (column, _))| format!("{column} = ${}", i + 1))
            .collect();
        let mut q = sql(format!(
            "SELECT {COLUMNS} FROM suppliers WHERE {} ORDER BY id",
            by.join(" OR ")
        ));
        for (_, value) in &arms {
            q = q.bind(*value);
        }
        let found: Vec<Supplier> = q
            .fetch_all(&self.db, "looking a supplier up")
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<_, _>>()?;
        let by_column = |s: &Supplier, column: &str| match column {
            "vat_id" => s.vat_id.clone(),
            "siren" => s.siren.clone(),
            _ => s.iban.clone(),
        };
        let matched = arms.iter().find_map(|(column, value)| {
            found
                .iter()
                .find(|s| by_column(s, column).as_deref() == Some(*value))
        });
        Ok(matched
            .filter(|s| {
                arms.iter()
                    .all(|(column, _)| by_column(s, column).is_some())
            })
            .cloned())
    }
}

#[async_trait]
impl SupplierStore for SqlStore {
    async fn supplier_for(
        &self,
        keys: &SupplierKeys,
        aux: &str,
    ) -> Result<Option<Supplier>, StoreError> {
        if keys.is_empty() {
            return Ok(None);
        }
        // The usual case, a supplier already known with every identifier this invoice shows:
        // one read, no write transaction (which would hold SQLite's single writer).
        if let Some(s) = self.known_supplier(keys).await? {
            return Ok(Some(s));
        }
        let mut tx = self.db.begin_write("matching a supplier").await?;
        let mut found = None;
        for (column, value) in [
            ("vat_id", &keys.vat_id),
            ("siren", &keys.siren),
            ("iban", &keys.iban),
        ] {
            let Some(v) = value else { continue };
            found = sql(format!(
                "SELECT {COLUMNS} FROM suppliers WHERE {column} = $1"
            ))
            .bind(v.as_str())
            .fetch_optional(&mut tx, "looking a supplier up")
            .await?;
            if found.is_some() {
                break;
            }
        }
        let id: i64 = match found {
            Some(r) => {
                let s = from_row(&r)?;
                for (column, value, had) in [
                    ("vat_id", &keys.vat_id, &s.vat_id),
                    ("siren", &keys.siren, &s.siren),
                    ("iban", &keys.iban, &s.iban),
                ] {
                    let (Some(v), None) = (value, had) else {
                        continue;
                    };
                    sql(format!(
                        "UPDATE suppliers SET {column} = $1, updated_at = $2 WHERE id = $3 \
                         AND NOT EXISTS (SELECT 1 FROM suppliers o WHERE o.{column} = $1)"
                    ))
                    .bind(v.as_str())
                    .bind(now_micros())
                    .bind(s.id)
                    .execute(&mut tx, "filling in a supplier's identifier")
                    .await?;
                }
                s.id
            }
            None => {
                let taken =
                    |code: String| sql("SELECT id FROM suppliers WHERE aux_code = $1").bind(code);
                let mut code = aux.to_string();
                let mut n = 1;
                while taken(code.clone())
                    .scalar::<i64>(&mut tx, "checking an auxiliary account")
                    .await?
                    .is_some()
                {
                    n += 1;
                    let base: String = aux.chars().take(17 - n.to_string().len()).collect();
                    code = format!("{base}{n}");
                }
                let now = now_micros();
                sql(
                    "INSERT INTO suppliers (aux_code, name, vat_id, siren, iban, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(code)
                .bind(keys.name.as_str())
                .bind(keys.vat_id.as_deref())
                .bind(keys.siren.as_deref())
                .bind(keys.iban.as_deref())
                .bind(now)
                .scalar(&mut tx, "creating a supplier")
                .await?
                .ok_or_else(|| StoreError::Corrupt("a supplier got no id".into()))?
            }
        };
        let row = sql(format!("SELECT {COLUMNS} FROM suppliers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut tx, "reading a supplier")
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("supplier {id}")))?;
        let s = from_row(&row)?;
        tx.commit("committing a supplier").await?;
        Ok(Some(s))
    }

    async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> {
        sql(format!("SELECT {COLUMNS} FROM suppliers ORDER BY aux_code"))
            .fetch_all(&self.db, "reading suppliers")
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}
