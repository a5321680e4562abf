//! `facteur backup` and `facteur restore` on both backends (issue 15): a snapshot taken while a
//! writer keeps adding documents and ledger entries holds a consistent prefix of them, comes back
//! whole into an empty store (every document with its file, the hash chain verified), and the
//! restored store takes new work; a restore never goes into a store that holds anything, nor
//! across backends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use facteur::domain::{Currency, Origin, RawDocument};
use facteur::ledger::entry::{Auxiliary, EntryBody, Journal, Line, NewEntry};
use facteur::ledger::AccountNumber;
use facteur::store::backup::{self, BackupError};
use facteur::store::ledger::ChainCheck;
use facteur::store::Store;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

fn raw(n: usize) -> RawDocument {
    RawDocument {
        bytes: format!("%PDF-1.4 backup test document {n}").into_bytes(),
        name: format!("doc-{n}.pdf"),
        origin: Origin::Folder {
            source: "inbox".into(),
            path: format!("inbox/doc-{n}.pdf"),
        },
    }
}

fn entry(n: usize) -> NewEntry {
    let acc = |a: &str| AccountNumber::parse(a).unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 1 + (n % 28) as u32).unwrap();
    let key = format!("BK-{n}");
    NewEntry::new(
        EntryBody {
            journal: Journal::Purchases,
            date: day,
            label: format!("ACME {key}"),
            piece_ref: key.clone(),
            piece_date: day,
            currency: Currency::EUR,
            document: None,
            reverses: None,
            lines: vec![
                Line::debit(acc("606"), &key, dec!(100)),
                Line::debit(acc("44566"), &key, dec!(20)),
                Line::credit(acc("401"), &key, dec!(120)).with_auxiliary(Auxiliary::of(
                    'F',
                    "732829320",
                    "ACME",
                )),
            ],
        },
        &key,
    )
    .unwrap()
}

/// Adds document n and entry n until told to stop; returns how many of each it wrote.
async fn writer(store: Arc<dyn Store>, from: usize, stop: Arc<AtomicBool>) -> usize {
    let mut n = from;
    while !stop.load(Ordering::SeqCst) {
        store.intake(&raw(n)).await.unwrap();
        store.post_entry(&entry(n), 1).await.unwrap();
        n += 1;
    }
    n - from
}

both_backends!(
    a_backup_taken_while_writing_restores_whole,
    |db: TestDb| async move {
        let store = db.store().await;
        for n in 0..20 {
            store.intake(&raw(n)).await.unwrap();
            store.post_entry(&entry(n), 1).await.unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let busy = tokio::spawn(writer(Arc::clone(&store), 20, Arc::clone(&stop)));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let file = db.dir.path().join("facteur.backup");
        let size = backup::take(&db.url, &file).await.unwrap();
        assert!(size > 0);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        stop.store(true, Ordering::SeqCst);
        let written = busy.await.unwrap();
        assert!(
            written > 0,
            "the writer must have been writing during the backup"
        );
        let live = store.census().await.unwrap();
        assert_eq!(live.documents as usize, 20 + written);

        // A second backup never overwrites the first.
        match backup::take(&db.url, &file).await {
            Err(BackupError::Exists(p)) => assert_eq!(p, file),
            other => panic!("{other:?}"),
        }

        let target = TestDb::new(db.backend).await;
        let restored = backup::restore(&file, &target.url).await.unwrap();
        // A snapshot: some of what the writer added, and for each document its entry (the writer
        // adds them in this order, so at most one entry is behind).
        assert!(restored.documents >= 20, "{restored:?}");
        assert!(
            restored.documents <= live.documents,
            "{restored:?} {live:?}"
        );
        assert!(
            restored.ledger_entries == restored.documents
                || restored.ledger_entries == restored.documents - 1,
            "{restored:?}"
        );
        assert_eq!(restored.documents_without_file, 0);
        assert_eq!(restored.blobs, restored.documents);
        assert_eq!(
            restored.chain,
            ChainCheck::Holds {
                entries: restored.ledger_entries as u64
            }
        );

        // The restored store takes new work where the old one stopped.
        let again = target.store().await;
        let next = restored.documents as usize + 1000;
        again.intake(&raw(next)).await.unwrap();
        again.post_entry(&entry(next), 1).await.unwrap();
        let after = again.census().await.unwrap();
        assert_eq!(after.documents, restored.documents + 1);
        assert!(matches!(after.chain, ChainCheck::Holds { .. }));

        // Never into a store that holds something.
        match backup::restore(&file, &target.url).await {
            Err(BackupError::NotEmpty { .. }) => {}
            other => panic!("{other:?}"),
        }
        // Never across backends.
        let other = TestDb::new(match db.backend {
            Backend::Sqlite => Backend::Postgres,
            Backend::Postgres => Backend::Sqlite,
        })
        .await;
        match backup::restore(&file, &other.url).await {
            Err(BackupError::WrongBackend { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
);

/// Through the real binary: `facteur backup --out`, then `facteur restore FILE --into URL`
/// prints the census and exits 0.
#[test]
fn the_cli_backs_up_and_restores_a_workspace() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, target) = rt.block_on(async {
        let db = TestDb::new(Backend::Sqlite).await;
        let store = db.store().await;
        for n in 0..3 {
            store.intake(&raw(n)).await.unwrap();
            store.post_entry(&entry(n), 1).await.unwrap();
        }
        (db, TestDb::new(Backend::Sqlite).await)
    });
    let config = db.dir.path().join("facteur.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{}\"\n", db.url)).unwrap();
    let file = db.dir.path().join("nightly.backup");
    let out = std::process::Command::new(crate::helpers::facteur_bin())
        .arg("--config")
        .arg(&config)
        .args(["backup", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::helpers::said(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written"));
    let out = std::process::Command::new(crate::helpers::facteur_bin())
        .arg("--config")
        .arg(&config)
        .arg("restore")
        .arg(&file)
        .args(["--into", &target.url])
        .output()
        .unwrap();
    let said = crate::helpers::said(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("documents        3"), "{said}");
    assert!(said.contains("holds over 3 entries"), "{said}");
    // The workspace's own store is not empty: restoring into it is refused, with the way out.
    let out = std::process::Command::new(crate::helpers::facteur_bin())
        .arg("--config")
        .arg(&config)
        .arg("restore")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(crate::helpers::said(&out).contains("not empty"));
}
