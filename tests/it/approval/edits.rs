//! Workflows chosen by what the invoice says beyond its amount, and approvals that follow the
//! invoice when a person edits it: a cost centre (BT-10) and an expense account choose the rule
//! and the cost centre's owner is asked; a foreign invoice waits for its exchange rate rather
//! than fall through the amount thresholds; editing the amount resets the approvals given at
//! once (the old links answer "changed", a new request goes out), editing the due date keeps
//! them.

use facteur::domain::correction::{apply, Correction};

use super::*;
use crate::helpers::corpus;

const BY_FIELD: &str = r#"
[approval.owners.cost_centre]
"08154711" = [{ email = "cc-owner@example.test", lang = "fr" }]
"*" = ["controller@example.test"]

[approval.owners.gl_account]
"60" = ["purchasing@example.test"]

[[approval.rule]]
name = "cost centre"
cost_centres = ["08154711"]
gl_accounts = ["60"]
steps = [ { approvers = ["owner:cost_centre"] },
          { approvers = ["owner:gl_account"] } ]

[[approval.rule]]
name = "large"
min_amount = "5000.00"
steps = [ { approvers = ["daf@example.test"] } ]

[[approval.rule]]
name = "default"
steps = [ { approvers = ["owner:cost_centre"] } ]
"#;

/// The history reasons of a document, oldest first.
async fn history(a: &Approvals, id: DocumentId) -> Vec<String> {
    let doc = a.store.document(id).await.unwrap();
    doc.events.iter().map(|e| e.reason.clone()).collect()
}

both_backends!(
    a_cost_centre_and_an_account_choose_the_rule_and_its_owners_approve,
    |db: TestDb| async move {
        let mut a = Approvals::start_with(&db, BY_FIELD).await;
        // A real EN 16931 invoice whose buyer reference (BT-10) is 08154711, 529.87 EUR.
        let xml = std::fs::read(corpus().join("horstoeko-zugferd/xml_en16931_1.xml")).unwrap();
        let doc = a.file(xml, "xml_en16931_1.xml").await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        let owner = a.links_to("cc-owner@example.test");
        assert!(
            owner.subject.starts_with("Facture à approuver"),
            "the owner's own language: {}",
            owner.subject
        );
        assert!(
            history(&a, doc)
                .await
                .iter()
                .any(|r| r.contains("rule 'cost centre', step 1 of 2")),
            "{:?}",
            history(&a, doc).await
        );
        assert_eq!(a.press(&owner.approve, "").await.status, 200);
        a.run().await;
        // Step 2: the owner of the expense account (606 by default, under "60").
        let purchasing = a.links_to("purchasing@example.test");
        assert_eq!(a.press(&purchasing.approve, "").await.status, 200);
        assert_eq!(a.state(doc).await, DocumentState::Approved);

        // An invoice with no cost centre goes to the catch-all owner under the default rule.
        let plain = a.invoice("240.00", None).await;
        assert_eq!(a.state(plain).await, DocumentState::PendingApproval);
        a.links_to("controller@example.test");
    }
);

both_backends!(
    a_foreign_invoice_waits_for_its_rate_instead_of_a_lighter_workflow,
    |db: TestDb| async move {
        let mut a = Approvals::start_with(&db, BY_FIELD).await;
        // A real invoice in Hungarian forint: a threshold in euros says nothing about it.
        let xml =
            std::fs::read(corpus().join("en16931-examples/cii__examples__huf_example_cii.xml"))
                .unwrap();
        let doc = a.file(xml, "huf.xml").await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        let reasons = history(&a, doc).await;
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("no exchange rate from HUF to EUR")),
            "{reasons:?}"
        );
        assert!(
            a.store.approval_progress(doc).await.unwrap().is_none(),
            "nobody was asked"
        );
        assert!(a.smtp.messages().is_empty(), "no mail");

        // With the day's rate (as `facteur rates set` writes it, then queues the waiting
        // invoices), 87,859 HUF is 244.05 EUR: the default workflow, not "large" (which the
        // forint figure, unconverted, would have chosen).
        let huf = facteur::domain::Currency::parse("HUF").unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2021, 10, 5).unwrap();
        let rate = facteur::ledger::fx::Rate::new(
            huf,
            day,
            "360.00".parse().unwrap(),
            facteur::ledger::fx::RateSource::Manual,
        )
        .unwrap();
        a.store.set_rates(&[rate]).await.unwrap();
        a.store
            .backfill(&[facteur::domain::Stage::Approve])
            .await
            .unwrap();
        a.run().await;
        let p = a.store.approval_progress(doc).await.unwrap().unwrap();
        assert_eq!(p.rule, "default", "{p:?}");
        a.links_to("controller@example.test");
    }
);

/// Applies `field=value` corrections to a document as `facteur review correct` does.
async fn correct(a: &Approvals, id: DocumentId, fields: &[&str]) -> DocumentState {
    let doc = a.store.document(id).await.unwrap();
    let parsed: Vec<_> = fields
        .iter()
        .map(|f| Correction::parse(f).unwrap())
        .collect();
    let corrected = apply(doc.extraction.unwrap(), &parsed).unwrap();
    a.store
        .review_correct(
            id,
            doc.summary.state,
            &corrected,
            &[],
            "clerk",
            &fields.join(", "),
            facteur::stages::BUILT,
        )
        .await
        .unwrap()
}

both_backends!(
    editing_the_amount_resets_approvals_at_once_and_the_due_date_does_not,
    |db: TestDb| async move {
        let mut a = Approvals::start(&db).await;
        // The "medium" rule: the DAF, then the DAF or the board.
        let doc = a.invoice("1200.00", None).await;
        let daf = a.links_to("daf@example.test");
        assert_eq!(a.press(&daf.approve, "").await.status, 200);
        a.run().await;
        let ceo = a.links_to("ceo@example.test");

        // The due date is not what an approval vouches for: the approvals stand.
        assert_eq!(
            correct(&a, doc, &["due_date=2026-05-30"]).await,
            DocumentState::Read
        );
        a.run().await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        let p = a.store.approval_progress(doc).await.unwrap().unwrap();
        assert!(p.steps[0].done, "step 1 is still approved: {p:?}");

        // The amount is: step 1's approval is set aside at the edit, before any link is used.
        let before = a.smtp.messages().len();
        assert_eq!(
            correct(
                &a,
                doc,
                &[
                    "total_net=1250.00",
                    "total_tax=250.00",
                    "total_gross=1500.00"
                ]
            )
            .await,
            DocumentState::Read
        );
        assert!(
            a.store.approval_progress(doc).await.unwrap().is_none(),
            "the workflow is reset by the edit itself"
        );
        let reasons = history(&a, doc).await;
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("approvals given are reset")),
            "{reasons:?}"
        );
        let stale = a.http("GET", &ceo.approve, &[], "").await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        a.run().await;
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);
        assert!(a.smtp.messages().len() > before, "a new request went out");
        let again = a.links_to("daf@example.test");
        assert_ne!(again.approve, daf.approve);
        assert_eq!(a.press(&again.approve, "").await.status, 200);
        let audit = a.store.approval_audit(doc).await.unwrap();
        assert_eq!(
            audit.iter().filter(|r| r.decision == "approve").count(),
            2,
            "both approvals are kept for the audit: {audit:?}"
        );

        // An approved invoice corrected without touching what was approved is approved again.
        a.run().await;
        let board = a.links_to("ceo@example.test");
        assert_eq!(a.press(&board.approve, "").await.status, 200);
        assert_eq!(a.state(doc).await, DocumentState::Approved);
        correct(&a, doc, &["due_date=2026-06-15"]).await;
        a.run().await;
        assert_eq!(
            a.state(doc).await,
            DocumentState::Posted,
            "approved again, then posted: {:?}",
            history(&a, doc).await
        );
        assert!(history(&a, doc)
            .await
            .iter()
            .any(|r| r.contains("approved earlier (rule 'medium')")));
    }
);

both_backends!(
    above_the_login_amount_a_link_decides_only_for_its_approver_signed_in,
    |db: TestDb| async move {
        let mut a = Approvals::start_full(&db, super::PIPELINE, "login_above = \"1000.00\"").await;
        // "medium": the DAF first. Below the amount, no sign-in is asked (the trusted rule).
        let doc = a.invoice("1200.00", None).await;
        let daf = a.links_to("daf@example.test");
        let page = a.http("GET", &daf.approve, &[], "").await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.body.contains("Sign in to decide"), "{}", page.body);
        assert!(page.hidden("csrf").is_none(), "no form before the sign-in");
        let forced = a.http("POST", &daf.approve, &[], "confirm=approve").await;
        assert_eq!(forced.status, 401);
        assert_eq!(a.state(doc).await, DocumentState::PendingApproval);

        let password = "a long enough password";
        for who in ["daf@example.test", "manager@example.test"] {
            let hash = facteur::users::Password::parse(password)
                .unwrap()
                .hash()
                .unwrap();
            let email = facteur::users::Email::parse(who).unwrap();
            let role = facteur::users::Role::Approver;
            a.store.add_user(&email, role, &hash, "test").await.unwrap();
        }
        let sign_in = |who: &'static str| async move {
            let form = http(a.port, "GET", "/login", &[], "").await;
            let body = format!(
                "csrf={}&next=%2F&email={}&password={}",
                form.hidden("csrf").unwrap(),
                who.replace('@', "%40"),
                password.replace(' ', "+")
            );
            let cookie = form.cookie().unwrap();
            let r = http(
                a.port,
                "POST",
                "/login",
                &[
                    ("Cookie", &cookie),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                &body,
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
            r.cookie().unwrap()
        };
        // Someone else signed in is not the approver.
        let manager = sign_in("manager@example.test").await;
        let other = a
            .http("GET", &daf.approve, &[("Cookie", &manager)], "")
            .await;
        assert_eq!(other.status, 401, "{}", other.body);

        let session = sign_in("daf@example.test").await;
        let page = a
            .http("GET", &daf.approve, &[("Cookie", &session)], "")
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let cookies = format!("{}; {session}", page.cookie().unwrap());
        let done = http(
            a.port,
            "POST",
            &daf.approve,
            &[
                ("Cookie", &cookies),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!(
                "csrf={}&confirm=approve&comment=",
                page.hidden("csrf").unwrap()
            ),
        )
        .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let p = a.store.approval_progress(doc).await.unwrap().unwrap();
        assert!(p.steps[0].done, "step 1 approved by the signed-in DAF");
    }
);
