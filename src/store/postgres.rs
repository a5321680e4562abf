//! Opening the PostgreSQL store: the shared store for several workers on several machines.
//! Migrations take sqlx's advisory lock, so workers starting together migrate once.

use sqlx::postgres::PgPoolOptions;

use super::db::Db;
use super::StoreError;

pub(super) async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
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
    Ok(Db::Pg(pool))
}

/// Hides a password in a URL before it reaches an error message or a log.
pub(crate) fn redact(url: &str) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_the_password_only() {
        assert_eq!(
            super::redact("postgres://ap:s3cret@db:5432/facteur"),
            "postgres://ap:***@db:5432/facteur"
        );
        assert_eq!(
            super::redact("postgres://db/facteur"),
            "postgres://db/facteur"
        );
    }
}
