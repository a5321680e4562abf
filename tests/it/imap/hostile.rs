//! Hostile mail against the real Dovecot, on both backends: zips that expand past one message's
//! budget (refused with their reason, the next mail imported), a message of 600 parts (cut at
//! the cap), mail a person opened before facteur saw it under `flag = "\Seen"`, and a message that
//! kills `facteur run` (out of memory under RLIMIT_DATA) ending `failed` instead of crash-looping.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::*;

/// A zip holding one `mib` MiB PDF-looking entry (highly compressible), tagged to differ.
pub fn pdf_zip(mib: usize, tag: usize) -> Vec<u8> {
    let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("facture.pdf", ::zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(format!("%PDF-1.4\n%lot {tag}\n").as_bytes())
        .unwrap();
    let chunk = vec![b'0'; 1 << 20];
    for _ in 0..mib {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn zips(count: usize, mib: usize) -> Vec<Attachment> {
    (0..count)
        .map(|k| Attachment::named(&format!("lot-{k}.zip"), "application/zip", pdf_zip(mib, k)))
        .collect()
}

async fn one_budget_per_message(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let docs = Docs::load();
    let bomb = message(1, "a@example.test", "Lots", &zips(5, 20));
    let notes: Vec<Attachment> = (0..600)
        .map(|k| Attachment::named(&format!("note-{k}.txt"), "text/plain", b"x".to_vec()))
        .collect();
    let many = message(2, "b@example.test", "Notes", &notes);
    let (good, n) = docs.invoice_mail(3);
    dv.append("INBOX", &[bomb, many, good]).await;
    // Per archive, 50 MiB would let each 20 MiB zip through; per message, two of five fit.
    let cfg = config(&dv, "zip_max_total_mb = 50\n");
    let c = ctx(store.clone(), 30);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 3);
    let status = store.mail_status().await.unwrap();
    let reason = |uid: i64| {
        status
            .failing
            .iter()
            .find(|m| m.uid == uid)
            .and_then(|m| m.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        reason(1).contains("zip_max_total_mb")
            && reason(1).ends_with(": 3/facture.pdf, 4/facture.pdf, 5/facture.pdf"),
        "three zips over the message's budget: {}",
        reason(1)
    );
    assert!(
        reason(2).contains("more than 500 parts"),
        "{:?}",
        status.failing
    );
    let f = &status.folders[0];
    assert_eq!((f.imported, f.failing), (1, 2), "the next mail is imported");
    assert_eq!(
        store.counts().await.unwrap().documents,
        (2 + n) as i64,
        "two lots within the budget, and the next mail's documents"
    );
    let flagged = dv
        .search("INBOX", &format!("KEYWORD {FAILED_KEYWORD}"))
        .await
        .0;
    assert_eq!(flagged, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_zip_budget_per_message_sqlite() {
    one_budget_per_message(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_zip_budget_per_message_postgres() {
    one_budget_per_message(Backend::Postgres).await;
}

async fn seen_first(backend: Backend) {
    let dv = Dovecot::start(&[]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let (mail, n) = Docs::load().invoice_mail(4);
    dv.append("INBOX", &[mail]).await;
    // Someone opened it before facteur looked.
    dv.command(&["SELECT INBOX", "UID STORE 1:* +FLAGS (\\Seen)"])
        .await;
    let cfg = config(
        &dv,
        "[[folder]]\nname = \"INBOX\"\naction = \"flag\"\nflag = \"\\\\Seen\"\n",
    );
    let c = ctx(store.clone(), 100);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1, "mail already seen is still imported");
    assert_eq!(store.counts().await.unwrap().documents, n as i64);
    assert_eq!(
        dv.search("INBOX", "KEYWORD $FacteurImported").await.0,
        [1],
        "marked as facteur's"
    );
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_seen_imports_mail_opened_first_sqlite() {
    seen_first(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_seen_imports_mail_opened_first_postgres() {
    seen_first(Backend::Postgres).await;
}

/// `facteur run` with its data segment capped, so expanding a big message kills it.
fn spawn_capped(config: &Path, log: &Path, data_bytes: u64) -> Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facteur"));
    cmd.args(["--config", &config.display().to_string()])
        .args(["--log-format", "json", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
    let limit = libc::rlimit {
        rlim_cur: data_bytes,
        rlim_max: data_bytes,
    };
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("start facteur run")
}

async fn poison(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let lot = pdf_zip(60, 0);
    let atts: Vec<Attachment> = (0..16)
        .map(|k| Attachment::named(&format!("lot-{k}.zip"), "application/zip", lot.clone()))
        .collect();
    let (good, _) = Docs::load().invoice_mail(5);
    dv.append(
        "INBOX",
        &[message(1, "x@example.test", "Bombe", &atts), good],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A budget so large that reading the message (16 × 60 MiB) kills a worker capped at 640 MiB.
    let config = super::binary::write_config(
        dir.path(),
        &dv,
        &db.url,
        // A short full check: a restarted worker takes the account back at once (start-up
        // recovery), before the message's retry is due; a check finds it due within seconds.
        "max_attempts = 2\nzip_max_total_mb = 4000\nfull_check_secs = 5\n",
    );
    let cap = 640 << 20;
    let mut first = spawn_capped(&config, &dir.path().join("run1.log"), cap);
    wait_for(
        "the first worker to die reading the message",
        120,
        async || first.try_wait().unwrap().is_some(),
    )
    .await;
    assert!(!first.wait().unwrap().success(), "see run1.log");
    let mut second = spawn_capped(&config, &dir.path().join("run2.log"), cap);
    wait_for(
        "the message given up and the next one imported",
        120,
        async || {
            let s = store.mail_status().await.unwrap();
            s.folders.first().is_some_and(|f| f.imported == 1)
                && s.failing.iter().any(|m| m.uid == 1 && m.status == "failed")
        },
    )
    .await;
    assert!(super::binary::terminate(&mut second));
    let s = store.mail_status().await.unwrap();
    let reason = s.failing[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("stopped while reading"), "{reason}");
    assert_eq!(
        dv.search("INBOX", &format!("KEYWORD {FAILED_KEYWORD}"))
            .await
            .0,
        [1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_poison_mail_ends_failed_sqlite() {
    poison(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binary_poison_mail_ends_failed_postgres() {
    poison(Backend::Postgres).await;
}
