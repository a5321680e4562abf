//! The ledger (issue 12), on both backends: postings are idempotent, numbered without gaps and
//! chained; the database itself refuses an unbalanced entry and any change or deletion; a
//! locked period refuses postings; a reversal restores the balances once; `ledger verify`
//! finds a row altered behind facteur's back; an approved invoice is posted by a worker and
//! appears in the FEC.

use chrono::NaiveDate;
use facteur::domain::{Currency, DocumentId, DocumentState};
use facteur::ledger::entry::{Auxiliary, EntryBody, Journal, Line, NewEntry};
use facteur::ledger::AccountNumber;
use facteur::store::ledger::ChainCheck;
use facteur::store::{Store, StoreError};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;

fn acc(n: &str) -> AccountNumber {
    AccountNumber::parse(n).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// A supplier invoice of `gross` (20 % VAT) dated March `d`.
pub(crate) fn purchase(key: &str, d: u32, net: Decimal) -> NewEntry {
    let tax = (net * dec!(0.2)).round_dp(2);
    NewEntry::new(
        EntryBody {
            journal: Journal::Purchases,
            date: day(d),
            label: format!("ACME {key}"),
            piece_ref: key.into(),
            piece_date: day(d),
            currency: Currency::EUR,
            document: None,
            reverses: None,
            lines: vec![
                Line::debit(acc("606"), key, net),
                Line::debit(acc("44566"), key, tax),
                Line::credit(acc("401"), key, net + tax).with_auxiliary(Auxiliary::of(
                    'F',
                    "732829320",
                    "ACME",
                )),
            ],
        },
        key,
    )
    .unwrap()
}

/// A workspace on the test database whose facteur.toml adds `extra` (a `[company]` section):
/// documents go in through the real binary, and a person's approval is written as the approval
/// stage records it (approval is tested in tests/it/approval/).
pub(crate) struct Books {
    pub(crate) ws: std::path::PathBuf,
    pub(crate) config: std::path::PathBuf,
}

impl Books {
    pub(crate) fn new(db: &TestDb, extra: &str) -> Books {
        let ws = db.dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let config = ws.join("facteur.toml");
        std::fs::write(
            &config,
            format!("[database]\nurl = \"{}\"\n{extra}", db.url),
        )
        .unwrap();
        Books { ws, config }
    }

    /// Runs `facteur --config … ARGS`.
    pub(crate) fn facteur(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(facteur_bin())
            .args(["--config", &self.config.display().to_string()])
            .args(args)
            .output()
            .unwrap()
    }

    /// Ingests one file (read and duplicate-checked); returns its document.
    pub(crate) async fn ingest(&self, store: &dyn Store, path: &std::path::Path) -> DocumentId {
        let out = self.facteur(&["ingest", "--quiet", &path.display().to_string()]);
        assert!(out.status.code().is_some_and(|c| c <= 1));
        store.list_documents(None, 1).await.unwrap()[0].id
    }

    /// Ingests `bytes` written as `name` in the workspace.
    pub(crate) async fn ingest_bytes(
        &self,
        store: &dyn Store,
        name: &str,
        bytes: &[u8],
    ) -> DocumentId {
        let path = self.ws.join(name);
        std::fs::write(&path, bytes).unwrap();
        self.ingest(store, &path).await
    }

    /// Approves `id` and runs every stage that follows (posting).
    pub(crate) async fn approve_and_run(
        &self,
        db: &TestDb,
        store: std::sync::Arc<dyn Store>,
        id: DocumentId,
    ) {
        let approve = format!(
            "UPDATE documents SET state = 'approved' WHERE id = {}",
            id.0
        );
        try_exec(db, &approve).await.unwrap();
        store.backfill(facteur::stages::BUILT).await.unwrap();
        let settings = facteur::config::Settings::load(&self.config, false).unwrap();
        facteur::worker::Worker::new(&settings, store)
            .drain()
            .await
            .unwrap();
    }
}

both_backends!(
    postings_are_idempotent_numbered_and_chained,
    |db: TestDb| async move {
        let store = db.store().await;
        let a = store
            .post_entry(&purchase("FA-1", 2, dec!(100)), 1)
            .await
            .unwrap();
        let b = store
            .post_entry(&purchase("FA-2", 3, dec!(50.10)), 1)
            .await
            .unwrap();
        assert_eq!(
            (a.entry_number(), b.entry_number()),
            ("HA2026-000001".to_string(), "HA2026-000002".to_string())
        );
        assert_eq!(b.prev_hash, a.hash);
        // A retry with the same key and content returns the first posting.
        let again = store
            .post_entry(&purchase("FA-1", 2, dec!(100)), 1)
            .await
            .unwrap();
        assert_eq!(again, a);
        // The same key for another content is refused.
        let other = store.post_entry(&purchase("FA-1", 2, dec!(101)), 1).await;
        assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");
        assert_eq!(store.ledger_entries(None, None).await.unwrap().len(), 2);
        assert_eq!(
            store.verify_chain().await.unwrap(),
            ChainCheck::Holds { entries: 2 }
        );
        let total: Decimal = store
            .trial_balance(None)
            .await
            .unwrap()
            .iter()
            .map(|b| b.net())
            .sum();
        assert_eq!(total, Decimal::ZERO);
    }
);

both_backends!(
    the_database_refuses_unbalanced_entries_and_any_change,
    |db: TestDb| async move {
        let store = db.store().await;
        store
            .post_entry(&purchase("FA-1", 2, dec!(100)), 1)
            .await
            .unwrap();
        for statement in [
            "UPDATE ledger_lines SET debit = 1 WHERE entry_id = 1 AND line_no = 1",
            "DELETE FROM ledger_lines WHERE entry_id = 1",
            "UPDATE ledger_entries SET label = 'x' WHERE id = 1",
            "DELETE FROM ledger_entries WHERE id = 1",
            "INSERT INTO ledger_lines (entry_id, line_no, account, label, debit, credit) \
             VALUES (1, 9, '606', 'more', 1, 0)",
        ] {
            let r = try_exec(&db, statement).await;
            assert!(
                r.as_ref().is_err_and(|e| e.contains("ledger:")),
                "{statement}: {r:?}"
            );
        }
        // An entry whose lines do not balance cannot be inserted, even by hand.
        let unbalanced =
            "BEGIN; INSERT INTO ledger_lines (entry_id, line_no, account, label, debit, credit) \
             VALUES (2, 1, '606', 'x', 10, 0), (2, 2, '401', 'x', 0, 9); \
             INSERT INTO ledger_entries (id, journal, fiscal_year, number, entry_date, label, \
             piece_ref, piece_date, currency, posting_key, content_hash, prev_hash, hash, \
             validated_at) VALUES (2, 'OD', 2026, 1, '2026-03-02', 'x', 'x', '2026-03-02', \
             'EUR', 'k2', 'c', 'p', 'h2', '2026-03-02T00:00:00Z'); COMMIT";
        let r = try_exec(&db, unbalanced).await;
        assert!(
            r.as_ref().is_err_and(|e| e.contains("debits and credits")),
            "{r:?}"
        );
        assert_eq!(store.ledger_entries(None, None).await.unwrap().len(), 1);
    }
);

both_backends!(
    a_locked_period_refuses_postings_and_a_reversal_restores_balances_once,
    |db: TestDb| async move {
        let store = db.store().await;
        let a = store
            .post_entry(&purchase("FA-1", 10, dec!(100)), 1)
            .await
            .unwrap();
        store.lock_period(day(5), "alice").await.unwrap();
        let early = store.post_entry(&purchase("FA-0", 5, dec!(1)), 1).await;
        assert!(
            matches!(&early, Err(StoreError::Invalid(m)) if m.contains("locked")),
            "{early:?}"
        );
        let rev = NewEntry::reversal(&a, day(11)).unwrap();
        let r = store.post_entry(&rev, 1).await.unwrap();
        assert_eq!(r.entry_number(), "OD2026-000001");
        assert!(store
            .trial_balance(None)
            .await
            .unwrap()
            .iter()
            .all(|b| b.net().is_zero()));
        // A second reversal of the same entry is refused by the database (one per entry).
        let mut twice = rev.body().clone();
        twice.label = "again".into();
        let twice = NewEntry::new(twice, "reversal-again").unwrap();
        assert!(store.post_entry(&twice, 1).await.is_err());
        assert_eq!(
            store.verify_chain().await.unwrap(),
            ChainCheck::Holds { entries: 2 }
        );
    }
);

both_backends!(
    verify_names_the_first_entry_altered_behind_facteurs_back,
    |db: TestDb| async move {
        let store = db.store().await;
        for (i, key) in ["FA-1", "FA-2", "FA-3"].iter().enumerate() {
            store
                .post_entry(&purchase(key, 2 + i as u32, dec!(10)), 1)
                .await
                .unwrap();
        }
        // Someone with database access drops the guard and edits an amount on both sides.
        let drop_guard = match db.backend {
            Backend::Sqlite => "DROP TRIGGER ledger_lines_no_update",
            Backend::Postgres => "DROP TRIGGER ledger_lines_append_only ON ledger_lines",
        };
        try_exec(&db, drop_guard).await.unwrap();
        try_exec(
            &db,
            "UPDATE ledger_lines SET debit = 9 WHERE entry_id = 2 AND line_no = 1",
        )
        .await
        .unwrap();
        try_exec(
            &db,
            "UPDATE ledger_lines SET debit = 3 WHERE entry_id = 2 AND line_no = 2",
        )
        .await
        .unwrap();
        match store.verify_chain().await.unwrap() {
            ChainCheck::Broken { id, number, why } => {
                assert_eq!((id, number.as_str()), (2, "HA2026-000002"));
                assert!(why.contains("content"), "{why}");
            }
            holds => panic!("the change went unseen: {holds:?}"),
        }
        let cli = std::process::Command::new(facteur_bin())
            .args(["ledger", "verify"])
            .env("FACTEUR_DATABASE__URL", &db.url)
            .current_dir(db.dir.path())
            .output()
            .unwrap();
        assert_eq!(cli.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&cli.stdout).contains("broken at entry 2 (HA2026-000002)"));
    }
);

both_backends!(
    an_approved_invoice_is_posted_and_appears_in_the_fec,
    |db: TestDb| async move {
        let store = db.store().await;
        let books = Books::new(
            &db,
            "[company]\nname = \"Boulangerie Martin\"\nsiren = \"732829320\"\n\
             expense_account = \"6064\"\n",
        );
        let ws = &books.ws;
        let facteur = |args: &[&str]| books.facteur(args);
        let pdf = invoice_pdf("FA-2026-0042", "1 234,50", "246,90", "1 481,40");
        let id = books.ingest_bytes(store.as_ref(), "fa.pdf", &pdf).await;
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::PendingApproval
        );
        books.approve_and_run(&db, store.clone(), id).await;
        let doc = store.document(id).await.unwrap();
        assert_eq!(
            doc.summary.state,
            DocumentState::Posted,
            "{:?}",
            doc.summary.reason
        );
        let entries = store.ledger_entries(None, None).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].body.document, Some(id));
        let lines: Vec<(String, Decimal, Decimal)> = entries[0]
            .body
            .lines
            .iter()
            .map(|l| (l.account.to_string(), l.debit, l.credit))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("6064".into(), dec!(1234.50), dec!(0)),
                ("44566".into(), dec!(246.90), dec!(0)),
                ("401".into(), dec!(0), dec!(1481.40)),
            ]
        );
        // Paid in two parts: the first leaves the rest open, the second settles and matches.
        let doc_id = id.0.to_string();
        let pay = |amount: &str, date: &str| {
            facteur(&["pay", &doc_id, "--amount", amount, "--date", date])
        };
        let too_much = pay("1500.00", "2026-04-01");
        assert_eq!(too_much.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&too_much.stderr).contains("more than the 1481.40 still open")
        );
        let first = pay("1000.00", "2026-04-01");
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert!(
            String::from_utf8_lossy(&first.stdout).contains("(1481,40 open before, 481,40 after)")
        );
        let again = pay("1000.00", "2026-04-01");
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("already booked"),
            "a repeated command books once"
        );
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Posted
        );
        let last = pay("481.40", "2026-04-15");
        assert!(String::from_utf8_lossy(&last.stdout).contains("paid in full: matching code A"));
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Paid
        );
        let supplier: Vec<Decimal> = store
            .trial_balance(None)
            .await
            .unwrap()
            .iter()
            .filter(|b| b.account == "401")
            .map(|b| b.net())
            .collect();
        assert_eq!(
            supplier,
            vec![Decimal::ZERO],
            "nothing owed to the supplier"
        );
        let out = facteur(&["ledger", "verify"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("3 entries verified"));
        let dir = ws.join("exports");
        let out = facteur(&[
            "export",
            "fec",
            "--year",
            "2026",
            "--out",
            &dir.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(path.ends_with("732829320FEC20261231.txt"), "{path}");
        let fec = std::fs::read_to_string(&path).unwrap();
        crate::fec_golden::check_rules(&fec);
        let rows: Vec<Vec<&str>> = fec.split("\r\n").map(|l| l.split('\t').collect()).collect();
        assert_eq!(
            rows.len(),
            8,
            "header, 3 invoice lines, 2 × 2 payment lines"
        );
        assert!(rows.iter().all(|r| r.len() == 18));
        // The supplier lines of the invoice and both payments carry matching code A and its date.
        let matched: Vec<(&str, &str, &str)> = rows
            .iter()
            .filter(|r| r[4] == "401")
            .map(|r| (r[2], r[13], r[14]))
            .collect();
        assert_eq!(
            matched,
            vec![
                ("HA2026-000001", "A", "20260415"),
                ("BQ2026-000001", "A", "20260415"),
                ("BQ2026-000002", "A", "20260415")
            ]
        );
        assert_eq!(
            rows[1][..6],
            [
                "HA",
                "Achats",
                "HA2026-000001",
                "20260312",
                "6064",
                "Fournitures administratives"
            ]
        );
        assert_eq!(rows[3][11..13], ["0,00", "1481,40"]);
        assert_eq!(rows[3][6], "F732829320");
        // Journal CSVs are batches: each entry goes out once per format unless asked again.
        let csv_out = |extra: &[&str]| {
            let d = dir.display().to_string();
            facteur(&[&["export", "xero", "--out", &d], extra].concat())
        };
        let first = csv_out(&[]);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        let file = String::from_utf8_lossy(&first.stdout).trim().to_string();
        let xero = std::fs::read_to_string(&file).unwrap();
        assert_eq!(xero.lines().count(), 8, "header and 7 lines: {xero}");
        let signed: Decimal = xero
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').nth(2).unwrap().parse::<Decimal>().unwrap())
            .sum();
        assert_eq!(signed, Decimal::ZERO);
        let second = csv_out(&[]);
        assert!(String::from_utf8_lossy(&second.stdout).contains("nothing to export to xero"));
        let again = csv_out(&["--again"]);
        assert!(again.status.success());
        assert_ne!(String::from_utf8_lossy(&again.stdout).trim(), file);
        let generic = facteur(&["export", "csv", "--out", &dir.display().to_string()]);
        assert!(generic.status.success(), "another format is its own batch");
        // Year-end: the next year opens with the balances carried forward, the year is locked.
        let close = facteur(&["ledger", "close", "--year", "2026"]);
        assert!(
            close.status.success(),
            "{}",
            String::from_utf8_lossy(&close.stderr)
        );
        assert!(String::from_utf8_lossy(&close.stdout).contains("opening entry AN2027-000001"));
        let again = facteur(&["ledger", "close", "--year", "2026"]);
        assert!(
            again.status.success(),
            "closing twice posts the opening once"
        );
        let fec27 = facteur(&[
            "export",
            "fec",
            "--year",
            "2027",
            "--out",
            &dir.display().to_string(),
        ]);
        let path = String::from_utf8_lossy(&fec27.stdout).trim().to_string();
        let fec27 = std::fs::read_to_string(&path).unwrap();
        crate::fec_golden::check_rules(&fec27);
        let opening: Vec<(String, String, String)> = fec27
            .split("\r\n")
            .skip(1)
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .map(|c| (c[4].to_string(), c[11].to_string(), c[12].to_string()))
            .collect();
        assert_eq!(
            opening,
            vec![
                (
                    "44566".to_string(),
                    "246,90".to_string(),
                    "0,00".to_string()
                ),
                ("512".to_string(), "0,00".to_string(), "1481,40".to_string()),
                ("129".to_string(), "1234,50".to_string(), "0,00".to_string()),
            ]
        );
        let late = store.post_entry(&purchase("LATE-1", 20, dec!(5)), 1).await;
        assert!(
            matches!(&late, Err(StoreError::Invalid(m)) if m.contains("locked")),
            "the closed year takes no posting: {late:?}"
        );
        assert_eq!(store.ledger_entries(None, None).await.unwrap().len(), 4);
    }
);

both_backends!(
    a_payment_to_an_iban_in_doubt_is_held_until_a_person_clears_it,
    |db: TestDb| async move {
        let store = db.store().await;
        let doc = store
            .intake(&crate::store::raw(b"%PDF d6", "d6.pdf"))
            .await
            .unwrap()
            .document();
        let mut body = purchase("D6-1", 4, dec!(100)).body().clone();
        body.document = Some(doc);
        store
            .post_entry(&NewEntry::new(body, "ap-d6").unwrap(), 1)
            .await
            .unwrap();
        try_exec(
            &db,
            &format!(
                "INSERT INTO duplicate_findings (document_id, of_document, rule, verdict, \
                 priority, evidence, found_at) VALUES ({0}, {0}, 'D6', 'review', 'high', \
                 'IBAN FR7630006000011234567890189 was never used by this supplier', \
                 '2026-03-05T00:00:00Z')",
                doc.0
            ),
        )
        .await
        .unwrap();
        let held = store.pay(doc, dec!(10), day(20), None, 1).await;
        assert!(
            matches!(&held, Err(StoreError::Invalid(m)) if m.contains("payment held") && m.contains("never used")),
            "{held:?}"
        );
        try_exec(
            &db,
            "UPDATE duplicate_findings SET overridden_by = 'alice', override_reason = 'called the supplier'",
        )
        .await
        .unwrap();
        let paid = store.pay(doc, dec!(10), day(20), None, 1).await.unwrap();
        assert_eq!(paid.open_after, dec!(110.00));
    }
);

both_backends!(
    a_copy_of_a_booked_invoice_is_held_before_posting,
    |db: TestDb| async move {
        let store = db.store().await;
        let books = Books::new(&db, "");
        let pdf = invoice_pdf("FA-2026-0099", "100,00", "20,00", "120,00");
        let first = books.ingest_bytes(store.as_ref(), "a.pdf", &pdf).await;
        books.approve_and_run(&db, store.clone(), first).await;
        assert_eq!(
            store.document(first).await.unwrap().summary.state,
            DocumentState::Posted
        );
        // The same invoice again, approved without its duplicate finding (as an earlier version
        // without duplicate detection would have let it through).
        let mut copy = pdf;
        copy.extend_from_slice(b"\n% forwarded\n");
        let second = books.ingest_bytes(store.as_ref(), "b.pdf", &copy).await;
        assert_ne!(first, second);
        try_exec(
            &db,
            &format!(
                "DELETE FROM duplicate_findings WHERE document_id = {}",
                second.0
            ),
        )
        .await
        .unwrap();
        books.approve_and_run(&db, store.clone(), second).await;
        let doc = store.document(second).await.unwrap();
        assert_eq!(
            doc.summary.state,
            DocumentState::DuplicateSuspected,
            "{:?}",
            doc.summary.reason
        );
        assert!(doc
            .summary
            .reason
            .unwrap()
            .starts_with("held before posting"));
        assert_eq!(doc.duplicates.len(), 1);
        assert_eq!(doc.duplicates[0].of, first);
        assert_eq!(
            store.ledger_entries(None, None).await.unwrap().len(),
            1,
            "booked once"
        );
    }
);

both_backends!(
    a_payment_run_pays_what_is_due_and_writes_the_bank_order,
    |db: TestDb| async move {
        let store = db.store().await;
        let books = Books::new(
            &db,
            "[company]\nname = \"Boulangerie Martin\"\n\
             iban = \"FR14 2004 1010 0505 0001 3M02 606\"\n",
        );
        let ws = &books.ws;
        let facteur = |args: &[&str]| books.facteur(args);
        // The demo stationer's invoice: its IBAN is on the page, due 4 November 2026.
        let pdf = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/demo/facture-papeterie-dupont.pdf");
        let id = books.ingest(store.as_ref(), &pdf).await;
        books.approve_and_run(&db, store.clone(), id).await;
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Posted
        );
        let out = ws.join("bank");
        let run = |date: &str| {
            facteur(&[
                "pay-run",
                "--date",
                date,
                "--out",
                &out.display().to_string(),
            ])
        };
        // Due on 4 November: not yet on the 1st.
        let early = run("2026-11-01");
        assert!(String::from_utf8_lossy(&early.stdout).contains("nothing to pay by 2026-11-01"));
        let due = run("2026-11-04");
        let said = String::from_utf8_lossy(&due.stdout).to_string();
        assert!(
            due.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&due.stderr)
        );
        assert!(said.contains("1 transfer(s), 259,56 EUR"), "{said}");
        let file = std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let xml = std::fs::read_to_string(&file).unwrap();
        // An independent check: the ISO 20022 schema, with Python's xmlschema (scripts/setup).
        assert_schema_valid("pain.001.001.03.xsd", &file);
        assert!(
            xml.contains("<IBAN>FR7630006000011234567890189</IBAN>"),
            "the supplier's"
        );
        assert!(
            xml.contains("<IBAN>FR1420041010050500013M02606</IBAN>"),
            "ours"
        );
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">259.56</InstdAmt>"));
        assert!(xml.contains("<Ustrd>FA-2026-0412</Ustrd>"));
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Paid
        );
        let again = run("2026-11-05");
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("nothing to pay"),
            "paid once"
        );
    }
);
