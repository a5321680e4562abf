//! The PostgreSQL store: the shared ledger for several workers on several machines.
//!
//! Money is NUMERIC ↔ `Decimal`. Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so concurrent
//! workers never wait on, nor take, each other's job. Migrations take sqlx's advisory lock, so
//! workers starting together migrate once.

use rust_decimal::Decimal;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

use super::mail::impl_mail_store;
use super::sql::impl_store;

pub struct PgStore {
    pool: Pool<Postgres>,
}

type Money = Decimal;

fn to_money(d: Decimal) -> Money {
    d
}

fn from_money(m: Money) -> Result<Decimal, StoreError> {
    Ok(m)
}

const BEGIN: &str = "BEGIN";

const CLAIM_SQL: &str =
    "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
    attempts = attempts + 1, updated_at = $3 \
    WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= $3 \
                AND $4 LIKE '%,' || stage || ',%' ORDER BY run_after, id LIMIT 1 \
                FOR UPDATE SKIP LOCKED) \
    RETURNING id, document_id, stage, attempts";

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open {
                url: redact(url),
                why: e.to_string(),
            })?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

/// Hides a password in a URL before it reaches an error message or a log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl_store!(PgStore, Postgres);
impl_mail_store!(PgStore, Postgres);
