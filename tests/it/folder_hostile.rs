//! The drop folder against hostile or failing file systems, on both backends: symlinked
//! processed/ and reason files (nothing written outside), a second worker kept out by the folder
//! lease, and — in the real `facteur run` as an unprivileged user — a share error (EACCES) retried
//! instead of failing a good invoice, and a cross-device move whose delete fails backing off
//! without new arrivals or copies.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::both_backends;
use crate::folder::{folder_config, start_source};
use crate::helpers::*;

both_backends!(symlinked_folders_are_refused, |db: TestDb| async move {
    let store = db.store().await;
    let root = db.dir.path();
    let (inbox, outside) = (root.join("inbox"), root.join("outside"));
    std::fs::create_dir_all(inbox.join("failed")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, inbox.join("processed")).unwrap();
    let victim = root.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, inbox.join("failed/empty.pdf.reason.txt")).unwrap();
    std::fs::write(inbox.join("good.pdf"), nth_invoice(1)).unwrap();
    std::fs::write(inbox.join("empty.pdf"), b"").unwrap();

    let (stop, handle) = start_source(store.clone(), folder_config(&inbox), 100);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        files_below(&outside).is_empty(),
        "nothing filed through the processed/ symlink"
    );
    assert!(inbox.join("good.pdf").exists() && inbox.join("empty.pdf").exists());
    assert_eq!(store.counts().await.unwrap().documents, 0, "refused whole");

    // A real processed/ again: files are taken; the reason file never goes through the symlink.
    std::fs::remove_file(inbox.join("processed")).unwrap();
    let failed = inbox.join("failed");
    let done = wait_until(Duration::from_secs(30), || async {
        store.counts().await.unwrap().documents == 1
            && files_below(&inbox.join("processed")).len() == 1
            && failed.join("empty (2).pdf.reason.txt").exists()
    })
    .await;
    assert!(done, "failed/ holds {:?}", files_below(&failed));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(files_below(&outside).is_empty());
    stop.cancel();
    handle.await.unwrap();
});

both_backends!(
    a_second_worker_waits_for_the_lease,
    |db: TestDb| async move {
        let store = db.store().await;
        let inbox = db.dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let ttl = Duration::from_secs(60);
        assert!(store.try_lease("folder:inbox", "other", ttl).await.unwrap());
        std::fs::write(inbox.join("a.pdf"), nth_invoice(2)).unwrap();
        let (stop, handle) = start_source(store.clone(), folder_config(&inbox), 100);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            store.counts().await.unwrap().documents,
            0,
            "the folder belongs to the other worker"
        );
        assert!(inbox.join("a.pdf").exists());
        store.release_lease("folder:inbox", "other").await.unwrap();
        let taken = wait_until(Duration::from_secs(40), || async {
            store.counts().await.unwrap().documents == 1
        })
        .await;
        assert!(taken, "taken once the lease is free");
        stop.cancel();
        handle.await.unwrap();
    }
);

const NOBODY: u32 = 65534;

fn give(path: &Path, mode: u32) {
    std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `facteur run` as the unprivileged user `nobody` (root ignores file permissions).
fn spawn_as_nobody(config: &Path, log: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    Command::new(facteur_bin())
        .args(["--config", &config.display().to_string()])
        .args(["--log-format", "json", "run"])
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("start facteur run")
}

fn log_count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

both_backends!(
    run_binary_share_errors_are_retried_and_stuck_moves_back_off,
    |db: TestDb| async move {
        let store = db.store().await;
        let base = db.dir.path();
        for e in std::fs::read_dir(base).unwrap().flatten() {
            give(&e.path(), 0o644);
        }
        give(base, 0o755);
        // Inbox a: a good invoice nobody may read yet, as on a share whose permissions lag.
        let a = base.join("a");
        std::fs::create_dir(&a).unwrap();
        give(&a, 0o755);
        let late = a.join("late.pdf");
        std::fs::write(&late, nth_invoice(3)).unwrap();
        std::fs::set_permissions(&late, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Inbox b: processed/ on another file system, and the original cannot be deleted.
        let b = base.join("b");
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("stuck.pdf"), nth_invoice(4)).unwrap();
        let shm = tempfile::tempdir_in("/dev/shm").unwrap();
        give(shm.path(), 0o755);
        let failed_b = base.join("b-failed");
        std::fs::create_dir(&failed_b).unwrap();
        give(&failed_b, 0o755);
        std::fs::create_dir(base.join("pipelines")).unwrap();
        let config = base.join("facteur.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{}\"\n[worker]\nconcurrency = 1\nlease_secs = 5\n\
                 poll_interval_ms = 100\n[read]\nsandbox_workers = 1\n",
                db.url
            ),
        )
        .unwrap();
        std::fs::write(
            base.join("pipelines/drop.toml"),
            format!(
                "[[source]]\ntype = \"folder\"\nname = \"a\"\npath = \"{}\"\nstable_secs = 1\n\
                 poll_interval_secs = 1\n\n[[source]]\ntype = \"folder\"\nname = \"b\"\n\
                 path = \"{}\"\nstable_secs = 1\npoll_interval_secs = 1\nprocessed_dir = \"{}\"\n\
                 failed_dir = \"{}\"\n",
                a.display(),
                b.display(),
                shm.path().join("processed").display(),
                failed_b.display()
            ),
        )
        .unwrap();
        let log = base.join("run.log");
        let mut worker = spawn_as_nobody(&config, &log);
        // Once it was tried (or, without retries, already sent to failed/), the share recovers.
        let refused = wait_until(Duration::from_secs(60), || async {
            log_count(&log, "cannot read the file; retrying") > 0
                || !files_below(&a.join("failed")).is_empty()
        })
        .await;
        assert!(
            refused,
            "the unreadable file was tried: see {}",
            log.display()
        );
        std::fs::set_permissions(&late, std::fs::Permissions::from_mode(0o644)).unwrap();
        let done = wait_until(Duration::from_secs(60), || async {
            store.counts().await.unwrap().documents == 2
                && files_below(&a.join("processed")).len() == 1
        })
        .await;
        // Long enough for the old code to re-deliver the stuck file several times.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let c = store.counts().await.unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &worker.id().to_string()])
            .status();
        let _ = worker.wait();
        assert!(done, "late.pdf imported after the share error: {c:?}");
        assert!(
            files_below(&a.join("failed")).is_empty(),
            "a transient error does not fail a good invoice"
        );
        assert_eq!(c.arrivals, 2, "the stuck file is not committed again");
        assert!(
            files_below(&shm.path().join("processed")).is_empty(),
            "no copy left behind by a move whose delete failed"
        );
        assert!(b.join("stuck.pdf").exists());
        assert_eq!(
            log_count(&log, "cannot move to processed/"),
            1,
            "reported once"
        );
    }
);
