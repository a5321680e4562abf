//! The whole way, as the "done when" says: `facteur run` watching a folder, an invoice
//! dropped in it, the approval mail in the approver's mailbox (aiosmtpd), a click on Approve and
//! on the confirmation button against the server `facteur run` started, the invoice approved.
//! Also: a changed invoice's link refuses (409), and a trusted supplier's small invoice is
//! approved without asking anyone.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::*;
use crate::helpers::{free_port, wait_until};

/// `facteur run`, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

both_backends!(
    an_invoice_dropped_in_the_folder_is_approved_from_the_mailbox,
    |db: TestDb| async move {
        let store = db.store().await;
        let smtp = Smtp::start();
        let port = free_port();
        let ws = db.dir.path().join("ws");
        let inbox = ws.join("inbox");
        std::fs::create_dir_all(ws.join("pipelines")).unwrap();
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::write(
            ws.join("facteur.toml"),
            format!(
                "[database]\nurl = \"{}\"\n[worker]\nconcurrency = 1\npoll_interval_ms = 100\n\
                 [read]\nsandbox_workers = 1\n[web]\nlisten = \"127.0.0.1:{port}\"\n\
                 public_url = \"http://127.0.0.1:{port}\"\n{}",
                db.url,
                smtp.config()
            ),
        )
        .unwrap();
        std::fs::write(
            ws.join("pipelines/default.toml"),
            "[[source]]\ntype = \"folder\"\nname = \"inbox\"\npath = \"../inbox\"\n\
             stable_secs = 1\npoll_interval_secs = 1\n\n[[approval.rule]]\nname = \"default\"\n\
             steps = [ { approvers = [{ email = \"manager@example.test\", lang = \"fr\" }] } ]\n",
        )
        .unwrap();
        let log = std::fs::File::create(ws.join("run.log")).unwrap();
        let _run = Running(
            Command::new(facteur_bin())
                .args([
                    "--config",
                    &ws.join("facteur.toml").display().to_string(),
                    "run",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start facteur run"),
        );
        std::fs::write(
            inbox.join("facture.pdf"),
            invoice_pdf("FA-2026-0777", "200.00", "40.00", "240.00"),
        )
        .unwrap();
        let arrived = wait_until(Duration::from_secs(60), || async {
            smtp.messages()
                .iter()
                .any(|m| m.contains("To: manager@example.test"))
        })
        .await;
        let run_log = || std::fs::read_to_string(ws.join("run.log")).unwrap_or_default();
        assert!(arrived, "no approval mail arrived:\n{}", run_log());
        let raw = smtp.messages().pop().unwrap();
        let mail = Mail::parse(&raw, port);
        assert!(
            mail.subject.starts_with("Facture à approuver"),
            "{}",
            mail.subject
        );
        assert!(mail.has_pdf);
        let doc = store.list_documents(None, 1).await.unwrap()[0].id;
        assert_eq!(
            store.document(doc).await.unwrap().summary.state,
            DocumentState::PendingApproval
        );
        let page = http(port, "GET", &mail.approve, &[], "").await;
        assert_eq!(page.status, 200, "{}\n{}", page.body, run_log());
        assert!(
            page.body.contains("Approuver cette facture ?"),
            "{}",
            page.body
        );
        let done = submit(port, &mail.approve, &page, "bon pour accord").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("approuvée"), "{}", done.body);
        // Approved, then posted to the ledger by the running worker.
        let posted = wait_until(Duration::from_secs(30), || async {
            store.document(doc).await.unwrap().summary.state == DocumentState::Posted
        })
        .await;
        assert!(posted, "{}", run_log());
        let history: Vec<DocumentState> = store
            .document(doc)
            .await
            .unwrap()
            .events
            .iter()
            .map(|e| e.to_state)
            .collect();
        assert!(history.contains(&DocumentState::Approved), "{history:?}");
        let entries = store.ledger_entries(None, None).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].body.document, Some(doc));
        // `documents show` tells who decided, from where, and why.
        let show = Command::new(facteur_bin())
            .args(["--config", &ws.join("facteur.toml").display().to_string()])
            .args(["documents", "show", &doc.0.to_string(), "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&show.stdout).expect("JSON");
        assert_eq!(v["approvals"][0]["actor"], "manager@example.test", "{v}");
        assert_eq!(v["approvals"][0]["comment"], "bon pour accord");
        assert_eq!(v["approvals"][0]["ip"], "127.0.0.1");
    }
);

/// Runs one statement on the test database directly (what no command does yet).
async fn execute(db: &TestDb, statement: &str) {
    match db.backend {
        crate::helpers::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        crate::helpers::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
    }
}

both_backends!(
    a_changed_invoice_refuses_its_links_and_a_trusted_small_one_needs_nobody,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a.invoice("140.00", None).await;
        let mail = a.links_to("manager@example.test");
        let page = a.http("GET", &mail.approve, &[], "").await;
        assert_eq!(page.status, 200);
        // The amount changes after the mail was sent (no command edits an invoice waiting for
        // approval yet: the database is edited directly).
        execute(
            &db,
            &format!(
                "UPDATE documents SET extraction = REPLACE(extraction, \
                 '\"total_gross\":\"140.00\"', '\"total_gross\":\"141.00\"'), \
                 total_gross = '141.00' WHERE id = {}",
                doc.0
            ),
        )
        .await;
        let again = a.http("GET", &mail.approve, &[], "").await;
        assert_eq!(again.status, 409, "{}", again.body);
        assert!(
            again.body.contains("This invoice changed"),
            "{}",
            again.body
        );
        let post = a.submit(&mail.approve, &page, "").await;
        assert_eq!(post.status, 409, "{}", post.body);
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        assert!(a.store.approval_audit(doc).await.unwrap().is_empty());
        assert_eq!(a.http("GET", &mail.approve, &[], "").await.status, 409);
        // The approvals were reset and the invoice is asked again, with new links.
        a.run().await;
        let asked_again = a.links_to("manager@example.test");
        assert_ne!(asked_again.approve, mail.approve);
        assert!(
            asked_again.subject.contains("141.00"),
            "{}",
            asked_again.subject
        );
        assert_eq!(a.http("GET", &mail.approve, &[], "").await.status, 409);
        let stale = a.submit(&mail.approve, &page, "").await;
        assert_eq!(
            stale.status, 409,
            "an old link cannot reset the new request"
        );
        assert_eq!(a.press(&asked_again.approve, "").await.status, 200);
        assert_eq!(a.state(doc).await, DocumentState::Approved);

        let before = a.smtp.messages().len();
        let small = a.invoice("90.00", None).await;
        // Approved by itself, then posted to the ledger by the same run of the stages.
        assert_eq!(a.state(small).await, DocumentState::Posted);
        let entries = a.store.ledger_entries(None, None).await.unwrap();
        assert_eq!(entries.last().and_then(|e| e.body.document), Some(small));
        let audit = a.store.approval_audit(small).await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].decision, "auto_approve");
        assert_eq!(a.smtp.messages().len(), before, "nobody was asked");
    }
);

both_backends!(
    an_invoice_accepted_in_review_gets_its_approval_request,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let first = a.invoice("250.00", None).await;
        // The same supplier and amount again under another number: held for a person.
        let copy = a.invoice("250.00", None).await;
        assert_eq!(a.state(copy).await, DocumentState::DuplicateSuspected);
        let before = a.smtp.messages().len();
        a.store
            .review_decide(
                copy,
                DocumentState::DuplicateSuspected,
                facteur::store::review::Decision::Accept,
                "clerk@example.test",
                "billed twice on purpose: two deliveries",
                facteur::stages::BUILT,
            )
            .await
            .unwrap();
        a.run().await;
        assert_eq!(
            a.smtp.messages().len(),
            before + 1,
            "one request, to the manager"
        );
        let mail = a.links_to("manager@example.test");
        assert!(
            mail.html.contains(&format!("(document {first})")),
            "the cleared warning is in the mail: {}",
            mail.html
        );
        assert_eq!(a.press(&mail.approve, "").await.status, 200);
        assert_eq!(a.state(copy).await, DocumentState::Approved);
    }
);

both_backends!(
    mail_that_cannot_be_sent_waits_in_the_outbox_and_goes_out_later,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let good = a.settings.smtp.clone().unwrap();
        let mut down = good.clone();
        down.port = Some(free_port()); // nobody listens there
        a.settings.smtp = Some(down);
        let before = a.smtp.messages().len();
        let doc = a.invoice("160.00", None).await; // its send fails
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        assert_eq!(a.smtp.messages().len(), before, "nothing delivered");
        a.settings.smtp = Some(good);
        a.send(now_micros()).await;
        assert_eq!(a.smtp.messages().len(), before, "not before its retry time");
        a.send(now_micros() + chrono::Duration::minutes(2)).await;
        assert_eq!(
            a.smtp.messages().len(),
            before + 1,
            "delivered on the retry"
        );
        let raw = a.smtp.messages().pop().unwrap();
        let id = raw
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
            .expect("a Message-ID");
        assert!(id.trim_end().ends_with("@facteur>"), "{id}");
        a.send(now_micros() + chrono::Duration::hours(2)).await;
        assert_eq!(a.smtp.messages().len(), before + 1, "sent once");
    }
);

both_backends!(
    concurrent_decisions_are_serialised_on_the_invoice,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a.invoice("7000.00", None).await;
        let daf = a.links_to("daf@example.test");
        // The same button pressed twice at once: one decision, one audit row.
        let page = a.http("GET", &daf.approve, &[], "").await;
        let (one, two) = tokio::join!(
            a.submit(&daf.approve, &page, ""),
            a.submit(&daf.approve, &page, "")
        );
        assert_eq!((one.status, two.status), (200, 200));
        assert_eq!(a.store.approval_audit(doc).await.unwrap().len(), 1);
        a.run().await;
        // Both approvers of an all-of step at once: each counts, the invoice moves once.
        let ceo = a.links_to("ceo@example.test");
        let deputy = a.links_to("deputy@example.test");
        let (p1, p2) = tokio::join!(
            a.http("GET", &ceo.approve, &[], ""),
            a.http("GET", &deputy.approve, &[], "")
        );
        let (r1, r2) = tokio::join!(
            a.submit(&ceo.approve, &p1, ""),
            a.submit(&deputy.approve, &p2, "")
        );
        assert_eq!(
            (r1.status, r2.status),
            (200, 200),
            "{}\n{}",
            r1.body,
            r2.body
        );
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        let approvals = a.store.approval_audit(doc).await.unwrap();
        assert_eq!(approvals.len(), 3, "{approvals:?}");
        let history = a.store.document(doc).await.unwrap().events;
        let moves = history
            .iter()
            .filter(|e| e.to_state == DocumentState::Approved)
            .count();
        assert_eq!(moves, 1, "approved once");
    }
);

#[test]
fn check_config_warns_without_rules_and_checks_the_login_amount() {
    let dir = tempfile::tempdir().unwrap();
    let init = Command::new(facteur_bin())
        .arg("init")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(init.status.success());
    let config = dir.path().join("facteur.toml");
    let check = || {
        Command::new(facteur_bin())
            .args(["--config", &config.display().to_string(), "check-config"])
            .output()
            .unwrap()
    };
    let out = check();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("no [[approval.rule]]"), "{stdout}");
    let text = std::fs::read_to_string(&config).unwrap();
    let with =
        |amount: &str| text.replace("[web]\n", &format!("[web]\nlogin_above = \"{amount}\"\n"));
    std::fs::write(&config, with("10000.00")).unwrap();
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&config, with("-5")).unwrap();
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("web.login_above is negative"), "{stderr}");
    assert!(stderr.contains("facteur.toml:"), "with its line: {stderr}");
}

both_backends!(
    a_quorum_step_completes_with_two_of_three,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a.invoice("3500.00", None).await;
        let (ma, mb, mc) = (
            a.links_to("a@example.test"),
            a.links_to("b@example.test"),
            a.links_to("c@example.test"),
        );
        assert!(a
            .press(&ma.approve, "")
            .await
            .body
            .contains("other approvers"));
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval, "1 of 2");
        assert_eq!(a.press(&mb.approve, "").await.status, 200);
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        let late = a.http("GET", &mc.approve, &[], "").await;
        assert!(late.body.contains("no longer waits"), "{}", late.body);
    }
);
