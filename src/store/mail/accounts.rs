//! Per-account state: OAuth2 refresh tokens the provider rotated, the outcome of the last refresh
//! (an alert in `mail status`), and the persisted connection backoff every worker honours.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ConnectBackoff;
use crate::domain::now_micros;
use crate::store::db::{sql, Db};
use crate::store::StoreError;

pub(super) async fn refresh_token(db: &Db, account: &str) -> Result<Option<String>, StoreError> {
    let row = sql("SELECT refresh_token FROM mail_accounts WHERE account = $1")
        .bind(account)
        .fetch_optional(db, "reading a refresh token")
        .await?;
    Ok(row
        .map(|r| r.at::<Option<String>>(0))
        .transpose()?
        .flatten())
}

pub(super) async fn save_refresh_token(
    db: &Db,
    account: &str,
    token: &str,
) -> Result<(), StoreError> {
    sql(
        "INSERT INTO mail_accounts (account, refresh_token, token_updated_at) \
         VALUES ($1, $2, $3) ON CONFLICT (account) DO UPDATE SET \
         refresh_token = excluded.refresh_token, token_updated_at = excluded.token_updated_at",
    )
    .bind(account)
    .bind(token)
    .bind(now_micros())
    .execute(db, "saving a refresh token")
    .await?;
    Ok(())
}

pub(super) async fn auth_result(
    db: &Db,
    account: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let at: Option<DateTime<Utc>> = error.map(|_| now_micros());
    sql(
        "INSERT INTO mail_accounts (account, auth_error, auth_error_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account) DO UPDATE SET auth_error = excluded.auth_error, \
         auth_error_at = excluded.auth_error_at",
    )
    .bind(account)
    .bind(error)
    .bind(at)
    .execute(db, "recording an OAuth2 refresh")
    .await?;
    Ok(())
}

pub(super) async fn connect_result(
    db: &Db,
    account: &str,
    failure: Option<(&str, Duration)>,
) -> Result<(), StoreError> {
    let now = now_micros();
    let (delay, at, error) = match failure {
        Some((e, d)) => (
            Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Some(now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))),
            Some(e),
        ),
        None => (None, None, None),
    };
    sql(
        "INSERT INTO mail_accounts (account, retry_delay_secs, retry_at, connect_error) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account) DO UPDATE SET \
         retry_delay_secs = excluded.retry_delay_secs, retry_at = excluded.retry_at, \
         connect_error = excluded.connect_error",
    )
    .bind(account)
    .bind(delay)
    .bind(at)
    .bind(error)
    .execute(db, "recording a connection outcome")
    .await?;
    Ok(())
}

pub(super) async fn connect_backoff(
    db: &Db,
    account: &str,
) -> Result<Option<ConnectBackoff>, StoreError> {
    let row = sql("SELECT retry_delay_secs, retry_at FROM mail_accounts WHERE account = $1")
        .bind(account)
        .fetch_optional(db, "reading a connection retry")
        .await?;
    let Some(r) = row else { return Ok(None) };
    let delay: Option<i64> = r.get("retry_delay_secs")?;
    let at: Option<DateTime<Utc>> = r.get("retry_at")?;
    Ok(match (delay, at) {
        (Some(d), Some(at)) => Some(ConnectBackoff {
            delay: Duration::from_secs(u64::try_from(d).unwrap_or(0)),
            retry_at: at,
        }),
        _ => None,
    })
}
