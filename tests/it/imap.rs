//! The IMAP source against a real Dovecot (tests/services/dovecot.rs), on SQLite and PostgreSQL:
//! exactly once across volume, failing actions, odd mail, a UIDVALIDITY reset, two workers on one
//! mailbox, and IDLE. binary.rs runs the real `facteur run` (SIGKILL, two processes, throughput);
//! newer.rs covers IDLE on every folder, the persisted retry, kept .eml and load-time errors.

mod binary;
#[path = "../services/dovecot.rs"]
pub(crate) mod dovecot;
mod hostile;
mod newer;
mod oauth;
mod odd;
mod rules;
mod secrets;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dovecot::{message, Attachment, Dovecot, USER};
use facteur::config::IntakeSettings;
use facteur::domain::Origin;
use facteur::sources::imap::{check_once, ImapConfig, ImapSource, Security, FAILED_KEYWORD};
use facteur::sources::{Source, SourceContext};
use facteur::store::mail::{FailureFate, MailKey, MailRecord, MailStatus, MessageMeta, Recorded};
use facteur::store::Store;
use tokio_util::sync::CancellationToken;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database; a PostgreSQL one is dropped with the guard.
struct Db {
    url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn new(backend: Backend) -> Db {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Db {
                url: format!("sqlite://{}/facteur.db", dir.path().display()),
                pg_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let name = format!("facteur_imap_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(PG_ADMIN).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                Db {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        facteur::store::open(&self.url, 4).await.unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(PG_ADMIN).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                }
            })
        })
        .join();
    }
}

fn ctx(store: Arc<dyn Store>, max_document_mb: u64) -> SourceContext {
    SourceContext {
        store,
        intake: IntakeSettings { max_document_mb },
        worker_id: format!("test-{}", uuid::Uuid::new_v4().simple()),
        shutdown: CancellationToken::new(),
    }
}

/// An account on the test Dovecot; `extra` is appended TOML (folders, timings).
fn config_text(dv: &Dovecot, extra: &str) -> String {
    let pw = dv.dir.path().join("password");
    std::fs::write(&pw, format!("{}\n", dovecot::PASSWORD)).unwrap();
    let lease = if extra.contains("lease_secs") {
        ""
    } else {
        "lease_secs = 5\n"
    };
    format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\n\
         password_file = \"{}\"\n{lease}backoff_secs = 1\n{extra}",
        dv.port,
        pw.display()
    )
}

fn config(dv: &Dovecot, extra: &str) -> ImapConfig {
    toml::from_str(&config_text(dv, extra)).unwrap()
}

fn corpus(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(format!("{CORPUS}/{dir}"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Distinct real documents: corpus PDFs and XML with a per-copy trailer, so hashes differ.
struct Docs {
    pdfs: Vec<Vec<u8>>,
    xmls: Vec<Vec<u8>>,
}

impl Docs {
    fn load() -> Docs {
        Docs {
            pdfs: corpus("invoice2data", "pdf"),
            xmls: corpus("en16931-examples", "xml"),
        }
    }
    fn pdf(&self, n: usize) -> Vec<u8> {
        let mut b = self.pdfs[n % self.pdfs.len()].clone();
        b.extend_from_slice(format!("\n%facteur-test {n}\n").as_bytes());
        b
    }
    fn xml(&self, n: usize) -> Vec<u8> {
        let mut b = self.xmls[n % self.xmls.len()].clone();
        b.extend_from_slice(format!("\n<!-- facteur-test {n} -->\n").as_bytes());
        b
    }
    /// Message `i` with 1–3 attachments; returns it and its attachment count.
    fn invoice_mail(&self, i: usize) -> (Vec<u8>, usize) {
        let n = 1 + i % 3;
        let atts: Vec<Attachment> = (0..n)
            .map(|k| match k {
                1 => Attachment::named(&format!("facture-{i}.xml"), "application/xml", self.xml(i)),
                _ => Attachment::named(
                    &format!("facture-{i}-{k}.pdf"),
                    "application/pdf",
                    self.pdf(i * 3 + k),
                ),
            })
            .collect();
        let m = message(
            i,
            "compta@fournisseur.example",
            &format!("Facture {i}"),
            &atts,
        );
        (m, n)
    }
}

async fn seed(dv: &Dovecot, docs: &Docs, count: usize) -> usize {
    let mut expected = 0;
    let mails: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let (m, n) = docs.invoice_mail(i);
            expected += n;
            m
        })
        .collect();
    dv.append("INBOX", &mails).await;
    expected
}

async fn exactly_once_at_volume(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let docs = Docs::load();
    let expected = seed(&dv, &docs, 200).await;
    let cfg = config(&dv, "batch_size = 25\n");
    let c = ctx(store.clone(), 100);
    let t = Instant::now();
    let reports = check_once(&cfg, &c).await.unwrap().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{backend:?}: 200 messages, {expected} documents in {secs:.2} s = {:.1} messages/s",
        200.0 / secs
    );
    assert_eq!(reports[0].fetched, 200);
    assert_eq!(reports[0].backlog, 0);
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.documents, expected as i64);
    assert_eq!(counts.arrivals, expected as i64, "no arrival twice");
    assert!(dv.search("INBOX", "ALL").await.0.is_empty());
    assert_eq!(dv.search("Processed", "ALL").await.0.len(), 200);
    assert_eq!(
        dv.seen_count("Processed").await,
        0,
        "BODY.PEEK: nothing marked read"
    );
    // Nothing new: a second check fetches nothing.
    let again = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(again[0].fetched, 0);
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.folders[0].imported, 200);
    assert_eq!(status.folders[0].actions_pending, 0);
    assert!(status.failing.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_messages_exactly_once_sqlite() {
    exactly_once_at_volume(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_messages_exactly_once_postgres() {
    exactly_once_at_volume(Backend::Postgres).await;
}

async fn wait_for(what: &str, secs: u64, f: impl AsyncFnMut() -> bool) {
    if !waited(secs, f).await {
        panic!("timed out after {secs} s waiting for {what}");
    }
}

/// True once `f` holds, false after `secs`.
async fn waited(secs: u64, mut f: impl AsyncFnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn failing_action_is_retried_without_reimport(backend: Backend) {
    let dv = Dovecot::start(&[]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let expected = seed(&dv, &Docs::load(), 3).await;
    let cfg = config(&dv, "[[folder]]\nname = \"INBOX\"\nmove_to = \"Later\"\n");
    let c = ctx(store.clone(), 100);
    check_once(&cfg, &c).await.unwrap();
    assert_eq!(store.counts().await.unwrap().documents, expected as i64);
    assert_eq!(
        dv.search("INBOX", "ALL").await.0.len(),
        3,
        "the move failed"
    );
    let status = store.mail_status().await.unwrap();
    assert_eq!(status.folders[0].actions_pending, 3);
    dv.command(&["CREATE Later"]).await;
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 0, "nothing fetched again");
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.documents, counts.arrivals),
        (expected as i64, expected as i64)
    );
    assert!(dv.search("INBOX", "ALL").await.0.is_empty());
    assert_eq!(dv.search("Later", "ALL").await.0.len(), 3);
    assert_eq!(
        store.mail_status().await.unwrap().folders[0].actions_pending,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_action_is_retried_without_reimport_sqlite() {
    failing_action_is_retried_without_reimport(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_action_is_retried_without_reimport_postgres() {
    failing_action_is_retried_without_reimport(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_mailbox_postgres() {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(Backend::Postgres).await;
    let expected = seed(&dv, &Docs::load(), 100).await;
    let cfg = config(
        &dv,
        "batch_size = 10\nidle = false\npoll_interval_secs = 1\n",
    );
    // Two "machines": separate pools, separate worker ids.
    let (a, b) = (ctx(db.store().await, 100), ctx(db.store().await, 100));
    let stop = CancellationToken::new();
    let (a, b) = (
        SourceContext {
            shutdown: stop.clone(),
            ..a
        },
        SourceContext {
            shutdown: stop.clone(),
            ..b
        },
    );
    let store = a.store.clone();
    let ta = tokio::spawn(Box::new(ImapSource::new(cfg.clone())).run(a));
    let tb = tokio::spawn(Box::new(ImapSource::new(cfg.clone())).run(b.clone()));
    wait_for("both workers to drain the mailbox", 120, async || {
        dv.search("INBOX", "ALL").await.0.is_empty()
            && store.counts().await.unwrap().documents == expected as i64
    })
    .await;
    stop.cancel();
    ta.await.unwrap().unwrap();
    tb.await.unwrap().unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.documents, counts.arrivals),
        (expected as i64, expected as i64)
    );
    assert_eq!(dv.search("Processed", "ALL").await.0.len(), 100);

    // The second line of defence: a message recorded by one worker is never recorded again.
    let (_, uv) = dv.search("Processed", "ALL").await;
    let inbox_uv = store.mail_status().await.unwrap().folders[0]
        .uidvalidity
        .unwrap() as u32;
    let record = MailRecord {
        key: MailKey {
            account: "ap".into(),
            folder: "INBOX".into(),
            uidvalidity: inbox_uv,
            uid: 1,
        },
        meta: MessageMeta::default(),
        status: MailStatus::Nothing,
        reason: None,
        action_pending: false,
        eml: None,
    };
    assert_ne!(uv, 0);
    assert_eq!(
        b.store.mail_record(&record, &[]).await.unwrap(),
        Recorded::AlreadyRecorded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_delivers_new_mail_within_seconds() {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let cfg = config(
        &dv,
        "idle = true\npoll_interval_secs = 120\nfull_check_secs = 600\nlease_secs = 90\n",
    );
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the first check", 30, async || {
        store
            .mail_status()
            .await
            .unwrap()
            .folders
            .first()
            .is_some_and(|f| f.last_success_at.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let it enter IDLE
    let docs = Docs::load();
    let t = Instant::now();
    dv.append("INBOX", &[docs.invoice_mail(0).0]).await;
    wait_for("the IDLE wake-up", 5, async || {
        store.counts().await.unwrap().documents == 1
    })
    .await;
    println!(
        "IDLE: new mail committed {:.2} s after APPEND",
        t.elapsed().as_secs_f64()
    );
    stop.cancel();
    task.await.unwrap().unwrap();
}
