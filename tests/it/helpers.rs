//! Shared test helpers: a fresh store on each backend, generated invoice PDFs, waiting.
//!
//! PostgreSQL tests create their own database on the server named by `FACTEUR_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, which `scripts/test` starts) and drop it
//! when the guard is dropped, so tests run in parallel and leave nothing behind.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use facteur::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn pg_admin_url() -> String {
    std::env::var("FACTEUR_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database; removed on drop.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("facteur.db").display());
                TestDb {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("facteur_test_{}", uuid::Uuid::new_v4().simple());
                let admin = pg_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is needed (scripts/test starts it): {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(b, _)| b)
                    .to_string();
                TestDb {
                    backend,
                    url: format!("{base}/{name}"),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        facteur::store::open(&self.url, 8)
            .await
            .expect("open store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = pg_admin_url();
        // Drop runs outside any runtime we may block on: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Runs one statement straight on the test database, as a person with database access (or
/// another process) would; the database's own refusal comes back as the error.
pub async fn try_exec(db: &TestDb, statements: &str) -> Result<u64, String> {
    use sqlx::Connection;
    // One connection, statement after statement: a BEGIN … COMMIT holds across them.
    let each = statements
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut affected = 0;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            for s in each {
                let r = sqlx::query(s).execute(&mut c).await;
                affected += r.map_err(|e| e.to_string())?.rows_affected();
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            for s in each {
                let r = sqlx::query(s).execute(&mut c).await;
                affected += r.map_err(|e| e.to_string())?.rows_affected();
            }
        }
    }
    Ok(affected)
}

/// Runs one test body against both backends: `both_backends!(name, |db| async move { … })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::helpers::TestDb::new($crate::helpers::Backend::Sqlite).await;
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let db = $crate::helpers::TestDb::new($crate::helpers::Backend::Postgres).await;
                ($body)(db).await;
            }
        }
    };
}

/// A one-page French invoice PDF with a real text layer (Helvetica), distinct per `number`.
pub fn invoice_pdf(number: &str, net: &str, tax: &str, gross: &str) -> Vec<u8> {
    invoice_pdf_from("ACME Fournitures SARL", number, net, tax, gross)
}

/// The same invoice from a supplier named `supplier` (its first line).
pub fn invoice_pdf_from(
    supplier: &str,
    number: &str,
    net: &str,
    tax: &str,
    gross: &str,
) -> Vec<u8> {
    let lines = [
        supplier.to_string(),
        "12 rue des Lilas, 75011 Paris".to_string(),
        "TVA intracommunautaire : FR44732829320".to_string(),
        "SIRET : 73282932000074".to_string(),
        String::new(),
        format!("FACTURE N\u{b0} {number}"),
        "Date de facture : 12/03/2026".to_string(),
        "Date d'echeance : 11/04/2026".to_string(),
        "Client : Boulangerie Martin".to_string(),
        String::new(),
        "Designation                 Qte   Prix unitaire HT   Total HT".to_string(),
        format!("Ramettes papier A4          10    {net}"),
        String::new(),
        format!("Total HT : {net} EUR"),
        format!("TVA 20 % : {tax} EUR"),
        format!("Total TTC : {gross} EUR"),
        "IBAN : FR76 3000 6000 0112 3456 7890 189".to_string(),
    ];
    let mut content = String::from("BT /F1 11 Tf 14 TL 56 780 Td\n");
    for l in &lines {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        // `T* (…) Tj`, not the equivalent `'` operator, which pdf-extract 0.12 ignores.
        content.push_str(&format!("T* ({esc}) Tj\n"));
    }
    content.push_str("ET\n");
    let content: Vec<u8> = content
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    facteur::testing::one_page_pdf(&content)
}

/// The n-th generated test invoice: distinct bytes, consistent totals.
pub fn nth_invoice(n: usize) -> Vec<u8> {
    let net = rust_decimal::Decimal::new(10_000 + n as i64 * 137, 2);
    let tax = (net * rust_decimal::Decimal::new(20, 2)).round_dp(2);
    invoice_pdf(
        &format!("F-2026-{n:05}"),
        &net.to_string(),
        &tax.to_string(),
        &(net + tax).to_string(),
    )
}

/// Polls `check` until it returns true or `timeout` passes; returns whether it did.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    check().await
}

/// A port of 127.0.0.1 nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

/// Every file below `dir`, recursively.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn corpus() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
}

pub fn facteur_bin() -> &'static str {
    env!("CARGO_BIN_EXE_facteur")
}

/// Asserts that the ISO 20022 schema `xsd` (a file name under ~/.cache/facteur, which
/// scripts/setup fills) accepts `file`, with Python's xmlschema: an independent check.
pub fn assert_schema_valid(xsd: &str, file: &Path) {
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
    let xsd = cache.join("facteur").join(xsd);
    assert!(
        xsd.exists(),
        "{} is missing: run scripts/setup",
        xsd.display()
    );
    let check = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(&xsd)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{} refused by {}: {}",
        file.display(),
        xsd.display(),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// What a command printed, stdout then stderr (for messages and failures).
pub fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
