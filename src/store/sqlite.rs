//! The embedded SQLite store: the default, one file (`./var/facteur.db`), WAL, one writer.
//!
//! Money is canonical decimal TEXT (sqlx-sqlite has no Decimal codec). Write transactions begin
//! `IMMEDIATE` so a second process waits on `busy_timeout` instead of failing with SQLITE_BUSY when a
//! read lock would have to be upgraded mid-transaction.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::mail::impl_mail_store;
use super::sql::impl_store;

pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

type Money = String;

fn to_money(d: Decimal) -> Money {
    d.to_string()
}

fn from_money(m: Money) -> Result<Decimal, StoreError> {
    Decimal::from_str(&m).map_err(|_| StoreError::Corrupt(format!("amount '{m}' is not a decimal")))
}

const BEGIN: &str = "BEGIN IMMEDIATE";

const CLAIM_SQL: &str =
    "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
    attempts = attempts + 1, updated_at = $3 \
    WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= $3 \
                AND $4 LIKE '%,' || stage || ',%' ORDER BY run_after, id LIMIT 1) \
    RETURNING id, document_id, stage, attempts";

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let open_err = |why: String| StoreError::Open {
            url: url.to_string(),
            why,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| open_err(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let file = opts.get_filename();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create folder {}: {e}", dir.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(opts)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

impl_store!(SqliteStore, Sqlite);
impl_mail_store!(SqliteStore, Sqlite);
