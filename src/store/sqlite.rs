//! Opening the embedded SQLite store: the default, one file (`./var/facteur.db`), WAL, one writer,
//! busy_timeout 10 s, foreign keys on (DESIGN.md §3).

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::db::Db;
use super::StoreError;

/// Opens (creating the file and its folder if needed) and migrates.
pub(super) async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
    let open_err = |why: String| StoreError::Open {
        url: url.to_string(),
        why,
    };
    // WAL with synchronous=NORMAL: a commit is in the WAL before it returns, so a process that
    // crashes or is killed loses nothing committed; only an OS crash or power loss can lose the
    // last commits (never corrupt the file), and a worker's jobs are then retried from their
    // leases. FULL would fsync on every commit, one per stage per document.
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
    // Each SQLite connection lives on its own thread and every command to it is a hand-off
    // between threads, the cost that dominates the pipeline (README, `bench pipeline`). sqlx
    // pings a connection when it goes back to the pool and, by default, again when it is taken
    // out: the second ping guards against a server that hung up meanwhile, which a file on
    // local disk cannot do.
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .test_before_acquire(false)
        .connect_with(opts)
        .await
        .map_err(|e| open_err(e.to_string()))?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(Db::Sqlite(pool))
}
