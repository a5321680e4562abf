//! Duplicate detection through the real binary, on both backends, with generated text PDFs and
//! a real scan of one of them: each document is ingested after the earlier ones, as mail would
//! bring them, and the later one carries the verdict.

use std::path::{Path, PathBuf};
use std::process::Command;

use facteur::domain::{DocumentId, DocumentState};

use crate::both_backends;
use crate::helpers::*;

/// A one-page invoice from `seller` (name, VAT id) with these number, date and gross (20 % VAT).
fn invoice(seller: (&str, &str), number: &str, date: &str, net: &str) -> Vec<u8> {
    invoice_paid_to(seller, number, date, net, None)
}

/// The same, with the seller's bank account under its VAT id when `iban` is given.
fn invoice_paid_to(
    seller: (&str, &str),
    number: &str,
    date: &str,
    net: &str,
    iban: Option<&str>,
) -> Vec<u8> {
    let net: rust_decimal::Decimal = net.parse().unwrap();
    let tax = (net * rust_decimal::Decimal::new(20, 2)).round_dp(2);
    let mut lines = vec![
        seller.0.to_string(),
        "12 rue des Lilas, 75011 Paris".to_string(),
        format!("TVA intracommunautaire : {}", seller.1),
        String::new(),
        format!("FACTURE N\u{b0} {number}"),
        format!("Date de facture : {date}"),
        "Client : Boulangerie Martin".to_string(),
        String::new(),
        format!("Total HT : {net} EUR"),
        format!("TVA 20 % : {tax} EUR"),
        format!("Total TTC : {} EUR", net + tax),
    ];
    if let Some(iban) = iban {
        lines.insert(3, format!("IBAN : {iban}"));
    }
    let mut content = String::from("BT /F1 12 Tf 16 TL 56 780 Td\n");
    for l in &lines {
        content.push_str(&format!(
            "T* ({}) Tj\n",
            l.replace('(', "\\(").replace(')', "\\)")
        ));
    }
    content.push_str("ET\n");
    let bytes: Vec<u8> = content
        .chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect();
    facteur::testing::one_page_pdf(&bytes)
}

const ACME: (&str, &str) = ("ACME Fournitures SARL", "FR44732829320");
const OTHER: (&str, &str) = ("Bureau Vallee SAS", "FR40303265045");

struct Workspace {
    dir: PathBuf,
    config: PathBuf,
}

impl Workspace {
    fn new(db: &TestDb) -> Workspace {
        let dir = db.dir.path().join("ws");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("facteur.toml");
        std::fs::write(&config, format!("[database]\nurl = \"{}\"\n", db.url)).unwrap();
        Workspace { dir, config }
    }

    /// Ingests one file (reading and duplicate checks included) and returns its document id.
    async fn ingest(
        &self,
        store: &dyn facteur::store::Store,
        name: &str,
        bytes: &[u8],
    ) -> DocumentId {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new(facteur_bin())
            .args([
                "--config",
                &self.config.display().to_string(),
                "ingest",
                "--quiet",
            ])
            .arg(&path)
            .output()
            .expect("run facteur ingest");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        store.list_documents(None, 1).await.unwrap()[0].id
    }

    /// Ingests two invoices of `seller`, `(number, date, net)` each, the first before the second.
    async fn pair(
        &self,
        store: &dyn facteur::store::Store,
        seller: (&str, &str),
        a: (&str, &str, &str),
        b: (&str, &str, &str),
    ) -> (DocumentId, DocumentId) {
        let first = self
            .ingest(store, "a.pdf", &invoice(seller, a.0, a.1, a.2))
            .await;
        let second = self
            .ingest(store, "b.pdf", &invoice(seller, b.0, b.1, b.2))
            .await;
        (first, second)
    }

    /// Runs `facteur --config … ARGS`.
    fn facteur(&self, args: &[&str]) -> std::process::Output {
        Command::new(facteur_bin())
            .args(["--config", &self.config.display().to_string()])
            .args(args)
            .output()
            .expect("run facteur")
    }

    /// Runs every queued job, as `facteur run` would.
    async fn drain(&self, store: std::sync::Arc<dyn facteur::store::Store>) {
        let settings = facteur::config::Settings::load(&self.config, false).unwrap();
        facteur::worker::Worker::new(&settings, store)
            .drain()
            .await
            .unwrap();
    }
}

async fn state_and_rules(
    store: &dyn facteur::store::Store,
    id: DocumentId,
) -> (DocumentState, Vec<(String, DocumentId)>) {
    let doc = store.document(id).await.unwrap();
    let rules = doc
        .duplicates
        .iter()
        .map(|d| (format!("{:?}:{}", d.rule, d.verdict), d.of))
        .collect();
    (doc.summary.state, rules)
}

both_backends!(
    a_resent_copy_is_blocked_and_the_first_goes_on,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        // The same invoice printed again by the supplier: other bytes, the number laid out otherwise.
        let (first, again) = ws
            .pair(
                store.as_ref(),
                ACME,
                ("FA-2026-0042", "12/03/2026", "100.00"),
                ("FA-2026-00042", "12/03/2026", "100.00"),
            )
            .await;
        assert_ne!(first, again, "different bytes, two documents");
        assert_eq!(
            state_and_rules(store.as_ref(), first).await,
            (DocumentState::PendingApproval, vec![])
        );
        assert_eq!(
            state_and_rules(store.as_ref(), again).await,
            (
                DocumentState::Duplicate,
                vec![("D2:block".to_string(), first)]
            )
        );
        let json = ws.facteur(&["documents", "show", &again.0.to_string(), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
        assert_eq!(v["duplicates"][0]["rule"], "D2");
        assert_eq!(v["duplicates"][0]["verdict"], "block");
        assert_eq!(v["duplicates"][0]["of"], first.0);
    }
);

both_backends!(
    an_ocr_confusable_number_is_suspected,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        let (first, misread) = ws
            .pair(
                store.as_ref(),
                ACME,
                ("INV-1042", "05/04/2026", "1234.50"),
                ("INV-1O42", "05/04/2026", "1234.50"),
            )
            .await;
        assert_eq!(
            state_and_rules(store.as_ref(), misread).await,
            (
                DocumentState::DuplicateSuspected,
                vec![("D3:review".to_string(), first)]
            )
        );
    }
);

both_backends!(
    two_suppliers_with_one_number_are_not_duplicates,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        ws.ingest(
            store.as_ref(),
            "a.pdf",
            &invoice(ACME, "2026-001", "05/04/2026", "80.00"),
        )
        .await;
        let other = ws
            .ingest(
                store.as_ref(),
                "b.pdf",
                &invoice(OTHER, "2026-001", "05/04/2026", "80.00"),
            )
            .await;
        assert_eq!(
            state_and_rules(store.as_ref(), other).await,
            (DocumentState::PendingApproval, vec![])
        );
    }
);

both_backends!(
    monthly_invoices_of_one_amount_are_at_most_a_low_review,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        for (i, date) in ["31/01/2026", "28/02/2026", "31/03/2026", "30/04/2026"]
            .iter()
            .enumerate()
        {
            let id = ws
                .ingest(
                    store.as_ref(),
                    &format!("m{i}.pdf"),
                    &invoice(ACME, &format!("ABO-{}", 7301 + i * 17), date, "49.90"),
                )
                .await;
            let doc = store.document(id).await.unwrap();
            assert!(
                doc.duplicates
                    .iter()
                    .all(|d| d.priority == Some(facteur::dedupe::rules::Priority::Low)),
                "month {i}: {:?}",
                doc.duplicates
            );
            assert_ne!(doc.summary.state, DocumentState::Duplicate);
        }
    }
);

fn render_scan(pdf: &Path, dir: &Path) -> Vec<u8> {
    let stem = dir.join("scan");
    let ok = Command::new("pdftoppm")
        .args(["-r", "200", "-gray", "-png", "-singlefile"])
        .arg(pdf)
        .arg(&stem)
        .status()
        .expect("pdftoppm (scripts/setup installs poppler-utils)");
    assert!(ok.success());
    std::fs::read(stem.with_extension("png")).unwrap()
}

both_backends!(
    a_text_pdf_and_its_own_scan_are_one_invoice,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        let pdf = invoice(ACME, "FA-2026-0815", "12/03/2026", "640.00");
        let first = ws.ingest(store.as_ref(), "a.pdf", &pdf).await;
        let scan = render_scan(&ws.dir.join("a.pdf"), &ws.dir);
        let scanned = ws.ingest(store.as_ref(), "scan.png", &scan).await;
        let (state, rules) = state_and_rules(store.as_ref(), scanned).await;
        assert!(
            matches!(
                state,
                DocumentState::Duplicate | DocumentState::DuplicateSuspected
            ),
            "{state:?} {rules:?}: {:?}",
            store.document(scanned).await.unwrap().summary.reason
        );
        assert!(rules.iter().all(|(_, of)| *of == first), "{rules:?}");
    }
);

both_backends!(
    a_person_overrides_a_block_with_a_reason,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        let (first, again) = ws
            .pair(
                store.as_ref(),
                ACME,
                ("R-77", "02/06/2026", "10.00"),
                ("R-0077", "02/06/2026", "10.00"),
            )
            .await;
        let facteur = |args: &[&str]| ws.facteur(args);
        let list = facteur(&["review", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
        assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v[0]["id"], again.0);
        assert_eq!(v[0]["duplicates"][0]["of"], first.0);
        let all = facteur(&["documents", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&all.stdout).expect("JSON");
        assert!(
            v.as_array()
                .unwrap()
                .iter()
                .all(|d| d["duplicates"].is_array()),
            "{v}"
        );

        let id = again.0.to_string();
        let no_reason = facteur(&["review", "not-duplicate", &id, "--reason", " "]);
        assert_eq!(
            no_reason.status.code(),
            Some(2),
            "a decision needs a reason"
        );
        let accept_blocked = facteur(&["review", "accept", &id, "--reason", "looks fine"]);
        assert_eq!(
            accept_blocked.status.code(),
            Some(2),
            "a block is lifted only by not-duplicate"
        );
        let ok = facteur(&[
            "review",
            "not-duplicate",
            &id,
            "--reason",
            "second delivery, billed twice on purpose",
            "--by",
            "alice",
        ]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let doc = store.document(again).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::PendingApproval);
        assert_eq!(doc.duplicates[0].overridden_by.as_deref(), Some("alice"));
        let last = doc.events.last().unwrap();
        assert!(
            last.reason.contains("alice") && last.reason.contains("billed twice"),
            "{}",
            last.reason
        );
        let twice = facteur(&["review", "reject", &id, "--reason", "too late"]);
        assert_eq!(twice.status.code(), Some(2), "no longer waiting for review");
    }
);

/// A dedupe job's transition for `doc` with invoice number `number` of ACME, as if the stage had
/// looked when nothing else was checked yet.
fn checked_alone(doc: DocumentId, number: &str) -> facteur::store::Transition {
    use facteur::dedupe::keys::{exact_key, ocr_key};
    use facteur::dedupe::rules::Candidate;
    let candidate = Candidate {
        document: doc,
        doc_type: facteur::domain::DocType::Invoice,
        structured: false,
        number: Some(number.into()),
        exact_key: Some(exact_key(number)),
        ocr_key: Some(ocr_key(number)),
        issue_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 12),
        gross: Some(rust_decimal::Decimal::new(12000, 2)),
        currency: Some(facteur::domain::Currency::EUR),
        supplier: facteur::dedupe::supplier::SupplierKeys {
            vat_id: Some(ACME.1.into()),
            ..Default::default()
        },
        preceding: vec![],
    };
    facteur::stages::dedupe::verdict(
        facteur::domain::DocumentState::Read,
        candidate,
        vec![],
        vec![],
        vec![],
        facteur::dedupe::rules::Thresholds::default(),
    )
}

both_backends!(
    two_checks_side_by_side_cannot_miss_each_other,
    |db: TestDb| async move {
        use facteur::domain::Stage;
        use facteur::store::StoreError;
        let store = db.store().await;
        let lease = std::time::Duration::from_secs(60);
        let mut docs = Vec::new();
        for name in ["a", "b"] {
            let raw = facteur::domain::RawDocument {
                bytes: format!("%PDF {name}").into_bytes(),
                name: format!("{name}.pdf"),
                origin: facteur::domain::Origin::Cli { path: name.into() },
            };
            let id = store.intake(&raw).await.unwrap().document();
            let job = store
                .claim_job("w", &[Stage::Read], lease)
                .await
                .unwrap()
                .unwrap();
            let t = facteur::store::Transition {
                to: DocumentState::Read,
                reason: "read".into(),
                effects: facteur::store::Effects::None,
                next: Some(Stage::Dedupe),
            };
            store.complete_job(&job, t).await.unwrap();
            docs.push(id);
        }
        // Both dedupe jobs look before either commits: neither sees the other.
        let first = store
            .claim_job("w1", &[Stage::Dedupe], lease)
            .await
            .unwrap()
            .unwrap();
        let second = store
            .claim_job("w2", &[Stage::Dedupe], lease)
            .await
            .unwrap()
            .unwrap();
        let t1 = checked_alone(first.document, "DUP-1");
        let t2 = checked_alone(second.document, "DUP-1");
        store.complete_job(&second, t2).await.unwrap();
        let r = store.complete_job(&first, t1).await;
        assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
        let doc = store.document(first.document).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::Read, "nothing written");
        assert_eq!(
            doc.jobs.last().unwrap().status,
            "running",
            "the job is still held, to be retried"
        );
    }
);

both_backends!(a_correction_is_checked_again, |db: TestDb| async move {
    let store = db.store().await;
    let ws = Workspace::new(&db);
    // The second invoice printed its number badly: it reads as the first one's.
    let (first, second) = ws
        .pair(
            store.as_ref(),
            ACME,
            ("COR-100", "02/06/2026", "100.00"),
            ("COR-100", "09/06/2026", "250.00"),
        )
        .await;
    assert_eq!(
        state_and_rules(store.as_ref(), second).await,
        (
            DocumentState::Duplicate,
            vec![("D2:block".to_string(), first)]
        )
    );
    let facteur = |args: &[&str]| ws.facteur(&[&["review", "correct"], args].concat());
    let id = second.0.to_string();
    let bad = facteur(&[&id, "total_gross=999.00"]);
    assert_eq!(bad.status.code(), Some(2), "totals no longer add up");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not total_gross"));
    let ok = facteur(&[&id, "invoice_number=COR-101", "--by", "bob"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        store.document(second).await.unwrap().summary.state,
        DocumentState::Read
    );
    // A worker runs the duplicate checks again.
    ws.drain(store.clone()).await;
    let doc = store.document(second).await.unwrap();
    assert_eq!(
        doc.summary.state,
        DocumentState::PendingApproval,
        "{:?}",
        doc.summary.reason
    );
    assert_eq!(doc.summary.invoice_number.as_deref(), Some("COR-101"));
    assert!(doc
        .duplicates
        .iter()
        .all(|d| d.overridden_by.as_deref() == Some("bob")));
    let x = doc.extraction.unwrap();
    assert_eq!(x.confidence_of(facteur::domain::Field::InvoiceNumber), 1.0);
});

impl Workspace {
    /// Sends every reading to review (`true`) or trusts them (`false`) from now on.
    fn doubt_every_reading(&self, doubt: bool, db: &TestDb) {
        let threshold = if doubt { "1.0" } else { "0.5" };
        std::fs::write(
            &self.config,
            format!(
                "[database]\nurl = \"{}\"\n[read]\nreview_threshold = {threshold}\n",
                db.url
            ),
        )
        .unwrap();
    }
}

both_backends!(
    a_reading_in_doubt_is_checked_while_it_waits,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        ws.doubt_every_reading(true, &db);
        let in_doubt = ws
            .ingest(
                store.as_ref(),
                "a.pdf",
                &invoice(ACME, "WAIT-7", "03/07/2026", "300.00"),
            )
            .await;
        let doc = store.document(in_doubt).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::NeedsReview);
        assert!(
            doc.summary
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("checked while waiting for review")),
            "{:?}",
            doc.summary.reason
        );
        // Its keys are there for what arrives next: the re-sent copy is caught while the first
        // still waits for a person.
        ws.doubt_every_reading(false, &db);
        let again = ws
            .ingest(
                store.as_ref(),
                "b.pdf",
                &invoice(ACME, "WAIT-07", "03/07/2026", "300.00"),
            )
            .await;
        assert_eq!(
            state_and_rules(store.as_ref(), again).await,
            (
                DocumentState::Duplicate,
                vec![("D2:block".to_string(), in_doubt)]
            )
        );
        // Accepting the first reading sends it on: nothing it duplicates.
        let out = ws.facteur(&[
            "review",
            "accept",
            &in_doubt.0.to_string(),
            "--reason",
            "read it on paper",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            state_and_rules(store.as_ref(), in_doubt).await,
            (DocumentState::PendingApproval, vec![])
        );
    }
);

both_backends!(
    an_accepted_copy_in_doubt_keeps_its_findings,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        let first = ws
            .ingest(
                store.as_ref(),
                "a.pdf",
                &invoice(ACME, "KEEP-1", "04/07/2026", "120.00"),
            )
            .await;
        ws.doubt_every_reading(true, &db);
        let copy = ws
            .ingest(
                store.as_ref(),
                "b.pdf",
                &invoice(ACME, "KEEP-01", "04/07/2026", "120.00"),
            )
            .await;
        assert_eq!(
            state_and_rules(store.as_ref(), copy).await,
            (
                DocumentState::NeedsReview,
                vec![("D2:block".to_string(), first)]
            )
        );
        let out = ws.facteur(&["review", "accept", &copy.0.to_string(), "--reason", "ok"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            store.document(copy).await.unwrap().summary.state,
            DocumentState::Duplicate,
            "the reading was right, so the duplicate finding stands"
        );
    }
);

both_backends!(
    an_earlier_document_checked_late_hands_the_verdict_to_the_later,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        ws.doubt_every_reading(true, &db);
        let earlier = ws
            .ingest(
                store.as_ref(),
                "a.pdf",
                &invoice(ACME, "LATE-209", "02/06/2026", "100.00"),
            )
            .await;
        ws.doubt_every_reading(false, &db);
        let later = ws
            .ingest(
                store.as_ref(),
                "b.pdf",
                &invoice(ACME, "LATE-201", "09/06/2026", "250.00"),
            )
            .await;
        assert_eq!(
            state_and_rules(store.as_ref(), later).await,
            (DocumentState::PendingApproval, vec![])
        );
        // The reviewer finds the first was misread: it is the same invoice as the later one.
        let out = ws.facteur(&[
            "review",
            "correct",
            &earlier.0.to_string(),
            "invoice_number=LATE-201",
            "total_net=250.00",
            "total_tax=50.00",
            "total_gross=300.00",
            "--by",
            "bob",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ws.drain(store.clone()).await;
        assert_eq!(
            state_and_rules(store.as_ref(), earlier).await,
            (DocumentState::PendingApproval, vec![]),
            "the earlier one keeps its place"
        );
        let (state, rules) = state_and_rules(store.as_ref(), later).await;
        assert_eq!(
            state,
            DocumentState::Duplicate,
            "the later one carries the verdict"
        );
        assert_eq!(rules, vec![("D2:block".to_string(), earlier)]);
    }
);

both_backends!(
    a_remembered_supplier_name_reads_right_next_time,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        ws.doubt_every_reading(true, &db);
        let first = ws
            .ingest(
                store.as_ref(),
                "a.pdf",
                &invoice(ACME, "HINT-1", "01/08/2026", "10.00"),
            )
            .await;
        ws.doubt_every_reading(false, &db);
        let correct = |args: &[&str]| {
            ws.facteur(&[&["review", "correct", &first.0.to_string()], args].concat())
        };
        let nothing = correct(&["invoice_number=HINT-1", "--remember"]);
        assert_eq!(nothing.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&nothing.stderr).contains("only a supplier_name"));
        let ok = correct(&["supplier_name=ACME Fournitures (Lyon)", "--remember"]);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout)
            .contains("remembered: supplier_name = ACME Fournitures (Lyon) for the supplier with vat_id FR44732829320"));
        // The next invoice of that VAT id reads the taught name, with certainty and a note.
        let next = ws
            .ingest(
                store.as_ref(),
                "b.pdf",
                &invoice(ACME, "HINT-2", "01/09/2026", "20.00"),
            )
            .await;
        let x = store.document(next).await.unwrap().extraction.unwrap();
        assert_eq!(
            x.invoice.seller.name.as_deref(),
            Some("ACME Fournitures (Lyon)")
        );
        assert_eq!(x.confidence_of(facteur::domain::Field::SupplierName), 1.0);
        assert!(x.warnings.iter().any(|w| w.contains("earlier correction")));
        // Another supplier is not touched.
        let other = ws
            .ingest(
                store.as_ref(),
                "c.pdf",
                &invoice(OTHER, "HINT-3", "01/09/2026", "20.00"),
            )
            .await;
        let x = store.document(other).await.unwrap().extraction.unwrap();
        assert_ne!(
            x.invoice.seller.name.as_deref(),
            Some("ACME Fournitures (Lyon)")
        );
    }
);

/// The same Factur-X invoice without its embedded XML: a plain PDF that must be read visually.
fn without_embedded_xml(pdf: &[u8]) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(pdf).expect("the demo Factur-X PDF loads");
    let root = doc
        .trailer
        .get(b"Root")
        .and_then(|r| r.as_reference())
        .unwrap();
    let catalog = doc
        .get_object_mut(root)
        .and_then(|o| o.as_dict_mut())
        .unwrap();
    catalog.remove(b"Names");
    catalog.remove(b"AF");
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

both_backends!(
    an_e_invoice_and_its_plain_pdf_are_one_invoice,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        let facturx = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/demo/facturx-le-fournisseur.pdf"
        ))
        .unwrap();
        let first = ws.ingest(store.as_ref(), "facturx.pdf", &facturx).await;
        let plain = ws
            .ingest(store.as_ref(), "plain.pdf", &without_embedded_xml(&facturx))
            .await;
        let read_by = |id| {
            let store = store.clone();
            async move { store.document(id).await.unwrap().extraction.unwrap().method }
        };
        assert_eq!(read_by(first).await, facteur::domain::Method::Xml);
        assert_ne!(
            read_by(plain).await,
            facteur::domain::Method::Xml,
            "read visually"
        );
        // Read visually, the copy may wait for a person first; once its reading is accepted,
        // the duplicate checks run on it.
        let seen = store.document(plain).await.unwrap().summary.state;
        if seen == DocumentState::NeedsReview {
            use facteur::store::review::Decision;
            store
                .review_decide(
                    plain,
                    seen,
                    Decision::Accept,
                    "test",
                    "reading checked",
                    facteur::stages::BUILT,
                )
                .await
                .unwrap();
            ws.drain(store.clone()).await;
        }
        let (state, rules) = state_and_rules(store.as_ref(), plain).await;
        assert_eq!(
            (state, rules),
            (
                DocumentState::Duplicate,
                vec![("D2:block".to_string(), first)]
            )
        );
    }
);

both_backends!(
    an_iban_the_supplier_never_used_sends_its_reading_to_review,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Workspace::new(&db);
        const USUAL: &str = "FR76 3000 6000 0112 3456 7890 189";
        let mut ids = Vec::new();
        // Months apart and other amounts: no duplicate rule has a say.
        for (number, date, net, iban) in [
            ("FA-1", "05/01/2026", "100.00", USUAL),
            ("FA-2", "05/03/2026", "250.00", USUAL),
            (
                "FA-3",
                "05/05/2026",
                "410.00",
                "DE89 3704 0044 0532 0130 00",
            ),
        ] {
            let pdf = invoice_paid_to(ACME, number, date, net, Some(iban));
            ids.push(
                ws.ingest(store.as_ref(), &format!("{number}.pdf"), &pdf)
                    .await,
            );
        }
        // A supplier seen for the first time, then paid to the account it used before: through.
        for id in &ids[..2] {
            let doc = store.document(*id).await.unwrap();
            let shown = ws.facteur(&["documents", "show", &id.0.to_string()]);
            assert_eq!(
                doc.summary.state,
                DocumentState::PendingApproval,
                "{}",
                String::from_utf8_lossy(&shown.stdout)
            );
        }
        // Another account for a known supplier: its reading waits for a person, who is told why.
        let doc = store.document(ids[2]).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::NeedsReview);
        let shown = ws.facteur(&["documents", "show", &ids[2].0.to_string()]);
        let shown = String::from_utf8_lossy(&shown.stdout);
        let read = shown
            .lines()
            .find(|l| l.contains("received → needs_review"))
            .unwrap_or_else(|| panic!("no reading sent it to review: {shown}"));
        assert!(read.contains("supplier iban uncertain"), "{read}");
        assert!(
            read.contains("IBAN DE89370400440532013000 was never seen for this supplier"),
            "{read}"
        );
    }
);
