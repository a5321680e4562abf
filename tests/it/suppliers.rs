//! Supplier master records (issue 12), on both backends: matched by VAT id, SIREN or IBAN and
//! filled in as later invoices show more; the auxiliary account a supplier was given first is
//! the one its postings keep, even when the next invoice would derive another; `facteur
//! suppliers list` shows them.

use facteur::store::suppliers::SupplierKeys;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger::Books;

fn keys(vat: Option<&str>, siren: Option<&str>, iban: Option<&str>) -> SupplierKeys {
    SupplierKeys {
        name: "ACME Fournitures SARL".into(),
        vat_id: vat.map(str::to_string),
        siren: siren.map(str::to_string),
        iban: iban.map(str::to_string),
    }
}

const IBAN: &str = "FR7630006000011234567890189";

both_backends!(
    a_supplier_keeps_its_auxiliary_account,
    |db: TestDb| async move {
        let store = db.store().await;
        let first = store
            .supplier_for(&keys(Some("FR44732829320"), None, None), "FFR44732829320")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.aux_code, "FFR44732829320");
        // The next invoice shows its SIREN and IBAN too: the same supplier, filled in.
        let again = store
            .supplier_for(
                &keys(Some("FR44732829320"), Some("732829320"), Some(IBAN)),
                "F732829320",
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.id, again.aux_code.as_str()),
            (first.id, "FFR44732829320")
        );
        assert_eq!(again.siren.as_deref(), Some("732829320"));
        assert_eq!(again.iban.as_deref(), Some(IBAN));
        let by_iban = store
            .supplier_for(&keys(None, None, Some(IBAN)), "FFR76")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_iban.id, first.id);
        assert!(
            store
                .supplier_for(&keys(None, None, None), "FACME")
                .await
                .unwrap()
                .is_none(),
            "a name alone matches nobody for sure"
        );
        // Another supplier whose derived code is taken gets its own.
        let other = store
            .supplier_for(&keys(Some("FR99552100554"), None, None), "FFR44732829320")
            .await
            .unwrap()
            .unwrap();
        assert_ne!(other.id, first.id);
        assert_eq!(other.aux_code, "FFR447328293202");
        assert_eq!(store.suppliers().await.unwrap().len(), 2);

        // Posting: the invoice shows SIREN and VAT id (derived code F732829320), the master record
        // says FFR44732829320, and that is where it posts.
        let books = Books::new(&db, "");
        let pdf = invoice_pdf("FA-2026-0042", "1 234,50", "246,90", "1 481,40");
        let id = books.ingest_bytes(store.as_ref(), "fa.pdf", &pdf).await;
        books.approve_and_run(&db, store.clone(), id).await;
        let entries = store.ledger_entries(None, None).await.unwrap();
        let aux: Vec<String> = entries[0]
            .body
            .lines
            .iter()
            .filter_map(|l| l.auxiliary.as_ref().map(|a| a.code.clone()))
            .collect();
        assert_eq!(aux, ["FFR44732829320"]);
        let out = books.facteur(&["suppliers", "list", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let codes: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["aux_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["FFR44732829320", "FFR447328293202"]);
        let table =
            String::from_utf8_lossy(&books.facteur(&["suppliers", "list"]).stdout).to_string();
        assert!(table.contains("732829320"), "{table}");
    }
);
