//! `facteur bench dedupe`: how long one duplicate check's look-ups take as the number of checked
//! invoices grows (1 k, 100 k, 1 M), on SQLite and on PostgreSQL, p50 and p99 over random probes.
//! The look-ups must stay indexed (flat as N grows): that is what this prints.
//!
//! Seeding goes through SQL set operations (a recursive CTE on SQLite, generate_series on
//! PostgreSQL), not through the pipeline: 1 M readings would take hours and measure the reader.
//! Invoices are spread over 5,000 suppliers and one year, so a probe's supplier has ~200 invoices
//! a year and its 61-day window ~33 of them.

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;

use crate::dedupe::keys::{exact_key, ocr_key};
use crate::dedupe::rules::Candidate;
use crate::dedupe::supplier::SupplierKeys;
use crate::domain::{Currency, DocType, DocumentId};
use crate::store::Store;

/// Suppliers the seeded invoices are spread over.
pub const SUPPLIERS: u64 = 5_000;
/// Probes timed per size and backend.
const PROBES: usize = 1_000;

/// The SQL that seeds `n` checked invoices into an empty store, per backend.
pub fn seed_sql(postgres: bool, n: u64) -> Vec<String> {
    let series = if postgres {
        format!("SELECT i FROM generate_series(1, {n}) AS s(i)")
    } else {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
             SELECT i FROM s"
        )
    };
    let (now, day, gross, flag) = if postgres {
        (
            "now()",
            "DATE '2026-01-01' + CAST(i % 365 AS INTEGER)",
            "CAST(i % 1000 AS NUMERIC) + 0.99",
            "FALSE",
        )
    } else {
        (
            "'2026-11-30T00:00:00Z'",
            "date('2026-01-01', '+' || (i % 365) || ' days')",
            "CAST(i % 1000 AS TEXT) || '.99'",
            "0",
        )
    };
    vec![
        format!(
            "INSERT INTO blobs (hash, size, bytes, created_at) \
             SELECT 'seed-' || i, 0, {bytes}, {now} FROM ({series}) q",
            bytes = if postgres { "'\\x'::bytea" } else { "x''" }
        ),
        format!(
            "INSERT INTO documents (id, content_hash, file_name, source, origin, state, \
             received_at, updated_at) SELECT i, 'seed-' || i, 'seed.pdf', 'bench', '{{}}', \
             'pending_approval', {now}, {now} FROM ({series}) q"
        ),
        format!(
            "INSERT INTO dedupe_keys (document_id, doc_type, structured, number, exact_key, \
             ocr_key, issue_date, gross, currency, supplier_vat, supplier_name) \
             SELECT i, 'invoice', {flag}, 'INV-' || i, 'INV' || i, '1NV' || i, {day}, {gross}, \
             'EUR', 'FR' || (i % {SUPPLIERS}), 'SUPPLIER ' || (i % {SUPPLIERS}) FROM ({series}) q"
        ),
    ]
}

/// A probe that looks like seeded invoice `i` of supplier `i % SUPPLIERS`.
pub fn probe(i: u64) -> Candidate {
    let number = format!("INV-{i}");
    Candidate {
        document: DocumentId(-1),
        doc_type: DocType::Invoice,
        structured: false,
        exact_key: Some(exact_key(&number)),
        ocr_key: Some(ocr_key(&number)),
        number: Some(number),
        issue_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .map(|d| d + chrono::Duration::days((i % 365) as i64)),
        gross: Some(rust_decimal::Decimal::new((i % 1000) as i64 * 100 + 99, 2)),
        currency: Some(Currency::EUR),
        supplier: SupplierKeys {
            vat_id: Some(format!("FR{}", i % SUPPLIERS)),
            name: Some(format!("SUPPLIER {}", i % SUPPLIERS)),
            ..SupplierKeys::default()
        },
        preceding: Vec::new(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Times `PROBES` look-ups on a seeded store of `n` invoices: (p50, p99, mean candidates).
async fn measure(store: &dyn Store, n: u64) -> anyhow::Result<(Duration, Duration, f64)> {
    let mut rng = rand::thread_rng();
    let mut times = Vec::with_capacity(PROBES);
    let mut found = 0usize;
    for _ in 0..PROBES {
        let p = probe(rng.gen_range(1..=n));
        let t = Instant::now();
        found += store.duplicate_candidates(&p, 30).await?.len();
        times.push(t.elapsed());
    }
    times.sort();
    Ok((
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        found as f64 / PROBES as f64,
    ))
}

/// Seeds a fresh store through its own connection.
async fn seed(url: &str, n: u64) -> anyhow::Result<()> {
    let postgres = url.starts_with("postgres");
    if postgres {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
        for q in seed_sql(true, n) {
            sqlx::query(&q).execute(&mut c).await?;
        }
        sqlx::query("ANALYZE").execute(&mut c).await?;
    } else {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await?;
        for q in seed_sql(false, n) {
            sqlx::query(&q).execute(&mut c).await?;
        }
        sqlx::query("ANALYZE").execute(&mut c).await?;
    }
    Ok(())
}

/// Creates an empty PostgreSQL database for one size, dropped after.
async fn pg_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut c)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

pub async fn run(sizes: &[u64], pg_admin: Option<&str>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("temp dir for the SQLite stores")?;
    println!("duplicate look-ups per check ({PROBES} random probes per row; indexed keys)\n");
    println!(
        "{:<11} {:>10} {:>10} {:>10} {:>11} {:>9}",
        "backend", "invoices", "seed s", "p50 ms", "p99 ms", "found"
    );
    for &n in sizes {
        let mut targets = vec![(
            "sqlite",
            format!(
                "sqlite://{}",
                dir.path().join(format!("bench-{n}.db")).display()
            ),
        )];
        if let Some(admin) = pg_admin {
            match pg_database(admin, &format!("facteur_bench_dedupe_{n}")).await {
                Ok(url) => targets.push(("postgresql", url)),
                Err(e) => println!("postgresql: skipped ({e})"),
            }
        }
        for (backend, url) in targets {
            let store = crate::store::open(&url, 2).await?;
            let t = Instant::now();
            seed(&url, n)
                .await
                .with_context(|| format!("seeding {n} invoices on {backend}"))?;
            let seeded = t.elapsed();
            let (p50, p99, found) = measure(store.as_ref(), n).await?;
            println!(
                "{backend:<11} {n:>10} {:>10.1} {:>10.3} {:>11.3} {found:>9.1}",
                seeded.as_secs_f64(),
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
            );
        }
    }
    println!("\nfound: mean earlier invoices returned per probe (the probe's own number and its");
    println!("supplier's invoices within 30 days). Target: p99 < 2 ms at 1 M, flat as N grows.");
    super::dedupe_set::run();
    Ok(())
}
