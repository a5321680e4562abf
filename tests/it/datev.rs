//! The DATEV export (`facteur export datev`), on both backends: a batch of one fiscal year's
//! period, named EXTF_…, in Windows-1252 with the EXTF v700 header, one row per pair of accounts,
//! recorded so nothing is exported twice unless asked.

use crate::both_backends;
use crate::helpers::*;
use crate::ledger::Books;

both_backends!(
    a_datev_batch_is_recorded_like_the_other_exports,
    |db: TestDb| async move {
        let store = db.store().await;
        let books = Books::new(&db, "[company]\nname = \"Boulangerie Martin\"\n");
        let pdf = invoice_pdf("FA-2026-0042", "1 234,50", "246,90", "1 481,40");
        let id = books.ingest_bytes(store.as_ref(), "fa.pdf", &pdf).await;
        books.approve_and_run(&db, store.clone(), id).await;
        let dir = books.ws.join("exports").display().to_string();
        let datev = |from: &str, to: &str, extra: &[&str]| {
            books.facteur(
                &[
                    &[
                        "export",
                        "datev",
                        "--from",
                        from,
                        "--to",
                        to,
                        "--out",
                        &dir,
                        "--consultant",
                        "29098",
                        "--client",
                        "55003",
                    ][..],
                    extra,
                ]
                .concat(),
            )
        };
        let across = datev("2026-12-01", "2027-01-31", &[]);
        assert_eq!(across.status.code(), Some(2));
        assert!(
            said(&across).contains("one fiscal year"),
            "{}",
            said(&across)
        );
        let out = datev("2026-01-01", "2026-12-31", &[]);
        assert!(out.status.success(), "{}", said(&out));
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            std::path::Path::new(&path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("EXTF_Buchungsstapel_facteur-datev-20260101-20261231-"),
            "{path}"
        );
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.ends_with(b"\r\n"));
        let text: String = bytes.iter().map(|&b| b as char).collect();
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(
            lines.len(),
            4,
            "header, columns, expense and VAT against the supplier"
        );
        assert!(lines[0].starts_with("\"EXTF\";700;21;\"Buchungsstapel\";13;"));
        let rows: Vec<Vec<&str>> = lines[2..].iter().map(|l| l.split(';').collect()).collect();
        let pairs: Vec<(&str, &str, &str, &str)> =
            rows.iter().map(|r| (r[0], r[6], r[7], r[9])).collect();
        assert_eq!(
            pairs,
            [
                ("1234,50", "60600000", "40100000", "1203"),
                ("246,90", "44566000", "40100000", "1203")
            ]
        );
        assert_eq!(rows[0][10], "\"FA-2026-0042\"");
        let again = datev("2026-01-01", "2026-12-31", &[]);
        assert!(
            said(&again).contains("nothing to export to datev"),
            "{}",
            said(&again)
        );
        let forced = datev("2026-01-01", "2026-12-31", &["--again"]);
        assert!(forced.status.success());
        assert_ne!(String::from_utf8_lossy(&forced.stdout).trim(), path);
    }
);
