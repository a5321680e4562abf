//! Backups of the whole store, the documents' original files included (they live in `blobs`):
//! `take` writes a consistent snapshot while workers keep writing, `restore` puts one into an
//! empty store, and `BackupStore::census` says what a store holds so a restore can be proved.
//!
//! SQLite: `VACUUM INTO` copies the database as one read transaction sees it (WAL: writers go on
//! meanwhile) into a new file that is itself a SQLite database. PostgreSQL: `pg_dump
//! --format=custom` (one repeatable-read snapshot), the format `pg_restore` reads, so a DBA's own
//! tools read facteur's backups. A backup is written under a `.partial` name and renamed when
//! complete: a crash never leaves a file that looks whole. A restore refuses a store that holds
//! anything, and a backup of the other backend.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use tokio::process::Command;

use async_trait::async_trait;

use super::db::{sql, Tx};
use super::ledger::{ChainCheck, LedgerStore};
use super::{SqlStore, StoreError};

/// First bytes of a SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// First bytes of a pg_dump custom-format archive.
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// Which database a URL or a backup file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, BackupError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(BackupError::Url(super::postgres::redact(url)))
        }
    }

    /// Tells a backup file's kind from its first bytes, never from its name.
    pub fn of_file(path: &Path) -> Result<Backend, BackupError> {
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| BackupError::io(path, e))?;
        if head[..n].starts_with(SQLITE_MAGIC) {
            Ok(Backend::Sqlite)
        } else if head[..n].starts_with(PG_DUMP_MAGIC) {
            Ok(Backend::Postgres)
        } else {
            Err(BackupError::NotABackup(path.to_path_buf()))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the database URL must start with sqlite:// or postgres:// (got '{0}')")]
    Url(String),
    #[error(
        "{0} already exists: a backup never overwrites a file; choose another name or move it away"
    )]
    Exists(PathBuf),
    #[error("{path}: {why}")]
    Io { path: PathBuf, why: String },
    #[error(
        "{0} is not a facteur backup (neither a SQLite database nor a pg_dump custom-format file)"
    )]
    NotABackup(PathBuf),
    #[error(
        "{file} is a {found} backup and the store to restore into is {into}: restore it into a \
         {found} store (--into sqlite://PATH or postgres://…/EMPTY_DB)"
    )]
    WrongBackend {
        file: PathBuf,
        found: Backend,
        into: Backend,
    },
    #[error(
        "the store at {url} is not empty ({what}): a restore goes into an empty store only, so \
         that nothing is mixed or lost; {hint}"
    )]
    NotEmpty {
        url: String,
        what: String,
        hint: String,
    },
    #[error("{tool} failed: {why}")]
    Tool { tool: &'static str, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    fn io(path: &Path, e: std::io::Error) -> BackupError {
        BackupError::Io {
            path: path.to_path_buf(),
            why: e.to_string(),
        }
    }
}

/// What a store holds, counted in one read transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    pub documents: i64,
    /// Distinct original files.
    pub blobs: i64,
    /// Documents whose original file is missing (must be 0).
    pub documents_without_file: i64,
    pub ledger_entries: i64,
    pub sales_invoices: i64,
    pub users: i64,
    pub chain: ChainCheck,
}

#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Counts what the store holds and verifies the ledger's hash chain.
    async fn census(&self) -> Result<Census, StoreError>;
}

#[async_trait]
impl BackupStore for SqlStore {
    async fn census(&self) -> Result<Census, StoreError> {
        let mut tx = self.db.begin_read("counting the store").await?;
        let documents = count(&mut tx, "SELECT COUNT(*) FROM documents").await?;
        let blobs = count(&mut tx, "SELECT COUNT(*) FROM blobs").await?;
        let documents_without_file = count(
            &mut tx,
            "SELECT COUNT(*) FROM documents d LEFT JOIN blobs b ON b.hash = d.content_hash \
             WHERE b.hash IS NULL",
        )
        .await?;
        let ledger_entries = count(&mut tx, "SELECT COUNT(*) FROM ledger_entries").await?;
        let sales_invoices = count(&mut tx, "SELECT COUNT(*) FROM sales_invoices").await?;
        let users = count(&mut tx, "SELECT COUNT(*) FROM users").await?;
        tx.rollback("counting the store").await?;
        Ok(Census {
            documents,
            blobs,
            documents_without_file,
            ledger_entries,
            sales_invoices,
            users,
            chain: self.verify_chain().await?,
        })
    }
}

async fn count(tx: &mut Tx, query: &'static str) -> Result<i64, StoreError> {
    Ok(sql(query)
        .scalar::<i64>(tx, "counting the store")
        .await?
        .unwrap_or(0))
}

/// Writes a consistent snapshot of the store at `url` to `out` (never overwritten); returns its
/// size in bytes.
pub async fn take(url: &str, out: &Path) -> Result<u64, BackupError> {
    let backend = Backend::of_url(url)?;
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
    }
    let partial = partial_name(out);
    // A `.partial` file is what an earlier crash left: never a backup.
    let _ = std::fs::remove_file(&partial);
    match backend {
        Backend::Sqlite => sqlite_snapshot(url, &partial).await?,
        Backend::Postgres => {
            run_tool(
                "pg_dump",
                Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(&partial)
                    .arg("--dbname")
                    .arg(url),
            )
            .await?
        }
    }
    let file = std::fs::File::open(&partial).map_err(|e| BackupError::io(&partial, e))?;
    file.sync_all().map_err(|e| BackupError::io(&partial, e))?;
    let size = file
        .metadata()
        .map_err(|e| BackupError::io(&partial, e))?
        .len();
    std::fs::rename(&partial, out).map_err(|e| BackupError::io(out, e))?;
    Ok(size)
}

/// Restores the backup `file` into the empty store at `url`, then opens it (applying the
/// migrations a newer facteur has) and counts what came back.
pub async fn restore(file: &Path, url: &str) -> Result<Census, BackupError> {
    let found = Backend::of_file(file)?;
    let into = Backend::of_url(url)?;
    if found != into {
        return Err(BackupError::WrongBackend {
            file: file.to_path_buf(),
            found,
            into,
        });
    }
    match into {
        Backend::Sqlite => restore_sqlite(file, url).await?,
        Backend::Postgres => {
            refuse_non_empty_pg(url).await?;
            run_tool(
                "pg_restore",
                Command::new("pg_restore")
                    .args([
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        "--dbname",
                    ])
                    .arg(url)
                    .arg(file),
            )
            .await?;
        }
    }
    let store = super::open(url, 2).await?;
    Ok(store.census().await?)
}

fn partial_name(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn sqlite_options(url: &str) -> Result<sqlx::sqlite::SqliteConnectOptions, BackupError> {
    use std::str::FromStr as _;
    sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| {
        BackupError::Store(StoreError::Open {
            url: url.to_string(),
            why: e.to_string(),
        })
    })
}

async fn sqlite_snapshot(url: &str, partial: &Path) -> Result<(), BackupError> {
    use sqlx::ConnectOptions as _;
    let opts = sqlite_options(url)?.busy_timeout(std::time::Duration::from_secs(30));
    let file = opts.get_filename().to_path_buf();
    if !file.is_file() {
        return Err(BackupError::Io {
            path: file,
            why: "no database here: check database.url (or FACTEUR_DATABASE__URL)".into(),
        });
    }
    let mut conn = opts
        .connect()
        .await
        .map_err(|e| BackupError::io(&file, std::io::Error::other(e)))?;
    let target = partial.to_str().ok_or_else(|| BackupError::Io {
        path: partial.to_path_buf(),
        why: "the path is not valid UTF-8".into(),
    })?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(|e| BackupError::Tool {
            tool: "VACUUM INTO",
            why: e.to_string(),
        })?;
    Ok(())
}

async fn restore_sqlite(file: &Path, url: &str) -> Result<(), BackupError> {
    use sqlx::ConnectOptions as _;
    let opts = sqlite_options(url)?;
    let target = opts.get_filename().to_path_buf();
    if target.exists() {
        // An existing file is accepted only when no table holds a row (a store opened once).
        let mut conn = opts
            .clone()
            .read_only(true)
            .connect()
            .await
            .map_err(|e| BackupError::io(&target, std::io::Error::other(e)))?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| BackupError::io(&target, std::io::Error::other(e)))?;
        for t in tables {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{t}\""))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| BackupError::io(&target, std::io::Error::other(e)))?;
            if rows > 0 {
                return Err(BackupError::NotEmpty {
                    url: url.to_string(),
                    what: format!("table {t} has {rows} rows"),
                    hint: "restore to a new file: --into sqlite://PATH/restored.db".into(),
                });
            }
        }
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = target.as_os_str().to_owned();
            p.push(suffix);
            match std::fs::remove_file(PathBuf::from(&p)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(BackupError::io(Path::new(&p), e))
                }
                _ => {}
            }
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
    }
    let partial = partial_name(&target);
    std::fs::copy(file, &partial).map_err(|e| BackupError::io(&partial, e))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| BackupError::io(&partial, e))?;
    std::fs::rename(&partial, &target).map_err(|e| BackupError::io(&target, e))?;
    Ok(())
}

/// pg_restore creates every table: the database must have none in its schema yet.
async fn refuse_non_empty_pg(url: &str) -> Result<(), BackupError> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| {
        BackupError::Store(StoreError::Open {
            url: super::postgres::redact(url),
            why: e.to_string(),
        })
    })?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
         ORDER BY tablename",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| BackupError::Tool {
        tool: "PostgreSQL",
        why: e.to_string(),
    })?;
    if tables.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = tables.iter().take(4).map(String::as_str).collect();
    Err(BackupError::NotEmpty {
        url: super::postgres::redact(url),
        what: format!("{} tables already, e.g. {}", tables.len(), shown.join(", ")),
        hint: "create a new database (`createdb facteur_restored`) and restore into it with \
               --into postgres://…/facteur_restored"
            .into(),
    })
}

async fn run_tool(tool: &'static str, cmd: &mut Command) -> Result<(), BackupError> {
    let out = cmd.output().await.map_err(|e| BackupError::Tool {
        tool,
        why: format!("cannot start it ({e}); install postgresql-client"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool {
            tool,
            why: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}
