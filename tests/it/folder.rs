//! The drop-folder source end to end, on both backends: 200 files (some written slowly), the same
//! 200 again, a worker killed with SIGKILL mid-batch, and bad input that must fail alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use facteur::config::IntakeSettings;
use facteur::domain::ContentHash;
use facteur::domain::DocumentState;
use facteur::sources::folder::{FolderConfig, FolderSource, WatchMode};
use facteur::sources::{Source, SourceContext};
use facteur::store::Store;
use tokio_util::sync::CancellationToken;

use crate::both_backends;
use crate::helpers::*;

pub(crate) fn folder_config(inbox: &Path) -> FolderConfig {
    FolderConfig {
        name: "inbox".into(),
        path: inbox.to_path_buf(),
        recursive: false,
        watch: WatchMode::Notify,
        poll_interval_secs: 1,
        stable_secs: 1,
        ignore: vec![],
        processed_dir: Some(inbox.join("processed")),
        failed_dir: Some(inbox.join("failed")),
    }
}

pub(crate) fn start_source(
    store: Arc<dyn Store>,
    cfg: FolderConfig,
    max_mb: u64,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let ctx = SourceContext {
        store,
        intake: IntakeSettings {
            max_document_mb: max_mb,
        },
        worker_id: "test".into(),
        shutdown: shutdown.clone(),
    };
    let handle = tokio::spawn(async move {
        Box::new(FolderSource::new(cfg))
            .run(ctx)
            .await
            .expect("source runs");
    });
    (shutdown, handle)
}

/// Files directly in the inbox (not in processed/ or failed/).
fn pending(inbox: &Path) -> usize {
    std::fs::read_dir(inbox)
        .map(|rd| rd.flatten().filter(|e| e.path().is_file()).count())
        .unwrap_or(0)
}

/// Writes 150 files at once and 50 slowly, in 5 chunks 300 ms apart (inside the 1 s stability
/// window, so a half-written file must not be taken).
async fn drop_200(inbox: &Path) -> Vec<Vec<u8>> {
    let all: Vec<Vec<u8>> = (0..200).map(nth_invoice).collect();
    for (i, bytes) in all.iter().enumerate().take(150) {
        std::fs::write(inbox.join(format!("facture-{i:03}.pdf")), bytes).unwrap();
    }
    let slow: Vec<(PathBuf, Vec<u8>)> = all
        .iter()
        .enumerate()
        .skip(150)
        .map(|(i, b)| (inbox.join(format!("facture-{i:03}.pdf")), b.clone()))
        .collect();
    for chunk in 0..5 {
        for (path, bytes) in &slow {
            use std::io::Write;
            let part = bytes.len().div_ceil(5);
            let piece =
                &bytes[(chunk * part).min(bytes.len())..((chunk + 1) * part).min(bytes.len())];
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            f.write_all(piece).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    all
}

both_backends!(two_hundred_files_exactly_once, |db: TestDb| async move {
    let store = db.store().await;
    let inbox = db.dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let (stop, handle) = start_source(store.clone(), folder_config(&inbox), 100);
    let originals = drop_200(&inbox).await;
    let done = wait_until(Duration::from_secs(60), || async {
        pending(&inbox) == 0 && store.counts().await.unwrap().documents == 200
    })
    .await;
    let counts = store.counts().await.unwrap();
    assert!(
        done,
        "200 documents expected, got {} with {} files pending",
        counts.documents,
        pending(&inbox)
    );
    assert_eq!(counts.arrivals, 200);
    assert_eq!(
        files_below(&inbox.join("processed")).len(),
        200,
        "every file filed in processed/"
    );
    // No half-written file was taken: every original's hash is a stored document.
    for bytes in &originals {
        let blob = store
            .blob(&ContentHash::of(bytes))
            .await
            .expect("the complete bytes were stored");
        assert_eq!(blob.len(), bytes.len());
    }

    // The same 200 again: no new document, 200 recorded re-arrivals.
    for (i, bytes) in originals.iter().enumerate() {
        std::fs::write(inbox.join(format!("again-{i:03}.pdf")), bytes).unwrap();
    }
    let done = wait_until(Duration::from_secs(60), || async {
        store.counts().await.unwrap().arrivals == 400
    })
    .await;
    assert!(
        done,
        "re-arrivals not all recorded: {:?}",
        store.counts().await.unwrap()
    );
    assert_eq!(store.counts().await.unwrap().documents, 200);
    assert!(wait_until(Duration::from_secs(10), || async { pending(&inbox) == 0 }).await);
    stop.cancel();
    handle.await.unwrap();
});

both_backends!(bad_input_fails_alone, |db: TestDb| async move {
    let store = db.store().await;
    let root = db.dir.path().join("drop");
    let inbox = root.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("empty.pdf"), b"").unwrap();
    std::fs::write(inbox.join("word.pdf"), b"PK\x03\x04 this is a docx").unwrap();
    std::fs::write(inbox.join("big.pdf"), vec![b'%'; 2 * 1024 * 1024]).unwrap();
    let jpeg = std::fs::read(corpus().join("invoice2data/oyo.png")).unwrap();
    std::fs::write(inbox.join("scan-renamed.pdf"), &jpeg).unwrap();
    std::fs::write(inbox.join("good.pdf"), nth_invoice(7)).unwrap();
    for ignored in ["~$lock.pdf", ".hidden.pdf", "upload.part", "Thumbs.db"] {
        std::fs::write(inbox.join(ignored), b"%PDF-1.4 ignored").unwrap();
    }
    let (stop, handle) = start_source(store.clone(), folder_config(&inbox), 1);
    let failed_dir = inbox.join("failed");
    let settled = wait_until(Duration::from_secs(30), || async {
        store.counts().await.unwrap().documents == 2 && files_below(&failed_dir).len() == 6
    })
    .await;
    assert!(
        settled,
        "documents {:?}, failed/ {:?}",
        store.counts().await.unwrap(),
        files_below(&failed_dir)
    );
    let reason = |name: &str| {
        std::fs::read_to_string(failed_dir.join(format!("{name}.reason.txt"))).unwrap()
    };
    assert!(reason("empty.pdf").contains("empty file"));
    assert!(reason("word.pdf").contains("unsupported file type"));
    assert!(reason("big.pdf").contains("over the 1 MiB limit"));
    for ignored in ["~$lock.pdf", ".hidden.pdf", "upload.part", "Thumbs.db"] {
        assert!(inbox.join(ignored).exists(), "{ignored} must be left alone");
    }

    // The folder disappears: the source logs and keeps going; it comes back: files are taken again.
    std::fs::rename(&inbox, root.join("gone")).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !handle.is_finished(),
        "the source survives a missing folder"
    );
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("after.pdf"), nth_invoice(8)).unwrap();
    let back = wait_until(Duration::from_secs(30), || async {
        store.counts().await.unwrap().documents == 3
    })
    .await;
    assert!(back, "a file dropped after the folder came back is taken");
    stop.cancel();
    handle.await.unwrap();
});

fn write_config(dir: &Path, db_url: &str, inbox: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(
        dir.join("facteur.toml"),
        format!(
            "[database]\nurl = \"{db_url}\"\n[worker]\nconcurrency = 2\nlease_secs = 5\npoll_interval_ms = 100\n\
             [read]\nsandbox_workers = 2\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/inbox.toml"),
        format!("[[source]]\ntype = \"folder\"\nname = \"inbox\"\npath = \"{}\"\nstable_secs = 1\npoll_interval_secs = 1\n", inbox.display()),
    )
    .unwrap();
    dir.join("facteur.toml")
}

fn spawn_worker(config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(facteur_bin())
        .args([
            "--config",
            &config.display().to_string(),
            "--log-format",
            "json",
            "run",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start facteur run")
}

both_backends!(
    sigkill_mid_batch_loses_and_doubles_nothing,
    |db: TestDb| async move {
        let store = db.store().await;
        let inbox = db.dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let config = write_config(db.dir.path(), &db.url, &inbox);
        for i in 0..200 {
            std::fs::write(inbox.join(format!("f{i:03}.pdf")), nth_invoice(1000 + i)).unwrap();
        }
        let mut worker = spawn_worker(&config, &db.dir.path().join("run1.log"));
        let started = wait_until(Duration::from_secs(60), || async {
            store.counts().await.unwrap().documents >= 40
        })
        .await;
        assert!(started, "the worker took no files: see run1.log");
        worker.kill().expect("SIGKILL");
        worker.wait().unwrap();
        let at_kill = store.counts().await.unwrap();
        assert!(
            at_kill.documents < 200,
            "killed too late to test anything: {at_kill:?}"
        );

        let mut worker = spawn_worker(&config, &db.dir.path().join("run2.log"));
        let finished = wait_until(Duration::from_secs(120), || async {
            let c = store.counts().await.unwrap();
            c.documents == 200
                && c.jobs("queued") == 0
                && c.jobs("running") == 0
                && pending(&inbox) == 0
        })
        .await;
        let _ = Command::new("kill")
            .args(["-TERM", &worker.id().to_string()])
            .status();
        let graceful = wait_until(Duration::from_secs(40), || {
            let exited = worker.try_wait().ok().flatten().is_some();
            async move { exited }
        })
        .await;
        let c = store.counts().await.unwrap();
        assert!(
            finished,
            "not finished after restart: {c:?}, {} pending",
            pending(&inbox)
        );
        assert_eq!(c.documents, 200, "exactly 200 documents");
        assert!(
            c.arrivals >= 200 && c.arrivals <= 202,
            "at most the in-flight file re-arrives: {}",
            c.arrivals
        );
        assert_eq!(files_below(&inbox.join("processed")).len(), 200);
        assert_eq!(c.jobs("queued") + c.jobs("running"), 0, "none stuck: {c:?}");
        for d in store.list_documents(None, 500).await.unwrap() {
            let jobs = store.document(d.id).await.unwrap().jobs;
            let of = |stage: &str| jobs.iter().filter(|j| j.stage == stage).count();
            assert_eq!(
                (of("read"), of("dedupe") <= 1),
                (1, true),
                "one job per stage: document {} {:?} ({:?}): {jobs:?}",
                d.id,
                d.state,
                d.reason
            );
            assert_ne!(d.state, DocumentState::Failed, "{:?}", d.reason);
        }
        assert!(graceful, "SIGTERM stops the worker");
        let docs = store.list_documents(None, 500).await.unwrap();
        let numbers: std::collections::HashSet<_> = docs
            .iter()
            .filter_map(|d| d.invoice_number.clone())
            .collect();
        assert_eq!(
            numbers.len(),
            200,
            "every document read to its own invoice number: {:?}",
            c.by_state
        );
        if !graceful {
            let _ = worker.kill();
        }
    }
);

both_backends!(
    recursion_is_optional_and_skips_our_own_folders,
    |db: TestDb| async move {
        let store = db.store().await;
        let inbox = db.dir.path().join("inbox");
        std::fs::create_dir_all(inbox.join("2026/octobre")).unwrap();
        std::fs::write(inbox.join("top.pdf"), nth_invoice(1)).unwrap();
        std::fs::write(inbox.join("2026/octobre/deep.pdf"), nth_invoice(2)).unwrap();

        // Not recursive: only the top file.
        let (stop, handle) = start_source(store.clone(), folder_config(&inbox), 100);
        assert!(
            wait_until(Duration::from_secs(20), || async {
                store.counts().await.unwrap().documents == 1
            })
            .await
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            store.counts().await.unwrap().documents,
            1,
            "subfolders are not taken by default"
        );
        stop.cancel();
        handle.await.unwrap();

        // Recursive: the deep file too; processed/ (now holding top.pdf) is never taken again.
        let cfg = FolderConfig {
            recursive: true,
            ..folder_config(&inbox)
        };
        let (stop, handle) = start_source(store.clone(), cfg, 100);
        assert!(
            wait_until(Duration::from_secs(20), || async {
                store.counts().await.unwrap().documents == 2
            })
            .await
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let c = store.counts().await.unwrap();
        assert_eq!(
            (c.documents, c.arrivals),
            (2, 2),
            "nothing in processed/ re-read"
        );
        assert!(!inbox.join("2026/octobre/deep.pdf").exists());
        stop.cancel();
        handle.await.unwrap();
    }
);
