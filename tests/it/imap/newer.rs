//! IDLE on every folder (mail appended to the second folder arrives in seconds), a message whose
//! reading was cut short taken when its retry is due, the connection retry kept across a restart, `keep_eml` (the whole message stored with its record, not as a
//! document), and IMAP config errors reported at load with the pipeline file's line.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_on_the_second_folder_delivers_within_seconds() {
    let dv = Dovecot::start(&["Processed", "Fournisseurs"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    // Polling every 2 minutes: only IDLE can bring the mail within 5 s.
    let cfg = config(
        &dv,
        "idle = true\npoll_interval_secs = 120\nfull_check_secs = 600\nlease_secs = 90\n\
         [[folder]]\nname = \"INBOX\"\n[[folder]]\nname = \"Fournisseurs\"\n",
    );
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the first check of both folders", 30, async || {
        let s = store.mail_status().await.unwrap();
        s.folders.len() == 2 && s.folders.iter().all(|f| f.last_success_at.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // let the watchers enter IDLE
    let docs = Docs::load();
    let (mail, n) = docs.invoice_mail(1);
    let t = Instant::now();
    dv.append("Fournisseurs", &[mail]).await;
    wait_for("the IDLE wake-up on the second folder", 5, async || {
        store.counts().await.unwrap().documents == n as i64
    })
    .await;
    println!(
        "IDLE on the second folder: committed {:.2} s after APPEND",
        t.elapsed().as_secs_f64()
    );
    // And the first folder still wakes too.
    let (mail, m) = docs.invoice_mail(2);
    dv.append("INBOX", &[mail]).await;
    wait_for("the IDLE wake-up on the first folder", 5, async || {
        store.counts().await.unwrap().documents == (n + m) as i64
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    assert!(dv.search("Fournisseurs", "ALL").await.0.is_empty());
}

/// A server that accepts connections and never greets; counts them.
/// A worker killed while reading a message leaves it `retrying` with its next attempt a moment
/// later. The restarted source skips it while it is not due, and must come back for it when it is
/// due, not at its next poll (two minutes here) or full check (ten): IDLE alone never wakes for a
/// message that is already in the folder.
async fn cut_short_message_is_taken_when_due(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let (mail, n) = Docs::load().invoice_mail(0);
    dv.append("INBOX", &[mail]).await;
    let (uids, uidvalidity) = dv.search("INBOX", "ALL").await;
    let key = MailKey {
        account: "ap".into(),
        folder: "INBOX".into(),
        uidvalidity,
        uid: uids[0],
    };
    // What `take_message` writes before reading: one attempt, the next in 3 s.
    let fate = store
        .mail_record_failure(
            &key,
            &MessageMeta::default(),
            "killed while reading",
            5,
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert!(matches!(fate, FailureFate::Retry { .. }));
    let cfg = config(
        &dv,
        "idle = true\npoll_interval_secs = 120\nfull_check_secs = 600\nlease_secs = 90\n",
    );
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let t = Instant::now();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the message retried when due", 30, async || {
        store.counts().await.unwrap().documents == n as i64
    })
    .await;
    let secs = t.elapsed().as_secs_f64();
    println!("{backend:?}: the cut-short message was taken {secs:.1} s after the start");
    assert!(secs >= 2.0, "taken before its retry was due ({secs:.1} s)");
    assert!(dv.search("INBOX", "ALL").await.0.is_empty(), "and moved");
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_short_message_is_taken_when_due_sqlite() {
    cut_short_message_is_taken_when_due(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_short_message_is_taken_when_due_postgres() {
    cut_short_message_is_taken_when_due(Backend::Postgres).await;
}

async fn mute_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    (port, count)
}

async fn retry_delay_survives_a_restart(backend: Backend) {
    let (port, attempts) = mute_server().await;
    let db = Db::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "x\n").unwrap();
    let cfg: ImapConfig = toml::from_str(&format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nuser = \"u\"\n\
         password_file = \"{}\"\ntimeout_secs = 1\nbackoff_secs = 30\nlease_secs = 3\n",
        dir.path().join("pw").display()
    ))
    .unwrap();
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg.clone())).run(c));
    wait_for("the failure to be scheduled", 15, async || {
        store
            .mail_status()
            .await
            .unwrap()
            .accounts
            .iter()
            .any(|a| a.retry_at.is_some())
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let first = attempts.load(Ordering::SeqCst);
    assert_eq!(first, 1, "one attempt before the pause");

    // A restarted worker (new identity) waits the schedule out instead of connecting at once.
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        first,
        "no attempt before retry_at"
    );
    stop.cancel();
    task.await.unwrap().unwrap();
    let status = store.mail_status().await.unwrap();
    let a = &status.accounts[0];
    assert_eq!(a.retry_delay_secs, Some(30));
    let left = (a.retry_at.unwrap() - chrono::Utc::now()).num_seconds();
    assert!((20..=30).contains(&left), "retry due in {left} s");
    assert!(
        a.connect_error
            .as_deref()
            .unwrap_or("")
            .contains("did not greet")
            || a.connect_error
                .as_deref()
                .unwrap_or("")
                .contains("longer than"),
        "{:?}",
        a.connect_error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_delay_survives_a_restart_sqlite() {
    retry_delay_survives_a_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_delay_survives_a_restart_postgres() {
    retry_delay_survives_a_restart(Backend::Postgres).await;
}

async fn keep_eml(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let docs = Docs::load();
    let (with_pdf, _) = docs.invoice_mail(0);
    let plain = message(7, "ami@example.test", "Bonjour", &[]);
    dv.append("INBOX", &[with_pdf.clone(), plain]).await;
    let cfg = config(&dv, "[[folder]]\nname = \"INBOX\"\nkeep_eml = true\n");
    check_once(&cfg, &ctx(store.clone(), 100))
        .await
        .unwrap()
        .unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.documents, 1, "the .eml is not a document");
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.folders[0].eml_kept, 2, "kept for 'nothing' mail too");
    let doc = store.list_documents(None, 10).await.unwrap()[0].id;
    let msgs = store.mail_messages_of_document(doc).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].subject.as_deref(), Some("Facture 0"));
    let sha = msgs[0].eml_sha256.as_deref().expect("kept");
    let hash = facteur::domain::ContentHash::parse(sha).unwrap();
    assert_eq!(
        store.blob(&hash).await.unwrap(),
        with_pdf,
        "the message as sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_eml_stores_the_message_with_its_record_sqlite() {
    keep_eml(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_eml_stores_the_message_with_its_record_postgres() {
    keep_eml(Backend::Postgres).await;
}

#[test]
fn config_errors_are_reported_at_load_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    let main = dir.path().join("facteur.toml");
    std::fs::write(&main, "[database]\nurl = \"sqlite://var/f.db\"\n").unwrap();
    std::fs::write(
        dir.path().join("pipelines/mail.toml"),
        "[[source]]\ntype = \"imap\"\nname = \"ap\"\nhost = \"h\"\nuser = \"u\"\n\
         password_env = \"P\"\n[[source.folder]]\nname = \"INBOX\"\nfrom = \"(fournisseur\"\n",
    )
    .unwrap();
    let e = facteur::config::Settings::load(&main, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mail.toml:9:1: source ap: folder INBOX: `from`"),
        "{e}"
    );
    std::fs::write(
        dir.path().join("pipelines/mail.toml"),
        "[[source]]\ntype = \"imap\"\nname = \"ap\"\nhost = \"h\"\nuser = \"u\"\n",
    )
    .unwrap();
    let e = facteur::config::Settings::load(&main, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("give exactly one of password_env"), "{e}");
    assert!(e.contains("hint:"), "{e}");
}
