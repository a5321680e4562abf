//! Crash torture: invoices (generated text PDFs and a few scans, dropped into a watched folder
//! while the run goes on) flow through the whole pipeline (read → dedupe → automatic approval →
//! post) in real `facteur run` processes, 3 on PostgreSQL and 1 on SQLite, while a random worker
//! is SIGKILLed at random moments and restarted. At the end: every file is exactly one document
//! and was filed under processed/, every approved invoice is posted exactly once (one ledger
//! entry per document), the trial balance is zero, the hash chain verifies, entry numbers have no
//! gaps, no job is left running or dead, and no lease is left to a dead worker.
//!
//! The reduced form runs in the suite; `scripts/torture` runs the long one (1,000 documents and
//! 50 kills by default) through the same code, with FACTEUR_TORTURE_DOCUMENTS, _KILLS, _SCANS and
//! _SEED. The seed is printed: the same seed replays the same drops and kills (the timing of the
//! machine still varies). Mail is not fed here: tests/it/imap covers mail delivery and its crash
//! cases; this test drives the folder source only.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use facteur::bench::cluster::{Cluster, Database, Options};
use facteur::domain::DocumentState;
use facteur::store::ledger::ChainCheck;
use rand::{Rng, SeedableRng};

use crate::helpers::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The scans fed besides the text invoices (OCR in facteur-ocr children: slow in debug builds).
const SCANS: [&str; 5] = [
    "fax-netpresse.pdf",
    "multipage-free.tif",
    "rotated-netpresse.jpg",
    "scan-netpresse.pdf",
    "mixed-azure.pdf",
];

async fn torture(db: Database, workers: usize, documents: u64, kills: u64) {
    let documents = env_or("FACTEUR_TORTURE_DOCUMENTS", documents) as usize;
    let kills = env_or("FACTEUR_TORTURE_KILLS", kills);
    let scans = (env_or("FACTEUR_TORTURE_SCANS", 1) as usize).min(SCANS.len());
    let seed = env_or("FACTEUR_TORTURE_SEED", rand::random::<u32>() as u64);
    let label = match db {
        Database::Sqlite => "sqlite",
        Database::Postgres { .. } => "postgresql",
    };
    eprintln!(
        "torture {label}: seed {seed} ({workers} workers, {documents} text invoices + {scans} \
         scans, {kills} SIGKILLs); replay with FACTEUR_TORTURE_SEED={seed}"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Kept on failure (the worker logs say what happened); removed at the end of a success.
    let dir = tempfile::tempdir().unwrap().keep();
    let opts = Options {
        concurrency: 2,
        lease_secs: 10,
        suppliers: 20,
    };
    let mut cluster = Cluster::create(Path::new(facteur_bin()), &dir, &db, &opts)
        .await
        .unwrap();
    let store = cluster.store().await.unwrap();

    // Every file to feed, written aside first, then renamed into the folder batch by batch.
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let mut files = Vec::new();
    for n in 0..documents {
        let name = format!("invoice-{n:06}.pdf");
        std::fs::write(staging.join(&name), facteur::testing::stream_invoice(n, 20)).unwrap();
        files.push(name);
    }
    for s in &SCANS[..scans] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/scans")
            .join(s);
        std::fs::copy(from, staging.join(s)).unwrap();
        files.push(s.to_string());
    }
    // Scans arrive among the text invoices, not last.
    for i in (1..files.len()).rev() {
        files.swap(i, rng.gen_range(0..=i));
    }
    for i in 0..workers {
        cluster.start(i).unwrap();
    }

    let started = Instant::now();
    let batches = kills as usize + 1;
    let per_batch = files.len().div_ceil(batches);
    let mut fed = 0;
    for k in 0..batches {
        for name in files.iter().skip(fed).take(per_batch) {
            std::fs::rename(staging.join(name), cluster.inbox.join(name)).unwrap();
        }
        fed = (fed + per_batch).min(files.len());
        if k as u64 == kills {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..4_000))).await;
        let victim = rng.gen_range(0..workers);
        cluster.kill(victim).unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1_500))).await;
        cluster.start(victim).unwrap();
    }
    eprintln!(
        "torture {label}: all {} files fed and {kills} kills done in {:.0} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );

    // Quiet: every file a document, no job waiting or running (generous: a loaded machine,
    // debug builds, scans read by OCR, leases of killed workers to expire).
    let total = files.len() as i64;
    let quiet = wait_until(Duration::from_secs(900), || async {
        let c = store.counts().await.unwrap();
        c.documents == total && c.jobs("queued") == 0 && c.jobs("running") == 0
    })
    .await;
    let c = store.counts().await.unwrap();
    assert!(
        quiet,
        "seed {seed}: not quiet after 15 minutes: {} documents of {total}, by state {:?}, jobs {:?} \
         (worker logs in {})",
        c.documents,
        c.by_state,
        c.jobs_by_status,
        dir.display()
    );
    cluster.stop_all(Duration::from_secs(30));

    // Every file exactly one document, each filed under processed/, none refused.
    let processed = files_below(&cluster.inbox.join("processed")).len();
    let failed = files_below(&cluster.inbox.join("failed")).len();
    let left: Vec<_> = std::fs::read_dir(&cluster.inbox)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name())
        .collect();
    let docs = store
        .list_documents(None, total as u32 + 100)
        .await
        .unwrap();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for d in &docs {
        *by_name.entry(d.file_name.clone()).or_default() += 1;
    }
    let doubled: Vec<_> = by_name.iter().filter(|(_, n)| **n > 1).collect();

    // Every approved invoice posted once, the ledger whole.
    let entries = store.ledger_entries(None, None).await.unwrap();
    let mut per_doc: BTreeMap<i64, usize> = BTreeMap::new();
    let mut numbers: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
    for e in &entries {
        if let Some(d) = e.body.document {
            *per_doc.entry(d.0).or_default() += 1;
        }
        numbers
            .entry((format!("{:?}", e.body.journal), e.fiscal_year))
            .or_default()
            .push(e.number);
    }
    let posted_twice = per_doc.values().filter(|n| **n > 1).count();
    let gaps: usize = numbers
        .values_mut()
        .map(|v| {
            v.sort();
            v.iter()
                .enumerate()
                .filter(|(i, n)| **n != *i as i64 + 1)
                .count()
        })
        .sum();
    let balances = store.trial_balance(None).await.unwrap();
    let imbalance: rust_decimal::Decimal = balances.iter().map(|b| b.net()).sum();
    let chain = store.verify_chain().await.unwrap();
    let c = store.counts().await.unwrap();
    let posted = c.state(DocumentState::Posted);
    let owners = store.lease_owners().await.unwrap();
    let arrivals = c.arrivals;
    eprintln!(
        "torture {label} (seed {seed}): files {total}, documents {}, arrivals {arrivals}, \
         processed/ {processed}, failed/ {failed}, left in the folder {}, doubled {}; posted \
         {posted}, approved not posted {}, ledger entries {}, documents posted twice \
         {posted_twice}, number gaps {gaps}, trial balance {imbalance}, chain {chain:?}; jobs \
         {:?}; leases held {}; by state {:?}; {:.0} s",
        c.documents,
        left.len(),
        doubled.len(),
        c.state(DocumentState::Approved),
        entries.len(),
        c.jobs_by_status,
        owners.len(),
        c.by_state,
        started.elapsed().as_secs_f64()
    );
    let keep = |what: &str| format!("seed {seed}: {what} (workspace kept in {})", dir.display());
    assert_eq!(c.documents, total, "{}", keep("every file one document"));
    assert!(
        doubled.is_empty(),
        "{}: {doubled:?}",
        keep("a file became two documents")
    );
    assert_eq!(
        processed as i64,
        total,
        "{}",
        keep("every file filed under processed/")
    );
    assert_eq!(failed, 0, "{}", keep("no file refused"));
    assert!(
        left.is_empty(),
        "{}: {left:?}",
        keep("files left in the folder")
    );
    assert!(
        posted >= documents as i64,
        "{}",
        keep("every text invoice (trusted supplier) posted")
    );
    assert_eq!(
        c.state(DocumentState::Approved),
        0,
        "{}",
        keep("approved but not posted")
    );
    assert_eq!(
        per_doc.len() as i64,
        posted,
        "{}",
        keep("one ledger entry per posted document")
    );
    assert_eq!(posted_twice, 0, "{}", keep("a document posted twice"));
    assert_eq!(
        gaps,
        0,
        "{}: {numbers:?}",
        keep("entry numbers without gaps")
    );
    assert!(imbalance.is_zero(), "{}", keep("the trial balance is zero"));
    assert!(
        matches!(chain, ChainCheck::Holds { entries: n } if n == entries.len() as u64),
        "{}: {chain:?}",
        keep("the hash chain verifies")
    );
    assert_eq!(c.jobs("running"), 0, "{}", keep("no job left running"));
    assert_eq!(c.jobs("dead"), 0, "{}", keep("no job given up"));
    assert!(
        owners.is_empty(),
        "{}: {owners:?}",
        keep("no lease left held after a clean stop")
    );
    drop(store);
    cluster.finish().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_suppliers_have_valid_identifiers() {
    for i in 0..20 {
        let (_, vat, siret) = facteur::testing::nth_supplier(i);
        assert!(facteur::domain::VatId::parse(&vat).is_ok(), "{vat}");
        assert!(facteur::domain::Siret::parse(&siret).is_ok(), "{siret}");
    }
    assert_ne!(
        facteur::testing::nth_supplier(1).1,
        facteur::testing::nth_supplier(2).1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_one_worker_killed_and_restarted() {
    torture(Database::Sqlite, 1, 20, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_three_workers_killed_and_restarted() {
    torture(
        Database::Postgres {
            admin: pg_admin_url(),
        },
        3,
        30,
        6,
    )
    .await;
}
