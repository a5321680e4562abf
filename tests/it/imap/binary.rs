//! The IMAP source inside the real `facteur run` (the built binary, stage workers and all), against
//! Dovecot, on both backends: 200 messages with the throughput printed, a worker SIGKILLed mid-batch
//! then restarted, and two processes on one PostgreSQL database and one mailbox with the lease
//! handed over by a SIGTERM. Each run ends with SIGTERM and must exit cleanly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use facteur::store::Store;

use super::dovecot::Dovecot;
use super::{config_text, seed, waited, Backend, Db, Docs};

/// facteur.toml + pipelines/mail.toml in `dir`; `extra` is added to the `[[source]]` table.
pub(super) fn write_config(dir: &Path, dv: &Dovecot, db_url: &str, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(
        dir.join("facteur.toml"),
        format!(
            "[database]\nurl = \"{db_url}\"\n[worker]\nconcurrency = 1\nlease_secs = 5\n\
             poll_interval_ms = 100\n[read]\nsandbox_workers = 1\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/mail.toml"),
        format!("[[source]]\ntype = \"imap\"\n{}", config_text(dv, extra)),
    )
    .unwrap();
    dir.join("facteur.toml")
}

fn spawn(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_facteur"))
        .args(["--config", &config.display().to_string()])
        .args(["--log-format", "json", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("start facteur run")
}

/// Waits up to `secs` for `f`; on a timeout prints the end of each worker's log (the reason is
/// there, and the log is gone with the temporary directory) before failing.
async fn wait_for(what: &str, secs: u64, logs: &[&Path], f: impl AsyncFnMut() -> bool) {
    if waited(secs, f).await {
        return;
    }
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("--- last lines of {} ---", log.display());
        for l in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{l}");
        }
    }
    panic!("timed out after {secs} s waiting for {what}");
}

/// SIGTERM, then waits up to 40 s; true when it exited with success.
pub(super) fn terminate(child: &mut Child) -> bool {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(40);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

fn log_count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

/// The source's own figure for a check: the `per_sec` field of its "folder checked" log lines.
fn logged_rates(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("folder checked"))
        .filter_map(|l| {
            let m = l.split("\"messages\":").nth(1)?.split([',', '}']).next()?;
            let r = l.split("\"per_sec\":\"").nth(1)?.split('"').next()?;
            Some(format!("{m} messages at {r}/s"))
        })
        .collect()
}

async fn done(dv: &Dovecot, store: &dyn Store, expected: usize, messages: usize) -> bool {
    let c = store.counts().await.unwrap();
    c.documents == expected as i64
        && c.arrivals == expected as i64
        && dv.search("INBOX", "ALL").await.0.is_empty()
        && dv.search("Processed", "ALL").await.0.len() == messages
        && store
            .mail_status()
            .await
            .unwrap()
            .folders
            .first()
            .is_some_and(|f| f.imported == messages as i64 && f.actions_pending == 0)
}

async fn two_hundred(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let expected = seed(&dv, &Docs::load(), 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &dv, &db.url, "batch_size = 25\n");
    let log = dir.path().join("run.log");
    let t = Instant::now();
    let mut worker = spawn(&config, &log);
    wait_for(
        "200 messages imported by facteur run",
        180,
        &[&log],
        async || done(&dv, store.as_ref(), expected, 200).await,
    )
    .await;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "facteur run on {backend:?}: 200 messages, {expected} documents in {secs:.2} s from process \
         start = {:.1} messages/s; source's own figure: {:?}",
        200.0 / secs,
        logged_rates(&log)
    );
    assert!(terminate(&mut worker), "SIGTERM stops facteur run cleanly");
    assert_eq!(dv.seen_count("Processed").await, 0, "nothing marked read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_two_hundred_messages_sqlite() {
    two_hundred(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_two_hundred_messages_postgres() {
    two_hundred(Backend::Postgres).await;
}

async fn sigkill_mid_batch(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let expected = seed(&dv, &Docs::load(), 200).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &dv, &db.url, "batch_size = 50\n");
    let logs = [dir.path().join("run1.log"), dir.path().join("run2.log")];
    let mut first = spawn(&config, &logs[0]);
    // Batches are 50 messages (~100 documents) and the move runs once per batch, so a kill after
    // 57 documents lands between commits and their batch's move.
    wait_for(
        "the first worker to import 57 documents",
        120,
        &[&logs[0]],
        async || store.counts().await.unwrap().documents >= 57,
    )
    .await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    let at_kill = store.counts().await.unwrap().documents;
    let recorded = store.mail_status().await.unwrap().folders[0].imported;
    let moved = 200 - dv.search("INBOX", "ALL").await.0.len() as i64;
    println!(
        "{backend:?}: killed at {at_kill} documents: {recorded} messages committed, {moved} moved, \
         {} committed but not yet moved",
        recorded - moved
    );
    assert!(
        at_kill < expected as i64,
        "killed too late to test anything"
    );

    let mut second = spawn(&config, &logs[1]);
    wait_for(
        "the restarted worker to finish",
        180,
        &[&logs[0], &logs[1]],
        async || done(&dv, store.as_ref(), expected, 200).await,
    )
    .await;
    assert!(terminate(&mut second), "SIGTERM stops facteur run cleanly");
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.documents, expected as i64, "nothing lost");
    assert_eq!(counts.arrivals, expected as i64, "nothing imported twice");
    let status = store.mail_status().await.unwrap();
    assert!(status.failing.is_empty(), "{:?}", status.failing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_sigkill_mid_batch_sqlite() {
    sigkill_mid_batch(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_sigkill_mid_batch_postgres() {
    sigkill_mid_batch(Backend::Postgres).await;
}

/// Two `facteur run` processes ("machines") on one database and one mailbox: one holds the
/// mailbox; SIGTERM it mid-way and the other takes over; every message imported once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_two_workers_one_mailbox_postgres() {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(Backend::Postgres).await;
    let store = db.store().await;
    let expected = seed(&dv, &Docs::load(), 100).await;
    let dir = tempfile::tempdir().unwrap();
    // Small batches: a SIGTERM stops the holder within five messages.
    let config = write_config(dir.path(), &dv, &db.url, "batch_size = 5\n");
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let mut workers = [spawn(&config, &logs[0]), spawn(&config, &logs[1])];
    wait_for(
        "the first documents",
        120,
        &[&logs[0], &logs[1]],
        async || store.counts().await.unwrap().documents >= 5,
    )
    .await;
    let recorded = |i: usize| log_count(&logs[i], "\"message recorded\"");
    let holder = usize::from(recorded(1) > recorded(0));
    assert_eq!(recorded(1 - holder), 0, "only the lease holder imports");
    assert!(terminate(&mut workers[holder]), "the holder stops cleanly");
    wait_for(
        "the other worker to finish",
        180,
        &[&logs[0], &logs[1]],
        async || done(&dv, store.as_ref(), expected, 100).await,
    )
    .await;
    assert!(terminate(&mut workers[1 - holder]));
    let (a, b) = (recorded(holder), recorded(1 - holder));
    println!("two workers: the first lease holder recorded {a} messages, the second {b}");
    assert!(b > 0, "the second worker took over the mailbox");
    assert_eq!(a + b, 100, "every message recorded by exactly one worker");
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.documents, counts.arrivals),
        (expected as i64, expected as i64)
    );
}
