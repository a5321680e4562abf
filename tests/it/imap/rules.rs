//! Folder rules and the other mailbox actions (flag, delete), a missing folder beside a good one,
//! and the failure bookkeeping (backoff, then failing for good) on both backends.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_flag_and_delete_actions() {
    let dv = Dovecot::start(&["Flagged", "Deleted"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    // In Flagged: one matching invoice with a PDF and an XML (the rule takes only PDFs), and one
    // whose subject does not match.
    let (invoice, _) = docs.invoice_mail(1);
    let hello = message(
        50,
        "x@example.test",
        "Hello",
        &[Attachment::named("a.pdf", "application/pdf", docs.pdf(50))],
    );
    dv.append("Flagged", &[invoice, hello]).await;
    dv.append("Deleted", &[docs.invoice_mail(3).0]).await;
    let cfg = config(
        &dv,
        "[[folder]]\nname = \"Flagged\"\naction = \"flag\"\nsubject = \"^facture\"\nfilename = \"\\\\.pdf$\"\n\
         [[folder]]\nname = \"Deleted\"\naction = \"delete\"\n",
    );
    let c = ctx(store.clone(), 100);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!((r[0].fetched, r[1].fetched), (2, 1));
    // Flagged: one PDF taken (the XML is filtered out by name), the other mail skipped.
    let status = store.mail_status().await.unwrap();
    let flagged = status
        .folders
        .iter()
        .find(|f| f.folder == "Flagged")
        .unwrap();
    assert_eq!((flagged.imported, flagged.skipped), (1, 1), "{flagged:?}");
    assert_eq!(store.counts().await.unwrap().documents, 1 + 1);
    assert_eq!(
        dv.search("Flagged", "KEYWORD $FacteurImported")
            .await
            .0
            .len(),
        1
    );
    assert_eq!(
        dv.search("Flagged", "ALL").await.0.len(),
        2,
        "flag leaves mail in place"
    );
    assert!(
        dv.search("Deleted", "ALL").await.0.is_empty(),
        "deleted and expunged"
    );
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!((r[0].fetched, r[1].fetched), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_folder_does_not_stop_the_others() {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let expected = seed(&dv, &Docs::load(), 2).await;
    let cfg = config(
        &dv,
        "idle = false\npoll_interval_secs = 1\n[[folder]]\nname = \"Nope\"\n[[folder]]\nname = \"INBOX\"\n",
    );
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("INBOX to be taken", 30, async || {
        store.counts().await.unwrap().documents == expected as i64
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let status = store.mail_status().await.unwrap();
    let nope = status.folders.iter().find(|f| f.folder == "Nope").unwrap();
    assert!(
        nope.last_error.as_deref().unwrap_or("").contains("SELECT"),
        "{nope:?}"
    );
    let inbox = status.folders.iter().find(|f| f.folder == "INBOX").unwrap();
    assert!(inbox.last_success_at.is_some() && inbox.last_error.is_none());
}

async fn failures_back_off_then_fail_for_good(backend: Backend) {
    let db = Db::new(backend).await;
    let store = db.store().await;
    let key = MailKey {
        account: "ap".into(),
        folder: "INBOX".into(),
        uidvalidity: 7,
        uid: 42,
    };
    let meta = MessageMeta::default();
    let long = Duration::from_secs(3600);
    let fate = store
        .mail_record_failure(&key, &meta, "no body", 3, long)
        .await
        .unwrap();
    assert!(matches!(fate, FailureFate::Retry { .. }));
    // Backing off: not fetched again yet.
    assert!(store
        .mail_skip_set("ap", "INBOX", 7)
        .await
        .unwrap()
        .contains(&42));
    let fate = store
        .mail_record_failure(&key, &meta, "no body", 3, Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(fate, FailureFate::Retry { .. }));
    // Due: fetched again.
    assert!(!store
        .mail_skip_set("ap", "INBOX", 7)
        .await
        .unwrap()
        .contains(&42));
    let fate = store
        .mail_record_failure(&key, &meta, "no body", 3, long)
        .await
        .unwrap();
    assert_eq!(fate, FailureFate::Permanent);
    assert!(store
        .mail_skip_set("ap", "INBOX", 7)
        .await
        .unwrap()
        .contains(&42));
    assert_eq!(
        store.mail_pending_flags("ap", "INBOX", 7).await.unwrap(),
        [42]
    );
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.failing.len(), 1);
    assert!(status.failing[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("gave up after 3"));
    store
        .mail_flags_applied("ap", "INBOX", 7, &[42])
        .await
        .unwrap();
    assert!(store
        .mail_pending_flags("ap", "INBOX", 7)
        .await
        .unwrap()
        .is_empty());
    // A retrying message that then succeeds is recorded for good.
    let key2 = MailKey {
        uid: 43,
        ..key.clone()
    };
    store
        .mail_record_failure(&key2, &meta, "store hiccup", 3, Duration::ZERO)
        .await
        .unwrap();
    let rec = MailRecord {
        key: key2,
        meta,
        status: MailStatus::Nothing,
        reason: None,
        action_pending: false,
        eml: None,
    };
    assert!(matches!(
        store.mail_record(&rec, &[]).await.unwrap(),
        Recorded::Committed(_)
    ));
    assert_eq!(
        store.mail_record(&rec, &[]).await.unwrap(),
        Recorded::AlreadyRecorded
    );
}

#[tokio::test]
async fn failures_back_off_then_fail_for_good_sqlite() {
    failures_back_off_then_fail_for_good(Backend::Sqlite).await;
}

#[tokio::test]
async fn failures_back_off_then_fail_for_good_postgres() {
    failures_back_off_then_fail_for_good(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_starttls_with_a_private_ca() {
    let dv = Dovecot::start_tls(&["Processed"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    dv.append("INBOX", &[docs.invoice_mail(0).0]).await;
    let ca = dv.ca.clone().unwrap();
    let imaps = dv.imaps_port.unwrap();
    let c = ctx(store.clone(), 100);
    // Implicit TLS without the private CA: refused, with the reason.
    let mut cfg = config(&dv, "");
    cfg.security = Security::Tls;
    cfg.port = Some(imaps);
    let e = format!("{:#}", check_once(&cfg, &c).await.unwrap_err());
    assert!(
        e.contains("TLS") && e.to_lowercase().contains("issuer"),
        "{e}"
    );
    // With it: works.
    cfg.tls_ca_file = Some(ca.clone());
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1);
    // STARTTLS on the plain port.
    dv.append("INBOX", &[docs.invoice_mail(1).0]).await;
    let mut cfg = config(&dv, "");
    cfg.security = Security::Starttls;
    cfg.tls_ca_file = Some(ca);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1);
    assert_eq!(store.counts().await.unwrap().documents, 1 + 2);
}

#[tokio::test]
async fn a_pipeline_file_declares_an_account_and_status_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("facteur.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/f.db\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pipelines/mail.toml"),
        "[[source]]\ntype = \"imap\"\nname = \"ap-mailbox\"\nhost = \"imap.example.com\"\n\
         user = \"ap@example.com\"\npassword_env = \"AP_IMAP_PASSWORD\"\n\
         [[source.folder]]\nname = \"INBOX\"\nmove_to = \"Traitées\"\nfilename = \"\\\\.(pdf|xml)$\"\n\
         [[source.folder]]\nname = \"Fournisseurs/Avoirs\"\naction = \"flag\"\nflag = \"$Facteur\"\n",
    )
    .unwrap();
    let settings =
        facteur::config::Settings::load(&dir.path().join("facteur.toml"), false).unwrap();
    let facteur::config::SourceConfig::Imap(cfg) = &settings.loaded_pipelines[0].sources[0] else {
        panic!("not an IMAP source");
    };
    assert_eq!(cfg.folders.len(), 2);
    assert!(cfg.validate().is_ok());
    facteur::cli::mail::status(&settings, false).await.unwrap();
    let store = facteur::store::open(&settings.database_url(), 1)
        .await
        .unwrap();
    let report = facteur::cli::mail::with_configured(store.mail_status().await.unwrap(), &settings);
    assert_eq!(
        report.folders.len(),
        2,
        "configured folders show before their first check"
    );
    let text = facteur::cli::mail::render(&report);
    assert!(
        text.contains("Fournisseurs/Avoirs") && text.contains("never"),
        "{text}"
    );

    // A typo is refused with its position.
    std::fs::write(
        dir.path().join("pipelines/mail.toml"),
        "[[source]]\ntype = \"imap\"\nname = \"a\"\nhost = \"h\"\nuser = \"u\"\npasword_env = \"P\"\n",
    )
    .unwrap();
    let e = facteur::config::Settings::load(&dir.path().join("facteur.toml"), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pasword_env"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_without_download() {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    let mut big = docs.pdf(700);
    big.resize(1536 * 1024, b' ');
    let huge = message(
        7,
        "b@example.test",
        "gros",
        &[Attachment::named("gros.pdf", "application/pdf", big)],
    );
    dv.append("INBOX", &[huge, docs.invoice_mail(0).0]).await;
    let cfg = config(&dv, "max_message_mb = 1\n");
    let r = check_once(&cfg, &ctx(store.clone(), 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r[0].fetched, 1, "only the small one was downloaded");
    assert_eq!(store.counts().await.unwrap().documents, 1);
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.failing.len(), 1);
    assert!(status.failing[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("not downloaded"));
    assert_eq!(
        dv.search("INBOX", &format!("KEYWORD {FAILED_KEYWORD}"))
            .await
            .0
            .len(),
        1
    );
}

/// A server without MOVE and IDLE: COPY + \Deleted + UID EXPUNGE, and polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_or_idle_copy_and_poll() {
    let dv = Dovecot::start_conf(
        &["Processed"],
        "imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS",
    );
    let mut s = dv.session().await;
    let caps = s.capabilities().await.unwrap();
    assert!(!caps.has_str("MOVE") && !caps.has_str("IDLE") && caps.has_str("UIDPLUS"));
    s.logout().await.unwrap();
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    let expected = seed(&dv, &docs, 3).await;
    let cfg = config(&dv, "idle = true\npoll_interval_secs = 1\n");
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the first mail", 30, async || {
        store.counts().await.unwrap().documents == expected as i64
            && dv.search("INBOX", "ALL").await.0.is_empty()
    })
    .await;
    assert_eq!(dv.search("Processed", "ALL").await.0.len(), 3, "copied");
    // New mail arrives by polling (no IDLE on this server).
    let (m, n) = docs.invoice_mail(10);
    dv.append("INBOX", &[m]).await;
    wait_for("the polled mail", 10, async || {
        store.counts().await.unwrap().documents == (expected + n) as i64
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(
        store.counts().await.unwrap().arrivals,
        (expected + n) as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french_folder_names_in_modified_utf7() {
    let dv = Dovecot::start(&["Factures reçues", "Traitées"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    // On the wire the folders are `Factures re&AOc-ues` and `Trait&AOk-es`.
    dv.append("Factures re&AOc-ues", &[docs.invoice_mail(0).0])
        .await;
    let cfg = config(
        &dv,
        "[[folder]]\nname = \"Factures reçues\"\nmove_to = \"Traitées\"\n",
    );
    let r = check_once(&cfg, &ctx(store.clone(), 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r[0].fetched, 1);
    assert!(dv.search("Factures re&AOc-ues", "ALL").await.0.is_empty());
    assert_eq!(dv.search("Trait&AOk-es", "ALL").await.0.len(), 1);
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.folders[0].folder, "Factures reçues");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_in_status_and_the_source_keeps_trying() {
    let dv = Dovecot::start(&[]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let mut cfg = config(&dv, "idle = false\n");
    let bad = dv.dir.path().join("bad-password");
    std::fs::write(&bad, "wrong\n").unwrap();
    cfg.password_file = Some(bad);
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the login error in status", 30, async || {
        let s = store.mail_status().await.unwrap();
        s.folders
            .first()
            .and_then(|f| f.last_error.clone())
            .is_some_and(|e| e.contains("login as ap@example.test"))
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let text = facteur::cli::mail::render(&store.mail_status().await.unwrap());
    assert!(
        text.contains("last error") && !text.contains("wrong"),
        "{text}"
    );
}
