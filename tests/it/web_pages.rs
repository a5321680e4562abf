//! The dashboard's approvals, ledger and reports pages over real HTTP against the real server,
//! on SQLite and PostgreSQL, with invoices read by the real reader and routed by the approval
//! tests' pipeline (`manager@example.test` approves what is between 100 and 1000): which role
//! sees which page, a decision on /approvals under the emailed links' rules (a viewer cannot,
//! no nonce no decision, segregation of duties, someone else's request, a replay), the FEC
//! download equal to the CLI's file, the charts drawn, and HTML in a supplier's name escaped on
//! every page.

use facteur::domain::{DocumentId, DocumentState, Origin, RawDocument};
use facteur::users::totp::TotpSecret;
use facteur::users::Role;

use crate::approval::{http, Approvals, Reply, PIPELINE};
use crate::both_backends;
use crate::helpers::{facteur_bin, invoice_pdf_from, TestDb};
use crate::web::{add, signed_in};

/// `[web]` and `[company]` lines: the FEC needs the SIREN.
pub(crate) const WEB: &str =
    "lang = \"en\"\n[company]\nname = \"Boulangerie Martin\"\nsiren = \"732829320\"\n";

/// The people of these tests: (email, role, second factor).
pub(crate) struct People {
    pub(crate) viewer: String,
    pub(crate) approver: String,
    pub(crate) accountant: String,
    pub(crate) admin: String,
}

pub(crate) async fn people(a: &Approvals) -> People {
    let store = &a.store;
    add(store, "look@example.test", Role::Viewer).await;
    add(store, "manager@example.test", Role::Approver).await;
    let ctl = add(store, "ctl@example.test", Role::Accountant).await;
    let root = add(store, "root@example.test", Role::Admin).await;
    let (s1, s2) = (TotpSecret::generate(), TotpSecret::generate());
    store.enrol_totp(ctl, &s1, &[]).await.unwrap();
    store.enrol_totp(root, &s2, &[]).await.unwrap();
    People {
        viewer: signed_in(a.port, "look@example.test", None).await,
        approver: signed_in(a.port, "manager@example.test", None).await,
        accountant: signed_in(a.port, "ctl@example.test", Some(&s1)).await,
        admin: signed_in(a.port, "root@example.test", Some(&s2)).await,
    }
}

pub(crate) async fn get(a: &Approvals, path: &str, cookie: &str) -> Reply {
    http(a.port, "GET", path, &[("Cookie", cookie)], "").await
}

pub(crate) async fn post(a: &Approvals, path: &str, cookie: &str, body: &str) -> Reply {
    http(
        a.port,
        "POST",
        path,
        &[
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .await
}

/// The request id of the first decision form of an approvals page.
pub(crate) fn request_of(page: &Reply) -> i64 {
    let re = regex::Regex::new(r#"action="/approvals/(\d+)""#).unwrap();
    re.captures(&page.body)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("no decision form: {}", page.body))
}

/// Presses a button of the approvals page as `cookie`'s browser does.
pub(crate) async fn decide(
    a: &Approvals,
    cookie: &str,
    request: i64,
    decision: &str,
    comment: &str,
) -> Reply {
    let page = get(a, "/approvals", cookie).await;
    let csrf = page.hidden("csrf").expect("the session's nonce");
    post(
        a,
        &format!("/approvals/{request}"),
        cookie,
        &format!(
            "csrf={csrf}&decision={decision}&comment={}",
            comment.replace(' ', "+")
        ),
    )
    .await
}

/// An invoice forwarded by `from` (its submitter), read and routed.
async fn forwarded(a: &mut Approvals, number: &str, gross: &str, from: &str) -> DocumentId {
    let g: rust_decimal::Decimal = gross.parse().unwrap();
    let net = (g / rust_decimal::Decimal::new(12, 1)).round_dp(2);
    let raw = RawDocument {
        bytes: invoice_pdf_from(
            "ACME Fournitures SARL",
            number,
            &net.to_string(),
            &(g - net).to_string(),
            gross,
        ),
        name: format!("{number}.pdf"),
        origin: Origin::Imap {
            source: "mailbox".into(),
            account: "ap@example.test".into(),
            folder: "INBOX".into(),
            uidvalidity: 1,
            uid: number.len() as u32 + gross.len() as u32,
            message_id: None,
            from: Some(from.into()),
            part: "2".into(),
        },
    };
    let id = a.store.intake(&raw).await.unwrap().document();
    a.run().await;
    id
}

both_backends!(
    each_page_answers_the_roles_that_may_see_it_and_the_fec_is_the_clis,
    |db: TestDb| async move {
        let mut a = Approvals::start_full(&db, PIPELINE, WEB).await;
        let doc = a.invoice("120.00", None).await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        let p = people(&a).await;

        let anonymous = http(a.port, "GET", "/approvals", &[], "").await;
        assert_eq!(anonymous.status, 303);
        assert!(
            anonymous.head.contains("/login?next=/approvals"),
            "{}",
            anonymous.head
        );

        let waiting = get(&a, "/approvals", &p.approver).await;
        assert_eq!(waiting.status, 200, "{}", waiting.body);
        assert!(waiting.body.contains("120.00 EUR"), "{}", waiting.body);
        let request = request_of(&waiting);
        let done = decide(&a, &p.approver, request, "approve", "ok for me").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Decision recorded"), "{}", done.body);
        a.run().await;
        assert_eq!(a.state(doc).await, DocumentState::Posted);

        // (page, [viewer, approver, accountant, admin]) statuses.
        let year = chrono::Utc::now().format("%Y").to_string();
        let matrix = [
            ("/approvals", [403, 200, 200, 200]),
            ("/ledger", [200, 200, 200, 200]),
            ("/reports", [200, 200, 200, 200]),
            ("/reports/aged.csv", [200, 200, 200, 200]),
            ("/reports/days.csv", [200, 200, 200, 200]),
            ("/reports/intake.csv", [200, 200, 200, 200]),
            ("/ledger/fec?year=2026", [403, 403, 200, 200]),
        ];
        let cookies = [&p.viewer, &p.approver, &p.accountant, &p.admin];
        for (path, want) in matrix {
            for (cookie, status) in cookies.iter().zip(want) {
                let r = get(&a, path, cookie).await;
                assert_eq!(r.status, status, "{path}: {}", r.body);
            }
        }
        let approvals = get(&a, "/approvals", &p.accountant).await;
        assert!(
            approvals.body.contains("0 invoice(s) wait"),
            "{}",
            approvals.body
        );

        let ledger = get(&a, "/ledger", &p.viewer).await;
        assert!(ledger.body.contains("HA — Achats"), "{}", ledger.body);
        assert!(
            ledger.body.contains("F-2026-007") && ledger.body.contains("120.00"),
            "{}",
            ledger.body
        );
        assert!(ledger.body.contains("id=\"trial-balance\""));
        assert!(
            !ledger.body.contains("action=\"/ledger/fec\""),
            "no FEC form for a viewer"
        );
        let supplier_row =
            regex::Regex::new(r"(?s)id=.suppliers.*ACME Fournitures SARL.*120\.00").unwrap();
        assert!(
            supplier_row.is_match(&ledger.body),
            "the open item: {}",
            ledger.body
        );
        let ledger = get(&a, "/ledger", &p.accountant).await;
        assert!(
            ledger.body.contains("action=\"/ledger/fec\""),
            "{}",
            ledger.body
        );
        assert!(
            ledger.body.contains(&format!("<option value=\"{year}\">")),
            "{}",
            ledger.body
        );

        let reports = get(&a, "/reports", &p.viewer).await;
        let svg = regex::Regex::new(r#"(?s)<svg id="aged-chart".*?</svg>"#).unwrap();
        let chart = svg
            .find(&reports.body)
            .expect("the aged balance chart")
            .as_str();
        assert!(
            chart.contains("class=\"bar\"") && chart.contains("120.00"),
            "{chart}"
        );
        for id in [
            "days-chart",
            "intake-chart",
            "aged-table",
            "days-table",
            "intake-table",
        ] {
            assert!(reports.body.contains(&format!("id=\"{id}\"")), "{id}");
        }
        let aged = get(&a, "/reports/aged.csv", &p.viewer).await;
        assert!(aged.head.contains("text/csv"), "{}", aged.head);
        assert!(
            aged.body.starts_with("side,party,name,not_due"),
            "{}",
            aged.body
        );
        assert!(
            aged.body.contains("ap,") && aged.body.contains(",120.00"),
            "{}",
            aged.body
        );
        let intake = get(&a, "/reports/intake.csv", &p.viewer).await;
        let last = intake.body.lines().last().unwrap();
        assert!(
            last.ends_with(",1,1,100.0"),
            "one received, straight through: {}",
            intake.body
        );

        let fec = get(&a, "/ledger/fec?year=2026", &p.accountant).await;
        assert!(
            fec.head
                .contains("attachment; filename=\"732829320FEC20261231.txt\""),
            "{}",
            fec.head
        );
        let out = db.dir.path().join("fec");
        let config = db.dir.path().join("ws/facteur.toml");
        let cli = std::process::Command::new(facteur_bin())
            .arg("--config")
            .arg(&config)
            .args(["export", "fec", "--year", "2026", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(cli.status.success(), "{}", crate::helpers::said(&cli));
        let file = std::fs::read_to_string(out.join("732829320FEC20261231.txt")).unwrap();
        assert_eq!(fec.body, file, "the download is the CLI's FEC");
        assert!(file.contains("ACME"), "{file}");
        let bad = get(&a, "/ledger/fec?year=soon", &p.admin).await;
        assert_eq!(bad.status, 422, "{}", bad.body);

        let audit = a.store.web_audit(50).await.unwrap();
        for (actor, action) in [
            ("manager@example.test", "approval approve"),
            ("ctl@example.test", "export fec"),
        ] {
            assert!(
                audit.iter().any(|l| l.actor == actor && l.action == action),
                "{actor} {action}: {audit:?}"
            );
        }
    }
);

both_backends!(
    a_decision_on_the_dashboard_follows_the_links_rules,
    |db: TestDb| async move {
        let mut a = Approvals::start_full(&db, PIPELINE, WEB).await;
        let own = forwarded(
            &mut a,
            "F-2026-101",
            "240.00",
            "Manager <manager@example.test>",
        )
        .await;
        let other = forwarded(&mut a, "F-2026-102", "360.00", "Clerk <clerk@example.test>").await;
        for d in [own, other] {
            assert_eq!(a.state(d).await, DocumentState::PendingApproval);
        }
        let p = people(&a).await;
        let page = get(&a, "/approvals", &p.approver).await;
        assert!(page.body.contains("2 invoice(s) wait"), "{}", page.body);
        let requests: Vec<i64> = regex::Regex::new(r#"action="/approvals/(\d+)""#)
            .unwrap()
            .captures_iter(&page.body)
            .map(|c| c[1].parse().unwrap())
            .collect();
        assert_eq!(requests.len(), 2);
        let (mine, theirs) = (requests[0], requests[1]);

        // A viewer (even with their own nonce), a form without the nonce, and someone who is not
        // the approver all change nothing.
        let vpage = get(&a, "/ledger", &p.viewer).await;
        let vcsrf = vpage.hidden("csrf").unwrap();
        let viewer = post(
            &a,
            &format!("/approvals/{theirs}"),
            &p.viewer,
            &format!("csrf={vcsrf}&decision=approve"),
        )
        .await;
        assert_eq!(viewer.status, 403, "{}", viewer.body);
        let bare = post(
            &a,
            &format!("/approvals/{theirs}"),
            &p.approver,
            "decision=approve",
        )
        .await;
        assert_eq!(bare.status, 403, "{}", bare.body);
        let forged = post(
            &a,
            &format!("/approvals/{theirs}"),
            &p.approver,
            "csrf=00ff&decision=approve",
        )
        .await;
        assert_eq!(forged.status, 403, "{}", forged.body);
        let stranger = decide(&a, &p.accountant, theirs, "approve", "").await;
        assert_eq!(
            stranger.status, 404,
            "not the accountant's request: {}",
            stranger.body
        );
        assert_eq!(a.state(other).await, DocumentState::PendingApproval);

        // Segregation of duties: the manager forwarded the first invoice.
        let refused = decide(&a, &p.approver, mine, "approve", "").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(
            refused.body.contains("You cannot approve this invoice"),
            "{}",
            refused.body
        );
        assert_eq!(a.state(own).await, DocumentState::PendingApproval);

        let rejected = decide(&a, &p.approver, theirs, "reject", "wrong <b>price</b>").await;
        assert_eq!(rejected.status, 200, "{}", rejected.body);
        assert!(
            rejected.body.contains("Decision recorded"),
            "{}",
            rejected.body
        );
        assert_eq!(a.state(other).await, DocumentState::Rejected);
        let replay = decide(&a, &p.approver, theirs, "approve", "").await;
        assert_eq!(replay.status, 200);
        assert!(replay.body.contains("Already decided"), "{}", replay.body);
        assert_eq!(a.state(other).await, DocumentState::Rejected);
        let after = get(&a, "/approvals", &p.approver).await;
        assert!(after.body.contains("1 invoice(s) wait"), "{}", after.body);

        let trail = a.store.approval_audit(other).await.unwrap();
        let last = trail.last().unwrap();
        assert_eq!(
            (
                last.actor.as_str(),
                last.decision.as_str(),
                last.comment.as_deref()
            ),
            ("manager@example.test", "reject", Some("wrong <b>price</b>"))
        );
        let own_trail = a.store.approval_audit(own).await.unwrap();
        assert_eq!(own_trail.last().unwrap().decision, "refused");
        let web = a.store.web_audit(50).await.unwrap();
        let actions: Vec<&str> = web
            .iter()
            .filter(|l| l.actor == "manager@example.test")
            .map(|l| l.action.as_str())
            .collect();
        assert!(
            actions.contains(&"approval reject") && actions.contains(&"approval refused"),
            "{actions:?}"
        );
    }
);

both_backends!(
    html_in_a_supplier_name_comes_back_escaped_on_every_page,
    |db: TestDb| async move {
        const EVIL: &str = "<script>alert(1)</script> Fournitures SARL";
        let mut a = Approvals::start_full(&db, PIPELINE, WEB).await;
        let pdf =
            |n: &str, net: &str, tax: &str, gross: &str| invoice_pdf_from(EVIL, n, net, tax, gross);
        let posted = a
            .file(pdf("F-EV-1", "200.00", "40.00", "240.00"), "ev1.pdf")
            .await;
        let waiting = a
            .file(pdf("F-EV-2", "300.00", "60.00", "360.00"), "ev2.pdf")
            .await;
        let read = a.store.document(waiting).await.unwrap().summary;
        assert_eq!(read.state, DocumentState::PendingApproval);
        assert!(
            read.supplier_name
                .as_deref()
                .unwrap_or("")
                .contains("<script>"),
            "the reader kept the name as written: {read:?}"
        );
        let p = people(&a).await;
        let page = get(&a, "/approvals", &p.approver).await;
        let first = request_of(&page);
        let done = decide(&a, &p.approver, first, "approve", "").await;
        assert_eq!(done.status, 200, "{}", done.body);
        a.run().await;
        assert_eq!(a.state(posted).await, DocumentState::Posted);

        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; Fournitures SARL";
        for (path, cookie) in [
            ("/".to_string(), &p.accountant),
            (format!("/documents/{}", waiting.0), &p.accountant),
            ("/approvals".to_string(), &p.approver),
            ("/ledger".to_string(), &p.viewer),
            ("/reports".to_string(), &p.viewer),
        ] {
            let r = get(&a, &path, cookie).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert!(
                !r.body.contains("<script>"),
                "{path} carries markup: {}",
                r.body
            );
            assert!(
                r.body.contains(escaped),
                "{path} shows the name escaped: {}",
                r.body
            );
        }
    }
);
