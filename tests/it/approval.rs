//! Approval workflows end to end, on SQLite and PostgreSQL: invoices read by the real reader,
//! routed by a pipeline's `[[approval.rule]]`s, their mail delivered over SMTP to a real server
//! (aiosmtpd, tests/services/smtp.rs) and read back from its Maildir; the links in the mail are
//! then followed over HTTP against the real axum server, first as a link scanner would (GET,
//! HEAD, a form submitted by script), then as a person.

mod edits;
mod flow;
use crate::smtp;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use facteur::config::Settings;
use facteur::domain::{now_micros, DocumentId, DocumentState, Origin, RawDocument};
use facteur::read::sandbox::SandboxPool;
use facteur::stages::StageContext;
use facteur::store::Store;
use facteur::worker::Worker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_backends;
use crate::helpers::{facteur_bin, invoice_pdf, TestDb};
use smtp::Smtp;

pub(crate) const PIPELINE: &str = r#"
[approval.roles]
board = ["ceo@example.test"]

[[approval.delegation]]
from = "coo@example.test"
to = { email = "deputy@example.test", lang = "fr" }
start = "2000-01-01"
end = "2999-12-31"

[[approval.rule]]
name = "trusted"
max_amount = "100.00"
auto_approve_below = "100.00"
trusted_suppliers = ["FR44732829320"]
steps = [ { approvers = ["manager@example.test"] } ]

[[approval.rule]]
name = "large"
min_amount = "5000.00"
steps = [ { approvers = ["daf@example.test"] },
          { approvers = ["ceo@example.test", { email = "coo@example.test", lang = "fr" }], mode = "all" } ]

[[approval.rule]]
name = "board"
min_amount = "3000.00"
steps = [ { approvers = ["a@example.test", "b@example.test", "c@example.test"], mode = "quorum", quorum = 2 } ]

[[approval.rule]]
name = "medium"
min_amount = "1000.00"
steps = [ { approvers = ["daf@example.test"] },
          { approvers = ["daf@example.test", "role:board"] } ]

[[approval.rule]]
name = "default"
steps = [
  { approvers = ["manager@example.test"], reminder_days = 3, escalate_to = "daf@example.test", escalate_days = 5 },
]
"#;

/// A workspace, its store, the SMTP server, and the web server on a clock the test moves.
pub(crate) struct Approvals {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) settings: Settings,
    smtp: Smtp,
    pub(crate) port: u16,
    /// Seconds added to the web server's clock.
    pub(crate) skew: Arc<AtomicI64>,
    read: usize,
}

impl Approvals {
    async fn start(db: &TestDb) -> Approvals {
        Approvals::start_with(db, PIPELINE).await
    }

    /// A workspace whose pipeline holds `pipeline` (its `[approval]` tables).
    async fn start_with(db: &TestDb, pipeline: &str) -> Approvals {
        Approvals::start_full(db, pipeline, "").await
    }

    /// … and `web` lines added to the `[web]` section of facteur.toml.
    pub(crate) async fn start_full(db: &TestDb, pipeline: &str, web: &str) -> Approvals {
        let store = db.store().await;
        let smtp = Smtp::start();
        let listener = facteur::web::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = db.dir.path().join("ws");
        std::fs::create_dir_all(dir.join("pipelines")).unwrap();
        std::fs::write(dir.join("pipelines/default.toml"), pipeline).unwrap();
        let config = dir.join("facteur.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{}\"\n[web]\npublic_url = \"http://127.0.0.1:{port}/\"\n{web}\n{}",
                db.url,
                smtp.config()
            ),
        )
        .unwrap();
        let settings = Settings::load(&config, false).unwrap();
        let skew = Arc::new(AtomicI64::new(0));
        let mut state = facteur::web::WebState::from_workspace(store.clone(), &settings);
        let clock_skew = skew.clone();
        state.clock =
            Arc::new(move || now_micros() + Duration::seconds(clock_skew.load(Ordering::SeqCst)));
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(facteur::web::serve(listener, state, stop));
        Approvals {
            store,
            settings,
            smtp,
            port,
            skew,
            read: 0,
        }
    }

    /// A worker whose reader children are the facteur binary (this test binary cannot be one).
    pub(crate) fn worker(&self) -> Worker {
        let mut w = Worker::new(&self.settings, self.store.clone());
        let mut sandbox = self.settings.read.sandbox_config();
        sandbox.program = Some(facteur_bin().into());
        sandbox.workers = 1;
        w.ctx = Arc::new(StageContext {
            store: self.store.clone(),
            sandbox: SandboxPool::new(sandbox),
            read_options: self.settings.read.read_options(),
            review_threshold: self.settings.read.review_threshold,
            dedupe: self.settings.dedupe.thresholds(),
            routing: facteur::worker::routing(&self.settings),
            company: self.settings.company.clone(),
        });
        w
    }

    /// Takes in an invoice of `gross` (forwarded by `from`, if given), runs every stage, and
    /// delivers the mail. Returns the document.
    pub(crate) async fn invoice(&mut self, gross: &str, from: Option<&str>) -> DocumentId {
        self.read += 1;
        let g: rust_decimal::Decimal = gross.parse().unwrap();
        let net = (g / rust_decimal::Decimal::new(12, 1)).round_dp(2);
        let pdf = invoice_pdf(
            &format!("F-2026-{:03}", self.read * 7),
            &net.to_string(),
            &(g - net).to_string(),
            gross,
        );
        let origin = match from {
            Some(f) => Origin::Imap {
                source: "mailbox".into(),
                account: "ap@example.test".into(),
                folder: "INBOX".into(),
                uidvalidity: 1,
                uid: self.read as u32,
                message_id: None,
                from: Some(f.into()),
                part: "2".into(),
            },
            None => Origin::Cli {
                path: "invoice.pdf".into(),
            },
        };
        let raw = RawDocument {
            bytes: pdf,
            name: format!("invoice-{}.pdf", self.read),
            origin,
        };
        let id = self.store.intake(&raw).await.unwrap().document();
        self.run().await;
        id
    }

    /// Takes in a file (a Factur-X or CII invoice, say) and runs every stage.
    pub(crate) async fn file(&mut self, bytes: Vec<u8>, name: &str) -> DocumentId {
        let raw = RawDocument {
            bytes,
            name: name.into(),
            origin: Origin::Cli { path: name.into() },
        };
        let id = self.store.intake(&raw).await.unwrap().document();
        self.run().await;
        id
    }

    /// Runs queued jobs and delivers due mail, as `facteur run` would.
    pub(crate) async fn run(&self) {
        self.worker().drain().await.unwrap();
        self.send(now_micros()).await;
    }

    async fn send(&self, now: DateTime<Utc>) {
        let smtp = self.settings.smtp.as_ref().unwrap();
        let sender = facteur::notify::SmtpSender::build(smtp, &self.settings.base_dir).unwrap();
        facteur::notify::send_due(self.store.as_ref(), &sender, now)
            .await
            .unwrap();
    }

    /// Runs the approval scheduler at `now` and delivers what it queued; returns its count.
    async fn follow_up(&self, now: DateTime<Utc>) -> usize {
        let routing = facteur::worker::routing(&self.settings);
        let n = facteur::worker::scheduler::follow_up(self.store.as_ref(), &routing, now)
            .await
            .unwrap();
        self.send(now).await;
        n
    }

    pub(crate) async fn state(&self, id: DocumentId) -> DocumentState {
        self.store.document(id).await.unwrap().summary.state
    }

    /// The decision links of the newest mail to `to`: (approve, reject) paths.
    fn links_to(&self, to: &str) -> Mail {
        let raw = self
            .smtp
            .messages()
            .into_iter()
            .rev()
            .find(|m| m.contains(&format!("To: {to}")))
            .unwrap_or_else(|| panic!("no mail to {to}"));
        Mail::parse(&raw, self.port)
    }

    async fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        http(self.port, method, path, headers, body).await
    }

    /// Opens a link as a person does, then presses its button.
    async fn press(&self, link: &str, comment: &str) -> Reply {
        let page = self.http("GET", link, &[], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        self.submit(link, &page, comment).await
    }

    /// Presses the button of a page already opened (again, for a replay).
    async fn submit(&self, link: &str, page: &Reply, comment: &str) -> Reply {
        submit(self.port, link, page, comment).await
    }
}

/// Presses the button of an opened confirmation page, as a browser does: the page's cookie, its
/// hidden nonce and the button's own value.
async fn submit(port: u16, link: &str, page: &Reply, comment: &str) -> Reply {
    let cookie = page.cookie().expect("the page sets its nonce cookie");
    let csrf = page.hidden("csrf").expect("the form carries the nonce");
    let action = link.rsplit('/').next().unwrap();
    let form = format!(
        "csrf={csrf}&confirm={action}&comment={}",
        comment.replace(' ', "+")
    );
    http(
        port,
        "POST",
        link,
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("User-Agent", "Mozilla/5.0 (approver's phone)"),
        ],
        &form,
    )
    .await
}

/// An approval mail as the approver sees it.
struct Mail {
    subject: String,
    approve: String,
    reject: String,
    links: usize,
    has_pdf: bool,
    html: String,
}

impl Mail {
    fn parse(raw: &str, port: u16) -> Mail {
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("a MIME message");
        let html = m.body_html(0).expect("an HTML part").to_string();
        let prefix = format!("http://127.0.0.1:{port}");
        let re = regex::Regex::new(r#"href="([^"]+)""#).unwrap();
        let links: Vec<String> = re
            .captures_iter(&html)
            .map(|c| c[1].trim_start_matches(&prefix).to_string())
            .collect();
        let find = |end: &str| {
            links
                .iter()
                .find(|l| l.ends_with(end))
                .cloned()
                .expect("both decision links")
        };
        let has_pdf = m.attachments().any(|a| a.contents().starts_with(b"%PDF"));
        Mail {
            subject: m.subject().unwrap_or_default().to_string(),
            approve: find("/approve"),
            reject: find("/reject"),
            links: links.len(),
            has_pdf,
            html,
        }
    }
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn cookie(&self) -> Option<String> {
        self.head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .and_then(|l| l.split_once(':'))
            .and_then(|(_, v)| v.trim().split(';').next())
            .map(str::to_string)
    }

    pub(crate) fn hidden(&self, name: &str) -> Option<String> {
        let re = regex::Regex::new(&format!(r#"name="{name}" value="([0-9a-f]+)""#)).unwrap();
        re.captures(&self.body).map(|c| c[1].to_string())
    }
}

/// One HTTP/1.1 request on a fresh connection (what a scanner or a browser sends).
pub(crate) async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// What a link scanner does with every link of a mail, seconds after delivery.
async fn scan(a: &Approvals, mail: &Mail) {
    for link in [&mail.approve, &mail.reject] {
        let get = a
            .http("GET", link, &[("User-Agent", "SafeLinks")], "")
            .await;
        assert_eq!(
            get.status, 200,
            "a scanner's GET sees the page: {}",
            get.body
        );
        let head = a.http("HEAD", link, &[], "").await;
        assert_eq!(head.status, 200);
        // A scanner that submits the form by script: no button value, no cookie of the page.
        let csrf = get.hidden("csrf").unwrap();
        let submitted = a
            .http(
                "POST",
                link,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                &format!("csrf={csrf}&comment="),
            )
            .await;
        assert_eq!(submitted.status, 403, "{}", submitted.body);
        // Even with the cookie, a form submitted without pressing the button records nothing.
        let cookie = get.cookie().unwrap();
        let scripted = a
            .http(
                "POST",
                link,
                &[
                    ("Cookie", &cookie),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(scripted.status, 403, "{}", scripted.body);
    }
}

both_backends!(
    scanners_change_nothing_and_a_person_approves,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a
            .invoice("120.00", Some("Clerk <clerk@example.test>"))
            .await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        let mail = a.links_to("manager@example.test");
        assert_eq!(mail.links, 2, "exactly two decision links: {}", mail.html);
        assert!(
            mail.subject.starts_with("Invoice to approve"),
            "{}",
            mail.subject
        );
        assert!(mail.html.contains(">Approve</a>") && mail.html.contains(">Reject</a>"));
        assert!(mail.has_pdf, "the invoice is attached");

        scan(&a, &mail).await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        assert!(
            a.store.approval_audit(doc).await.unwrap().is_empty(),
            "nothing recorded"
        );

        // Forged and malformed tokens: 404, whatever the method.
        let forged = format!("/approval/{}/approve", "ab".repeat(32));
        assert_eq!(a.http("GET", &forged, &[], "").await.status, 404);
        assert_eq!(a.http("POST", &forged, &[], "").await.status, 404);
        assert_eq!(
            a.http("GET", "/approval/not-a-token/approve", &[], "")
                .await
                .status,
            404
        );

        let page = a.http("GET", &mail.approve, &[], "").await;
        assert!(
            page.body.contains("Open the invoice (PDF)"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<script"), "no script on the page");
        let pdf_link = mail.approve.replace("/approve", "/document");
        let pdf = a.http("GET", &pdf_link, &[], "").await;
        assert_eq!(pdf.status, 200);
        assert!(pdf.head.contains("application/pdf") && pdf.body.starts_with("%PDF"));
        let done = a.submit(&mail.approve, &page, "ok for me").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        let again = a.submit(&mail.approve, &page, "ok for me").await;
        assert_eq!(again.status, 200);
        assert!(again.body.contains("already recorded"), "{}", again.body);
        let reject = a.http("GET", &mail.reject, &[], "").await;
        assert!(reject.body.contains("already recorded"), "{}", reject.body);
        assert_eq!(
            a.state(doc).await,
            DocumentState::Approved,
            "a replay changes nothing"
        );

        let audit = a.store.approval_audit(doc).await.unwrap();
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].actor, "manager@example.test");
        assert_eq!(audit[0].decision, "approve");
        assert_eq!(audit[0].comment.as_deref(), Some("ok for me"));
        assert_eq!(audit[0].ip.as_deref(), Some("127.0.0.1"));
        assert!(audit[0]
            .user_agent
            .as_deref()
            .unwrap()
            .contains("approver's phone"));
    }
);

both_backends!(
    a_two_step_all_of_workflow_with_segregation_of_duties,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a.invoice("6000.00", None).await;
        let daf = a.links_to("daf@example.test");
        assert!(a
            .press(&daf.approve, "")
            .await
            .body
            .contains("other approvers"));
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        a.run().await; // the next step's requests
        let ceo = a.links_to("ceo@example.test");
        // The COO is away: their deputy is asked, in French, and decides for them.
        let coo = a.links_to("deputy@example.test");
        assert!(
            coo.subject.starts_with("Facture à approuver"),
            "{}",
            coo.subject
        );
        assert!(coo.html.contains(">Approuver</a>") && coo.html.contains(">Rejeter</a>"));
        assert!(coo.html.contains("Pour le compte de"), "{}", coo.html);
        assert!(!a
            .smtp
            .messages()
            .iter()
            .any(|m| m.contains("To: coo@example.test")));
        assert_eq!(a.press(&ceo.approve, "").await.status, 200);
        assert_eq!(
            a.state(doc).await,
            DocumentState::PendingApproval,
            "all of: 1 of 2"
        );
        assert_eq!(a.press(&coo.approve, "").await.status, 200);
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        let audit = a.store.approval_audit(doc).await.unwrap();
        let last = audit.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.on_behalf_of.as_deref()),
            ("deputy@example.test", Some("coo@example.test")),
            "both are recorded"
        );

        // One person cannot satisfy two steps: the DAF approved step 1 of this one.
        let medium = a.invoice("1200.00", None).await;
        let daf1 = a.links_to("daf@example.test");
        assert_eq!(a.press(&daf1.approve, "").await.status, 200);
        a.run().await;
        let daf2 = a.links_to("daf@example.test");
        assert_ne!(daf1.approve, daf2.approve);
        let refused = a.press(&daf2.approve, "").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("two steps"), "{}", refused.body);
        assert_eq!(a.state(medium).await, DocumentState::PendingApproval);
        let ceo = a.links_to("ceo@example.test");
        assert_eq!(a.press(&ceo.approve, "").await.status, 200);
        assert_eq!(a.state(medium).await, DocumentState::Approved);

        // Whoever submitted an invoice cannot approve it; a rejection records its comment.
        let own = a.invoice("150.00", Some("manager@example.test")).await;
        let mine = a.links_to("manager@example.test");
        let refused = a.press(&mine.approve, "").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("submitted"), "{}", refused.body);
        assert_eq!(a.state(own).await, DocumentState::PendingApproval);
        assert_eq!(a.press(&mine.reject, "not ordered").await.status, 200);
        assert_eq!(a.state(own).await, DocumentState::Rejected);
        let audit = a.store.approval_audit(own).await.unwrap();
        let kinds: Vec<&str> = audit.iter().map(|r| r.decision.as_str()).collect();
        assert_eq!(kinds, ["refused", "reject"]);
        assert_eq!(audit[1].comment.as_deref(), Some("not ordered"));
    }
);

both_backends!(
    reminders_escalations_and_expiry_follow_the_clock,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        let doc = a.invoice("130.00", None).await;
        let first = a.links_to("manager@example.test");
        // The scheduler's clock: `days` after the request (and a minute).
        let fire =
            |days: i64| a.follow_up(now_micros() + Duration::days(days) + Duration::minutes(1));
        assert_eq!(fire(2).await, 0, "no reminder before 3 days");
        assert_eq!(fire(3).await, 1);
        let reminder = a.links_to("manager@example.test");
        assert!(
            reminder.subject.starts_with("Reminder"),
            "{}",
            reminder.subject
        );
        assert_ne!(reminder.approve, first.approve, "a fresh link");
        assert_eq!(fire(4).await, 0, "one reminder");
        assert_eq!(fire(5).await, 1, "the escalation");
        let escalated = a.links_to("daf@example.test");
        assert!(
            escalated.subject.starts_with("Escalated"),
            "{}",
            escalated.subject
        );

        // Eight days on, the first mail's links have expired: 410, and nothing changes.
        a.skew.store(8 * 86_400, Ordering::SeqCst);
        assert_eq!(a.http("GET", &first.approve, &[], "").await.status, 410);
        let page = a.http("GET", &escalated.approve, &[], "").await;
        assert_eq!(
            page.status, 200,
            "the escalation's link is seven days from its own mail"
        );
        a.skew.store(6 * 86_400, Ordering::SeqCst);
        let stale = a.http("GET", &first.approve, &[], "").await;
        assert_eq!(stale.status, 200);
        let done = a.press(&escalated.approve, "").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        a.skew.store(8 * 86_400, Ordering::SeqCst);
        let form = format!("csrf={}&confirm=approve", stale.hidden("csrf").unwrap());
        let cookie = stale.cookie().unwrap();
        let late = a
            .http(
                "POST",
                &first.approve,
                &[
                    ("Cookie", &cookie),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &form,
            )
            .await;
        assert_eq!(late.status, 410, "{}", late.body);
        let bare = a.http("POST", &first.approve, &[], "").await;
        assert_eq!(bare.status, 410, "expired, plainly, whatever was posted");
        assert_eq!(a.state(doc).await, DocumentState::Approved);
    }
);
