//! Crash torture: invoices flow through the whole pipeline (read → dedupe → automatic approval →
//! post) in real `facteur run` processes, 3 on PostgreSQL and 1 on SQLite, while a random worker
//! is SIGKILLed at random moments and restarted. They arrive two ways while the kills go on:
//! generated text PDFs and a few scans dropped into a watched folder, and mail APPENDed to the
//! INBOX of a private Dovecot (a third of the invoices by default, one PDF per message, some with
//! two) that the pipeline's IMAP source reads and moves to Processed.
//!
//! At the end: every file is exactly one document and was filed under processed/; every message
//! was imported exactly once (each of its attachments one document, each document from one
//! message), none is left in the INBOX, Processed holds each once, and no mailbox action is owed;
//! every approved invoice is posted exactly once (one ledger entry per document), the trial
//! balance is zero, the hash chain verifies, entry numbers have no gaps, no job is left running
//! or dead, and no lease is left to a dead worker.
//!
//! The reduced form runs in the suite; `scripts/torture` runs the long one (1,000 documents and
//! 50 kills by default) through the same code, with FACTEUR_TORTURE_DOCUMENTS, _KILLS, _SCANS,
//! _MAIL_SHARE, _PAUSE_MS and _SEED. The seed is printed: the same seed replays the same drops, messages and
//! kills (the timing of the machine still varies).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use facteur::bench::cluster::{Cluster, Database, MailSource, Options};
use facteur::domain::DocumentState;
use facteur::store::ledger::ChainCheck;
use rand::{Rng, SeedableRng};

use crate::helpers::*;
use crate::imap::dovecot::{self, Attachment, Dovecot};

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

/// The mail side of a run: a private Dovecot, the messages to APPEND, what each must become.
struct Mail {
    dovecot: Dovecot,
    /// Whole messages, in feeding order.
    messages: Vec<Vec<u8>>,
    /// Message-ID (without brackets) → the names of the PDFs it carries.
    expected: BTreeMap<String, Vec<String>>,
}

impl Mail {
    /// Invoices `range` as messages of one PDF, about a quarter of them with two.
    fn new(range: std::ops::Range<usize>, rng: &mut impl Rng) -> Mail {
        let dovecot = Dovecot::start(&["Processed"]);
        let (mut messages, mut expected) = (Vec::new(), BTreeMap::new());
        let mut n = range.start;
        while n < range.end {
            let end = if n + 1 < range.end && rng.gen_bool(0.25) {
                n + 2
            } else {
                n + 1
            };
            let names: Vec<String> = (n..end).map(|k| format!("mail-{k:06}.pdf")).collect();
            let attachments: Vec<Attachment> = (n..end)
                .zip(&names)
                .map(|(k, name)| {
                    Attachment::named(
                        name,
                        "application/pdf",
                        facteur::testing::stream_invoice(k, 20),
                    )
                })
                .collect();
            let i = messages.len();
            messages.push(dovecot::message(
                i,
                "factures@fournisseur.example",
                &format!("Facture {i}"),
                &attachments,
            ));
            expected.insert(format!("test-{i}@fournisseur.example"), names);
            n = end;
        }
        Mail {
            dovecot,
            messages,
            expected,
        }
    }

    fn source(&self) -> MailSource {
        let password_file = self.dovecot.dir.path().join("password");
        std::fs::write(&password_file, format!("{}\n", dovecot::PASSWORD)).unwrap();
        MailSource {
            host: "127.0.0.1".into(),
            port: self.dovecot.port,
            user: dovecot::USER.into(),
            password_file,
            lease_secs: 5,
            batch_size: 10,
        }
    }

    /// Every message imported, moved out of the INBOX, no action owed.
    async fn done(&self, store: &dyn facteur::store::Store) -> bool {
        let folder = store.mail_status().await.unwrap().folders;
        self.dovecot.search("INBOX", "ALL").await.0.is_empty()
            && folder.iter().any(|f| {
                f.folder == "INBOX"
                    && f.imported == self.messages.len() as i64
                    && f.actions_pending == 0
            })
    }
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

async fn torture(db: Database, workers: usize, documents: u64, kills: u64) {
    let documents = env_or("FACTEUR_TORTURE_DOCUMENTS", documents) as usize;
    let kills = env_or("FACTEUR_TORTURE_KILLS", kills);
    // The longest pause between a batch and the next kill: shorter pauses kill workers in the
    // middle of more work.
    let pause_ms = env_or("FACTEUR_TORTURE_PAUSE_MS", 4_000).max(2);
    let scans = (env_or("FACTEUR_TORTURE_SCANS", 1) as usize).min(SCANS.len());
    let seed = env_or("FACTEUR_TORTURE_SEED", rand::random::<u32>() as u64);
    // A share, not an amount: how many of the text invoices arrive by mail.
    let share = std::env::var("FACTEUR_TORTURE_MAIL_SHARE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(1.0 / 3.0)
        .clamp(0.0, 1.0);
    let by_mail = (documents as f64 * share).round() as usize;
    let by_folder = documents - by_mail;
    let label = match db {
        Database::Sqlite => "sqlite",
        Database::Postgres { .. } => "postgresql",
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mail = (by_mail > 0).then(|| Mail::new(by_folder..documents, &mut rng));
    let messages = mail.as_ref().map_or(0, |m| m.messages.len());
    eprintln!(
        "torture {label}: seed {seed} ({workers} workers, {by_folder} text invoices + {scans} \
         scans in the folder, {by_mail} by mail in {messages} messages, {kills} SIGKILLs, pauses \
         up to {pause_ms} ms); replay with FACTEUR_TORTURE_SEED={seed}"
    );
    // Kept on failure (the worker logs say what happened); removed at the end of a success.
    let dir = tempfile::tempdir().unwrap().keep();
    let opts = Options {
        concurrency: 2,
        lease_secs: 10,
        suppliers: 20,
        mail: mail.as_ref().map(Mail::source),
    };
    let mut cluster = Cluster::create(Path::new(facteur_bin()), &dir, &db, &opts)
        .await
        .unwrap();
    let store = cluster.store().await.unwrap();

    // Every file to feed, written aside first, then renamed into the folder batch by batch.
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let mut files = Vec::new();
    for n in 0..by_folder {
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
    let mail_per_batch = messages.div_ceil(batches);
    let (mut fed, mut sent) = (0, 0);
    for k in 0..batches {
        for name in files.iter().skip(fed).take(per_batch) {
            std::fs::rename(staging.join(name), cluster.inbox.join(name)).unwrap();
        }
        fed = (fed + per_batch).min(files.len());
        if let Some(m) = &mail {
            let upto = (sent + mail_per_batch).min(messages);
            m.dovecot.append("INBOX", &m.messages[sent..upto]).await;
            sent = upto;
        }
        if k as u64 == kills {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(pause_ms / 8..pause_ms))).await;
        let victim = rng.gen_range(0..workers);
        cluster.kill(victim).unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1_500))).await;
        cluster.start(victim).unwrap();
    }
    eprintln!(
        "torture {label}: all {} files and {messages} messages fed and {kills} kills done in \
         {:.0} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );

    // Quiet: every file and attachment a document, no job waiting or running, every message
    // moved (generous: a loaded machine, debug builds, scans read by OCR, leases of killed
    // workers to expire).
    let total = (files.len() + by_mail) as i64;
    let quiet = wait_until(Duration::from_secs(900), || async {
        let c = store.counts().await.unwrap();
        c.documents == total
            && c.jobs("queued") == 0
            && c.jobs("running") == 0
            && match &mail {
                Some(m) => m.done(store.as_ref()).await,
                None => true,
            }
    })
    .await;
    let c = store.counts().await.unwrap();
    let status = store.mail_status().await.unwrap();
    assert!(
        quiet,
        "seed {seed}: not quiet after 15 minutes: {} documents of {total}, by state {:?}, jobs \
         {:?}, mail {:?} (worker logs in {})",
        c.documents,
        c.by_state,
        c.jobs_by_status,
        status.folders,
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

    // Every message imported once: each attachment one document, each document from one message.
    let mut from_mail: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut not_one_message = Vec::new();
    for d in docs.iter().filter(|d| d.file_name.starts_with("mail-")) {
        let of = store.mail_messages_of_document(d.id).await.unwrap();
        if of.len() != 1 {
            not_one_message.push((d.file_name.clone(), of.len()));
        }
        for m in of {
            let id = bare_id(m.message_id.as_deref().unwrap_or("(none)"));
            from_mail.entry(id).or_default().push(d.file_name.clone());
        }
    }
    from_mail.values_mut().for_each(|v| v.sort());
    let expected = mail
        .as_ref()
        .map(|m| m.expected.clone())
        .unwrap_or_default();
    let mail_wrong: Vec<_> = expected
        .iter()
        .filter(|(id, names)| from_mail.get(*id) != Some(*names))
        .map(|(id, names)| (id, names, from_mail.get(id)))
        .collect();
    let (inbox_left, moved) = match &mail {
        Some(m) => (
            m.dovecot.search("INBOX", "ALL").await.0.len(),
            m.dovecot.search("Processed", "ALL").await.0.len(),
        ),
        None => (0, 0),
    };
    let inbox = status
        .folders
        .iter()
        .find(|f| f.folder == "INBOX")
        .cloned()
        .unwrap_or_default();

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
    // A file taken again after a kill between its commit and its move is a re-arrival of the
    // same document (README, drop folders): counted, not a failure.
    let redelivered = c.arrivals - c.documents;
    eprintln!(
        "torture {label} (seed {seed}): files {}, messages {messages} ({by_mail} attachments), \
         documents {} of {total}, re-arrivals {redelivered}, processed/ {processed}, failed/ \
         {failed}, left in the folder {}, doubled {}; messages imported {}, failing {}, retrying \
         {}, actions owed {}, left in INBOX {inbox_left}, in Processed {moved}, attachments not \
         one document {}, documents not from one message {}; posted {posted}, approved not posted \
         {}, ledger entries {}, documents posted twice {posted_twice}, number gaps {gaps}, trial \
         balance {imbalance}, chain {chain:?}; jobs {:?}; leases held {}; by state {:?}; {:.0} s",
        files.len(),
        c.documents,
        left.len(),
        doubled.len(),
        inbox.imported,
        inbox.failing,
        inbox.retrying,
        inbox.actions_pending,
        mail_wrong.len(),
        not_one_message.len(),
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
        processed,
        files.len(),
        "{}",
        keep("every file filed under processed/")
    );
    assert_eq!(failed, 0, "{}", keep("no file refused"));
    assert!(
        left.is_empty(),
        "{}: {left:?}",
        keep("files left in the folder")
    );
    if mail.is_some() {
        assert!(
            mail_wrong.is_empty(),
            "{}: {mail_wrong:?}",
            keep("each message's attachments one document each")
        );
        assert!(
            not_one_message.is_empty(),
            "{}: {not_one_message:?}",
            keep("each mail document from exactly one message")
        );
        assert_eq!(
            (inbox.imported, inbox.failing, inbox.retrying, inbox.nothing),
            (messages as i64, 0, 0, 0),
            "{}",
            keep("every message imported once (imported, failing, retrying, nothing)")
        );
        assert_eq!(inbox.actions_pending, 0, "{}", keep("no mail action owed"));
        assert_eq!(inbox_left, 0, "{}", keep("no message left in the INBOX"));
        assert_eq!(
            moved,
            messages,
            "{}",
            keep("each message moved to Processed once")
        );
    }
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
