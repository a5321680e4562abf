//! Quotes (devis), on both backends: saved without number; the PDF numbers them in their own
//! gap-free series (DE-2026-00001, apart from invoice numbers) and is the same file every time
//! after; accepting makes one linked sales draft (again, or two accepts racing, answer with the
//! same draft); declined, expired (by the validity date) and unnumbered quotes are refused with
//! the reason; the accepted draft issues as an ordinary invoice.

use chrono::NaiveDate;
use facteur::receivables::quote::{NewQuote, QuoteFile, QuoteState};
use facteur::store::Store;

use crate::both_backends;
use crate::helpers::*;
use crate::receivables::{customer, run, workspace};

const QUOTE: &str = r#"
customer = "C552100554"
note = "Éclairage du hall"
[[line]]
description = "Conception lumière, études"
quantity = 3
unit_price = "450.00"
vat_rate = 20
unit = "DAY"
"#;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", said(out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn refused(out: &std::process::Output, why: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", said(out));
    assert!(said(out).contains(why), "{} lacks {why}", said(out));
}

fn seller(s: &facteur::config::Settings) -> facteur::receivables::Seller<'_> {
    facteur::receivables::Seller {
        company: &s.company,
        sales: &s.sales,
    }
}

/// The PDF's /Title, decoded (UTF-16BE with its byte order mark).
fn title(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let info = doc.trailer.get(b"Info").unwrap().as_reference().unwrap();
    let info = doc.get_object(info).unwrap().as_dict().unwrap();
    let bytes = info.get(b"Title").unwrap().as_str().unwrap();
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

both_backends!(
    quotes_number_accept_once_and_expire,
    |db: TestDb| async move {
        let (ws, config) = workspace(&db);
        ok(&run(
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
            ],
        ));
        let file = ws.join("quote.toml");
        std::fs::write(&file, QUOTE).unwrap();
        let path = file.display().to_string();
        let said1 = ok(&run(&config, &["quotes", "add", &path]));
        assert!(
            said1.starts_with("quote 1 ") && said1.contains("total 1620.00 EUR"),
            "{said1}"
        );
        std::fs::write(&file, format!("validity_days = 10\n{QUOTE}")).unwrap();
        ok(&run(&config, &["quotes", "add", &path]));
        ok(&run(&config, &["quotes", "add", &path]));
        // A quote file is checked as a draft is.
        std::fs::write(&file, QUOTE.replace("quantity = 3", "quantity = -3")).unwrap();
        refused(&run(&config, &["quotes", "add", &path]), "must be positive");

        // An unnumbered quote cannot be accepted: the customer never saw it.
        refused(&run(&config, &["quotes", "accept", "1"]), "quotes pdf 1");

        // The PDF numbers it in the quote series, once.
        let said = ok(&run(
            &config,
            &["quotes", "pdf", "1", "--date", "2026-03-02"],
        ));
        let lines: Vec<&str> = said.lines().collect();
        assert_eq!(lines[0], "DE-2026-00001");
        let pdf_path = ws.join("var/quotes/DE-2026-00001.pdf");
        assert_eq!(std::path::Path::new(lines[1]), pdf_path);
        let pdf = std::fs::read(&pdf_path).unwrap();
        assert_eq!(title(&pdf), "DEVIS DE-2026-00001");
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert!(
            doc.catalog().unwrap().get(b"AF").is_err(),
            "a quote embeds no invoice XML"
        );
        let again = ok(&run(
            &config,
            &["quotes", "pdf", "1", "--date", "2026-03-09"],
        ));
        assert!(again.starts_with("DE-2026-00001\n"), "{again}");
        assert_eq!(
            std::fs::read(&pdf_path).unwrap(),
            pdf,
            "the PDF the customer has"
        );
        let said = ok(&run(
            &config,
            &["quotes", "pdf", "2", "--date", "2026-03-03"],
        ));
        assert!(said.starts_with("DE-2026-00002\n"), "{said}");

        // Accepted once: a linked draft, and the same draft on a second accept.
        let said = ok(&run(
            &config,
            &["quotes", "accept", "1", "--date", "2026-03-10"],
        ));
        assert!(said.contains("accepted: sales draft 1 "), "{said}");
        let said = ok(&run(
            &config,
            &["quotes", "accept", "1", "--date", "2026-03-11"],
        ));
        assert!(
            said.contains("accepted before: its sales draft is 1 "),
            "{said}"
        );
        let sales: serde_json::Value =
            serde_json::from_str(&ok(&run(&config, &["sales", "list", "--json"]))).unwrap();
        assert_eq!(sales.as_array().unwrap().len(), 1, "{sales}");
        assert_eq!(sales[0]["note"], "Devis DE-2026-00001 — Éclairage du hall");
        let gross: rust_decimal::Decimal = sales[0]["gross"].as_str().unwrap().parse().unwrap();
        assert_eq!(gross, rust_decimal_macros::dec!(1620));
        refused(&run(&config, &["quotes", "decline", "1"]), "accepted");
        // The draft issues as any invoice, in the invoice series.
        let said = ok(&run(
            &config,
            &["sales", "issue", "1", "--date", "2026-03-12"],
        ));
        assert!(said.starts_with("FA-2026-00001\n"), "{said}");

        // Quote 2 held 10 days from 3 March: expired on the 14th, refused, listed as such.
        refused(
            &run(&config, &["quotes", "accept", "2", "--date", "2026-03-14"]),
            "expired on 2026-03-13",
        );
        let list: serde_json::Value = serde_json::from_str(&ok(&run(
            &config,
            &["quotes", "list", "--json", "--at", "2026-03-14"],
        )))
        .unwrap();
        let states: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["draft", "expired", "accepted"]);
        let shown: serde_json::Value = serde_json::from_str(&ok(&run(
            &config,
            &["quotes", "show", "2", "--json", "--at", "2026-03-13"],
        )))
        .unwrap();
        assert_eq!(shown["state"], "sent");
        assert_eq!(shown["valid_until"], "2026-03-13");
        // Declined: no accept after.
        let said = ok(&run(&config, &["quotes", "decline", "3"]));
        assert!(said.contains("declined"), "{said}");
        refused(&run(&config, &["quotes", "accept", "3"]), "declined");
        let table = ok(&run(&config, &["quotes", "list", "--at", "2026-03-14"]));
        assert!(
            table.contains("DE-2026-00002") && table.contains("expired"),
            "{table}"
        );
    }
);

both_backends!(two_accepts_racing_make_one_draft, |db: TestDb| async move {
    let store = db.store().await;
    let s = crate::receivables::settings();
    let c = store
        .add_customer(&customer("Boulangerie Martin", "552100554", "fr"))
        .await
        .unwrap();
    let file: QuoteFile = toml::from_str(QUOTE).unwrap();
    let q = NewQuote::from_file(c.id, facteur::domain::Currency::EUR, file, 30).unwrap();
    let q = store.save_quote(&q).await.unwrap();
    assert_eq!(q.stored_state, QuoteState::Draft);
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    // A render that fails gives the number back.
    let failed = store
        .quote_pdf(q.id, day, &s.sales.quote_pattern, 1, &|_, _| {
            Err("renderer crashed".into())
        })
        .await;
    assert!(failed.is_err());
    let (numbered, pdf) = store
        .quote_pdf(q.id, day, &s.sales.quote_pattern, 1, &|_, _| {
            Ok(b"%PDF-quote".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(numbered.number.as_deref(), Some("DE-2026-00001"));
    assert_eq!(numbered.valid_until, NaiveDate::from_ymd_opt(2026, 4, 1));
    assert_eq!(pdf, b"%PDF-quote");
    // The real renderer refuses a quote whose seller has no address yet, and draws one that has.
    let bare = facteur::config::Settings::parse(
        std::path::Path::new("facteur.toml"),
        "[company]\nname = \"Atelier\"\nsiren = \"732829320\"\n",
        std::iter::empty(),
    )
    .unwrap();
    let err = facteur::receivables::quote::pdf(seller(&bare), &numbered, c.clone()).unwrap_err();
    assert!(err.contains("the seller's address"), "{err}");
    let drawn = facteur::receivables::quote::pdf(seller(&s), &numbered, c.clone()).unwrap();
    assert_eq!(title(&drawn), "DEVIS DE-2026-00001");
    // In the customer's language.
    let english = facteur::receivables::Customer {
        details: customer("Martin UK", "552100554", "en"),
        ..c.clone()
    };
    let drawn_en = facteur::receivables::quote::pdf(seller(&s), &numbered, english).unwrap();
    assert_eq!(title(&drawn_en), "QUOTE DE-2026-00001");
    assert!(drawn.starts_with(b"%PDF-1.7"));
    let qid = q.id;
    let accept = |store: std::sync::Arc<dyn Store>| async move {
        store.accept_quote(qid, day, "racer").await
    };
    let runs: Vec<_> = futures::future::join_all((0..4).map(|_| accept(store.clone()))).await;
    let mut drafts = Vec::new();
    let mut created = 0;
    for r in runs {
        match r {
            Ok(a) => {
                drafts.push(a.draft.id);
                created += usize::from(a.created);
            }
            // A racer that lost the row answers Conflict; asked again, it finds the draft.
            Err(facteur::store::StoreError::Conflict(_)) => {
                let a = store.accept_quote(qid, day, "racer").await.unwrap();
                assert!(!a.created);
                drafts.push(a.draft.id);
            }
            Err(e) => panic!("{e}"),
        }
    }
    drafts.dedup();
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert_eq!(created, 1);
    assert_eq!(store.sales().await.unwrap().len(), 1, "one draft made");
    let q = store.quote(q.id).await.unwrap();
    assert_eq!(
        (q.stored_state, q.sale_id),
        (QuoteState::Accepted, Some(drafts[0]))
    );
});
