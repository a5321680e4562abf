//! `facteur report disputed`, on both backends: the open disputes with their invoice, customer,
//! amount and what is still owed, since when, by whom and why; a resolved dispute leaves it.

use crate::both_backends;
use crate::helpers::*;
use crate::receivables::{run, workspace};

const DRAFT: &str = r#"
customer = "C552100554"
[[line]]
description = "Conception lumière"
quantity = 2
unit_price = "500.00"
vat_rate = 20
"#;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", said(out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

both_backends!(
    open_disputes_are_listed_until_resolved,
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
            ],
        ));
        let file = ws.join("draft.toml");
        std::fs::write(&file, DRAFT).unwrap();
        for day in ["2026-03-02", "2026-03-03"] {
            ok(&run(
                &config,
                &["sales", "draft", &file.display().to_string()],
            ));
            let id = if day.ends_with('2') { "1" } else { "2" };
            ok(&run(&config, &["sales", "issue", id, "--date", day]));
        }
        let empty: serde_json::Value =
            serde_json::from_str(&ok(&run(&config, &["report", "disputed", "--json"]))).unwrap();
        assert_eq!(empty, serde_json::json!([]));
        ok(&run(
            &config,
            &[
                "sales",
                "dispute",
                "2",
                "--reason",
                "quantités contestées",
                "--by",
                "marie",
            ],
        ));
        let list: serde_json::Value =
            serde_json::from_str(&ok(&run(&config, &["report", "disputed", "--json"]))).unwrap();
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{list}");
        let d = &rows[0];
        assert_eq!(d["number"], "FA-2026-00002");
        assert_eq!(d["customer"], "Boulangerie Martin");
        assert_eq!(d["customer_account"], "C552100554");
        assert_eq!(d["reason"], "quantités contestées");
        assert_eq!(d["opened_by"], "marie");
        let money = |v: &serde_json::Value| -> rust_decimal::Decimal {
            v.as_str().unwrap().parse().unwrap()
        };
        assert_eq!(money(&d["gross"]), rust_decimal_macros::dec!(1200));
        assert_eq!(money(&d["open"]), rust_decimal_macros::dec!(1200));
        let table = ok(&run(&config, &["report", "disputed"]));
        assert!(
            table.contains("FA-2026-00002") && table.contains("quantités contestées"),
            "{table}"
        );
        assert!(!table.contains("FA-2026-00001"), "{table}");
        ok(&run(&config, &["sales", "resolve", "2"]));
        let list: serde_json::Value =
            serde_json::from_str(&ok(&run(&config, &["report", "disputed", "--json"]))).unwrap();
        assert_eq!(list, serde_json::json!([]));
    }
);
