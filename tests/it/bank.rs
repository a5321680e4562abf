//! Bank statement import (issue 12), on both backends, through the real binary: the CAMT.053
//! and CSV fixtures of fixtures/bank/ (checked against the official camt.053.001.02 schema
//! first) are recorded once however often and however overlapping they come; a line naming an
//! invoice pays it (partially), the rest of it is found by amount and IBAN, a payment already
//! booked is linked rather than paid twice, and what facteur cannot match waits for a person,
//! who matches it by hand.

use facteur::domain::{DocumentId, DocumentState};
use facteur::store::Store;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger::Books;

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bank")
        .join(name)
        .display()
        .to_string()
}

/// The official camt.053.001.02 schema accepts `file`.
fn schema_valid(file: &str) {
    assert_schema_valid("camt.053.001.02.xsd", std::path::Path::new(file));
}

async fn state(store: &dyn Store, id: DocumentId) -> DocumentState {
    store.document(id).await.unwrap().summary.state
}

both_backends!(
    statements_are_recorded_once_and_pay_what_they_name,
    |db: TestDb| async move {
        let store = db.store().await;
        let books = Books::new(
            &db,
            "[company]\nname = \"Boulangerie Martin\"\nsiren = \"732829320\"\n\
             iban = \"FR14 2004 1010 0505 0001 3M02 606\"\n",
        );
        // The demo stationer's invoice first (its IBAN is on the page: a supplier's first
        // IBAN raises no doubt), then three of ACME's.
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/demo/facture-papeterie-dupont.pdf");
        let mut docs = vec![books.ingest(store.as_ref(), &demo).await];
        for (n, (number, net, tax, gross)) in [
            ("FA-2026-0042", "1 234,50", "246,90", "1 481,40"),
            ("FA-2026-0043", "100,00", "20,00", "120,00"),
            ("FA-2026-0044", "50,00", "10,00", "60,00"),
        ]
        .into_iter()
        .enumerate()
        {
            let pdf = invoice_pdf(number, net, tax, gross);
            docs.push(
                books
                    .ingest_bytes(store.as_ref(), &format!("fa{n}.pdf"), &pdf)
                    .await,
            );
        }
        for id in &docs {
            books.approve_and_run(&db, store.clone(), *id).await;
            assert_eq!(state(store.as_ref(), *id).await, DocumentState::Posted);
        }
        let (stationer, fa42, fa43, fa44) = (docs[0], docs[1], docs[2], docs[3]);
        let import = |file: &str| books.facteur(&["bank", "import", &fixture(file)]);
        let a = fixture("camt053-2026-04a.xml");
        schema_valid(&a);
        schema_valid(&fixture("camt053-2026-04b.xml"));

        // The first statement: a partial payment naming the invoice; money in and bank fees wait.
        let out = import("camt053-2026-04a.xml");
        let text = said(&out);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("camt.053, 3 line(s): 3 new, 0 already imported"),
            "{text}"
        );
        assert!(
            text.contains("skipped statement STMT-2026-04-A entry 4: status PDNG"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "pays document {fa42} (invoice number in the reference): booked as BQ2026-000001"
            )),
            "{text}"
        );
        assert!(
            text.contains("1 paid, 0 linked to payments already booked, 2 waiting"),
            "{text}"
        );
        assert_eq!(state(store.as_ref(), fa42).await, DocumentState::Posted);

        // The same file again: nothing new, nothing booked twice.
        let again = said(&import("camt053-2026-04a.xml"));
        assert!(
            again.contains("3 line(s): 0 new, 3 already imported"),
            "{again}"
        );
        assert!(again.contains("0 paid"), "{again}");
        // The next statement overlaps it (the receipt and the fees again) and pays the rest of
        // FA-2026-0042 without naming it; the reader found no IBAN on that invoice: it waits.
        let b = said(&import("camt053-2026-04b.xml"));
        assert!(b.contains("3 line(s): 1 new, 2 already imported"), "{b}");
        assert!(
            b.contains("waits: 1 open invoice(s) owed 481.40, none named in the reference"),
            "{b}"
        );

        // FA-2026-0043 was paid by hand before its statement line came: linked, not paid again.
        // The stationer's invoice is found by its amount and IBAN.
        let paid = books.facteur(&[
            "pay",
            &fa43.0.to_string(),
            "--amount",
            "120.00",
            "--date",
            "2026-11-02",
        ]);
        assert!(paid.status.success(), "{}", said(&paid));
        let c = said(&import("statement-2026-11.csv"));
        assert!(c.contains("csv, 5 line(s): 5 new"), "{c}");
        assert!(
            c.contains(&format!("already booked (entry 6), document {fa43}")),
            "{c}"
        );
        assert!(
            c.contains(&format!(
                "pays document {stationer} (the amount and the supplier's IBAN): booked as BQ2026-000003"
            )),
            "{c}"
        );
        assert!(
            c.contains("1 paid, 1 linked to payments already booked, 6 waiting"),
            "{c}"
        );
        assert_eq!(state(store.as_ref(), stationer).await, DocumentState::Paid);
        assert!(said(&import("statement-2026-11.csv")).contains("0 new, 5 already imported"));

        // What waits, for a person: the receipts, the fees, the rest of FA-2026-0042 and the
        // two equal 60.00 lines.
        let lines = books.facteur(&["bank", "lines", "--unmatched", "--json"]);
        let waiting: serde_json::Value = serde_json::from_slice(&lines.stdout).unwrap();
        let waiting = waiting.as_array().unwrap();
        let amounts: Vec<&str> = waiting
            .iter()
            .map(|l| l["amount"].as_str().unwrap())
            .collect();
        assert_eq!(
            amounts,
            ["2500.00", "-42.00", "-481.40", "-60.00", "-60.00", "850.00"]
        );
        assert!(waiting[0]["note"].as_str().unwrap().starts_with("money in"));
        let id_of = |i: usize| waiting[i]["id"].as_i64().unwrap().to_string();
        let (receipt, rest, sixty, twin) = (id_of(0), id_of(2), id_of(3), id_of(4));
        let by_hand = |line: &str, doc: DocumentId| {
            books.facteur(&[
                "bank",
                "match",
                line,
                "--document",
                &doc.0.to_string(),
                "--by",
                "alice",
            ])
        };
        let m = by_hand(&sixty, fa44);
        assert!(m.status.success(), "{}", said(&m));
        assert!(said(&m).contains("booked as BQ2026-000004"), "{}", said(&m));
        assert_eq!(state(store.as_ref(), fa44).await, DocumentState::Paid);
        let twice = by_hand(&sixty, fa44);
        assert_eq!(twice.status.code(), Some(2));
        assert!(said(&twice).contains("booked already"), "{}", said(&twice));
        let nothing = by_hand(&twin, fa44);
        assert_eq!(nothing.status.code(), Some(2));
        assert!(
            said(&nothing).contains("nothing is open"),
            "{}",
            said(&nothing)
        );
        let money_in = by_hand(&receipt, fa44);
        assert_eq!(money_in.status.code(), Some(2));
        assert!(said(&money_in).contains("money in"));
        let settled = by_hand(&rest, fa42);
        assert!(
            said(&settled).contains("booked as BQ2026-000005"),
            "{}",
            said(&settled)
        );
        assert_eq!(state(store.as_ref(), fa42).await, DocumentState::Paid);
        let table = said(&books.facteur(&["bank", "lines"]));
        assert!(table.contains("booked (entry 9)"), "{table}");

        // The books: every invoice settled, the bank paid out what the statements say.
        let balance = store.trial_balance(None).await.unwrap();
        let net = |account: &str| -> Decimal {
            balance
                .iter()
                .filter(|b| b.account == account)
                .map(|b| b.net())
                .sum()
        };
        assert_eq!(net("401"), Decimal::ZERO);
        assert_eq!(net("512"), dec!(-1920.96));
        let verify = books.facteur(&["ledger", "verify"]);
        assert!(verify.status.success(), "{}", said(&verify));
        assert_eq!(store.ledger_entries(None, None).await.unwrap().len(), 9);

        // Another account's statement, or a CSV with a bad line, is refused with the reason.
        let other = books.ws.join("other.xml");
        let xml = std::fs::read_to_string(&a)
            .unwrap()
            .replace("FR1420041010050500013M02606", "FR7630001007941234567890185");
        std::fs::write(&other, xml).unwrap();
        let refused = books.facteur(&["bank", "import", &other.display().to_string()]);
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            said(&refused).contains("the company's account"),
            "{}",
            said(&refused)
        );
        let bad = books.ws.join("bad.csv");
        std::fs::write(
            &bad,
            "date;amount;reference;counterparty;iban\n2026-05-01;-1;x;;\n2026-05-02;abc;x;;\n",
        )
        .unwrap();
        let refused = books.facteur(&["bank", "import", &bad.display().to_string()]);
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            said(&refused).contains("line 3: amount 'abc'"),
            "{}",
            said(&refused)
        );
    }
);
