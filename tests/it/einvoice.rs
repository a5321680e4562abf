//! Structured e-invoices against the real corpus: UBL/CII twins read alike, Factur-X PDFs read to
//! their labels, every invoice XML in the corpus reads, and hostile XML is refused.
//!
//! Each test walks a whole corpus folder and collects every failure before asserting, so one run
//! says how many documents pass and which fail, not just the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use facteur::domain::{Iban, Invoice};
use facteur::read::einvoice::{embedded_xml, read_xml, EinvoiceError};
use facteur::read::{read_document, MethodChoice, ReadError, ReadOptions};
use rust_decimal::Decimal;
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
}

fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("corpus folder is readable") {
            let p = entry.expect("corpus entry is readable").path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read_path(p: &Path) -> Result<Invoice, EinvoiceError> {
    read_xml(&std::fs::read(p).expect("corpus file is readable"))
}

/// Paths where two JSON trees differ; strings that are both decimals compare by value.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff(va, vb, &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, &format!("{path}[{i}]"), out);
            }
        }
        (Value::String(x), Value::String(y)) => {
            let same = match (Decimal::from_str(x), Decimal::from_str(y)) {
                (Ok(dx), Ok(dy)) => dx == dy,
                _ => x == y,
            };
            if !same {
                out.push(format!("{path}: {x:?} vs {y:?}"));
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Where a UBL/CII twin of the XRechnung test suite really says different things (checked by hand
/// in the files): (case, field path, why).
const QUIRKS: &[(&str, &str, &str)] = &[
    // Listed in the corpus README.
    ("01.21a", ".seller.vat_id", "the two files carry different seller VAT ids"),
    (
        "01.21a",
        ".vat_breakdown[0].exemption_reason",
        "UBL says 'Umkehrung der Steuerschuldnerschaft', CII's header says 'als gemeinnützig anerkannt'",
    ),
    // UBL puts "[Buyer trading name]" in RegistrationName (BT-44); CII has "[Buyer name]" in Name.
    ("01.01_comprehensive", ".buyer.name", "placeholder texts swapped in the UBL file"),
    ("01.02_comprehensive", ".buyer.name", "placeholder texts swapped in the UBL file"),
    ("01.03_comprehensive", ".buyer.name", "placeholder texts swapped in the UBL file"),
    ("01.04_comprehensive", ".buyer.name", "placeholder texts swapped in the UBL file"),
    (
        "01.01_comprehensive",
        ".preceding",
        "UBL lists two preceding invoices; CII D16B has room for one InvoiceReferencedDocument",
    ),
];

#[test]
fn xrechnung_ubl_and_cii_twins_read_alike() {
    let dir = corpus().join("xrechnung-testsuite");
    let mut failures = Vec::new();
    let mut pairs = 0;
    for ubl in files(&dir, &["xml"]) {
        let name = ubl.to_string_lossy().into_owned();
        let Some(prefix) = name.strip_suffix("_ubl.xml") else {
            continue;
        };
        let cii = PathBuf::from(format!("{prefix}_uncefact.xml"));
        if !cii.exists() {
            continue;
        }
        pairs += 1;
        let (u, c) = match (read_path(&ubl), read_path(&cii)) {
            (Ok(u), Ok(c)) => (u, c),
            (u, c) => {
                failures.push(format!("{name}: ubl {:?} / cii {:?}", u.err(), c.err()));
                continue;
            }
        };
        assert!(
            u.number.is_some() && u.total_gross.is_some(),
            "{name} read empty"
        );
        let mut differences = Vec::new();
        diff(
            &serde_json::to_value(&u).expect("invoice serialises"),
            &serde_json::to_value(&c).expect("invoice serialises"),
            "",
            &mut differences,
        );
        // Differences that are in the files themselves, each checked to still be there.
        for (_, field, _) in QUIRKS.iter().filter(|(case, ..)| name.contains(case)) {
            let before = differences.len();
            differences.retain(|d| !d.starts_with(field));
            assert_eq!(
                before,
                differences.len() + 1,
                "{name}: quirk {field} no longer there"
            );
        }
        if !differences.is_empty() {
            failures.push(format!("{name}:\n    {}", differences.join("\n    ")));
        }
    }
    println!(
        "xrechnung twins: {}/{pairs} read alike",
        pairs - failures.len()
    );
    assert!(pairs >= 40, "expected the 40+ UBL/CII pairs, found {pairs}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check(out: &mut Vec<String>, what: &str, got: Option<String>, want: &Value) {
    let want_s = want.as_str().map(str::to_string);
    let same = match (&got, &want_s) {
        (Some(g), Some(w)) => match (Decimal::from_str(g), Decimal::from_str(w)) {
            (Ok(a), Ok(b)) => a == b,
            _ => g == w,
        },
        (None, None) => true,
        _ => false,
    };
    if !same {
        out.push(format!("{what}: got {got:?}, label {want_s:?}"));
    }
}

#[test]
fn facturx_pdfs_read_to_their_labels() {
    let mut failures = Vec::new();
    let labels = files(&corpus().join("labels"), &["json"]);
    for label_path in &labels {
        let label: Value = serde_json::from_slice(&std::fs::read(label_path).expect("label"))
            .expect("label is JSON");
        let source = label["source"].as_str().expect("label names its source");
        let pdf = std::fs::read(corpus().join(source)).expect("labelled PDF exists");
        let mut bad = Vec::new();
        let xml = match embedded_xml(&pdf) {
            Ok(Some(x)) => x,
            other => {
                failures.push(format!("{source}: no embedded XML: {other:?}"));
                continue;
            }
        };
        if let Some(want) = label["embedded_xml"].as_str() {
            if !xml.name.eq_ignore_ascii_case(want) {
                bad.push(format!("attachment {} instead of {want}", xml.name));
            }
        }
        let extraction = match read_document(
            &pdf,
            &ReadOptions {
                method: MethodChoice::Xml,
                ..ReadOptions::default()
            },
        ) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{source}: {e}"));
                continue;
            }
        };
        let inv = &extraction.invoice;
        let core = &label["core"];
        let s = |v: &Option<Decimal>| v.map(|d| d.to_string());
        check(
            &mut bad,
            "invoice_number",
            inv.number.clone(),
            &core["invoice_number"],
        );
        check(
            &mut bad,
            "issue_date",
            inv.issue_date.map(|d| d.to_string()),
            &core["issue_date"],
        );
        check(
            &mut bad,
            "due_date",
            inv.due_date.map(|d| d.to_string()),
            &core["due_date"],
        );
        check(
            &mut bad,
            "type_code",
            inv.type_code.clone(),
            &core["type_code"],
        );
        check(
            &mut bad,
            "currency",
            inv.currency.map(|c| c.to_string()),
            &core["currency"],
        );
        check(
            &mut bad,
            "seller_name",
            inv.seller.name.clone(),
            &core["seller_name"],
        );
        let vat = inv.seller.vat_id.as_ref().map(|v| v.to_string());
        check(&mut bad, "seller_vat", vat, &core["seller_vat"]);
        check(&mut bad, "net_total", s(&inv.total_net), &core["net_total"]);
        check(&mut bad, "tax_total", s(&inv.total_tax), &core["tax_total"]);
        check(
            &mut bad,
            "gross_total",
            s(&inv.total_gross),
            &core["gross_total"],
        );
        check(
            &mut bad,
            "due_payable",
            s(&inv.amount_due),
            &core["due_payable"],
        );
        // The labels keep the printed IBAN; one that fails ISO 13616 stays out of the typed field.
        let iban = inv.seller.iban.as_ref().map(|i| i.to_string());
        let want_iban = core["iban"]
            .as_str()
            .map(|i| i.replace(' ', ""))
            .filter(|i| Iban::parse(i).is_ok())
            .map(Value::from);
        check(
            &mut bad,
            "iban",
            iban,
            want_iban.as_ref().unwrap_or(&Value::Null),
        );
        if core["n_lines"].as_u64() != Some(inv.lines.len() as u64) {
            bad.push(format!(
                "n_lines: got {}, label {}",
                inv.lines.len(),
                core["n_lines"]
            ));
        }
        for (i, (got, want)) in inv
            .lines
            .iter()
            .zip(label["lines"].as_array().into_iter().flatten())
            .enumerate()
        {
            let mut l = Vec::new();
            check(&mut l, "name", Some(got.description.clone()), &want["name"]);
            check(&mut l, "qty", s(&got.quantity), &want["qty"]);
            check(&mut l, "unit", got.unit.clone(), &want["unit"]);
            check(&mut l, "net_price", s(&got.unit_price), &want["net_price"]);
            check(&mut l, "line_net", s(&got.net_amount), &want["line_net"]);
            check(
                &mut l,
                "vat_cat",
                got.vat_category.clone(),
                &want["vat_cat"],
            );
            check(&mut l, "vat_rate", s(&got.vat_rate), &want["vat_rate"]);
            bad.extend(l.into_iter().map(|m| format!("line {i} {m}")));
        }
        if !bad.is_empty() {
            failures.push(format!("{source}:\n    {}", bad.join("\n    ")));
        }
    }
    println!(
        "labelled Factur-X PDFs: {}/{} exact",
        labels.len() - failures.len(),
        labels.len()
    );
    assert!(!labels.is_empty(), "no labels found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Fields every real invoice carries; missing ones are listed by name.
fn missing_core(inv: &Invoice) -> Vec<&'static str> {
    let mut m = Vec::new();
    if inv.number.is_none() {
        m.push("number");
    }
    if inv.issue_date.is_none() {
        m.push("issue date");
    }
    if inv.currency.is_none() {
        m.push("currency");
    }
    if inv.total_gross.is_none() {
        m.push("gross total");
    }
    m
}

#[test]
fn every_invoice_xml_in_the_corpus_reads() {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut incomplete = Vec::new();
    for p in files(&corpus(), &["xml"]) {
        let folder = p
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry = counts.entry(folder).or_default();
        match read_path(&p) {
            Ok(inv) => {
                entry.0 += 1;
                entry.1 += 1;
                let missing = missing_core(&inv);
                if !missing.is_empty() {
                    incomplete.push(format!("{}: lacks {}", p.display(), missing.join(", ")));
                }
            }
            // Order-X orders live in the same folders; they are not invoices.
            Err(EinvoiceError::NotInvoice { root, .. }) if root.starts_with("SCRDM") => {}
            Err(e) => {
                entry.1 += 1;
                failures.push(format!("{}: {e}", p.display()));
            }
        }
    }
    for (folder, (ok, all)) in &counts {
        println!("{folder}: {ok}/{all} invoice XML read");
    }
    for i in &incomplete {
        println!("incomplete: {i}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(incomplete.is_empty(), "{}", incomplete.join("\n"));
}

#[test]
fn every_facturx_pdf_in_the_corpus_reads() {
    let mut with_xml = 0;
    let mut failures = Vec::new();
    let mut without = Vec::new();
    let pdfs = files(&corpus(), &["pdf"]);
    for p in &pdfs {
        let bytes = std::fs::read(p).expect("corpus PDF is readable");
        match embedded_xml(&bytes) {
            Ok(Some(xml)) => {
                with_xml += 1;
                match read_xml(&xml.bytes) {
                    Ok(inv) if missing_core(&inv).is_empty() => {}
                    Ok(inv) => failures.push(format!(
                        "{} ({}): lacks {}",
                        p.display(),
                        xml.name,
                        missing_core(&inv).join(", ")
                    )),
                    Err(e) => failures.push(format!("{} ({}): {e}", p.display(), xml.name)),
                }
            }
            Ok(None) => without.push(p.display().to_string()),
            Err(e) => failures.push(format!("{}: {e}", p.display())),
        }
    }
    println!(
        "PDFs with embedded invoice XML: {with_xml}/{} ({} without)",
        pdfs.len(),
        without.len()
    );
    for w in &without {
        println!("no embedded XML: {w}");
    }
    // pdfdetach (poppler-utils) is the independent judge of which PDFs carry attachments.
    let mut disagree = Vec::new();
    for p in &pdfs {
        let Ok(out) = std::process::Command::new("pdfdetach")
            .arg("-list")
            .arg(p)
            .output()
        else {
            println!("pdfdetach not installed: attachments not cross-checked");
            break;
        };
        let listing = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        let has_xml = listing
            .lines()
            .skip(1)
            .any(|l| l.trim_end().ends_with(".xml"));
        let we_found = !without.contains(&p.display().to_string());
        if has_xml != we_found {
            disagree.push(format!("{}: pdfdetach lists {listing:?}", p.display()));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn xml_err(doc: &str) -> String {
    let opts = ReadOptions::default();
    match read_document(doc.as_bytes(), &opts) {
        Err(ReadError::BadXml(m)) => m,
        other => panic!("expected BadXml, got {other:?}"),
    }
}

#[test]
fn hostile_xml_is_refused() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:x"><ID>&x;</ID></rsm:CrossIndustryInvoice>"#;
    assert!(xml_err(xxe).contains("DTD"), "{}", xml_err(xxe));

    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]>\n<Invoice>&lol9;</Invoice>");
    let msg = xml_err(&laughs);
    assert!(
        msg.contains("DTD") && msg.contains("line 2, column 1"),
        "{msg}"
    );

    // Entities without a DTD are undeclared: refused, not expanded.
    let msg = xml_err("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><ID>&lol;</ID></Invoice>");
    assert!(msg.contains("<ID>"), "{msg}");

    let deep = "<a>".repeat(100) + &"</a>".repeat(100);
    assert!(
        xml_err(&deep).contains("deeper than 64"),
        "{}",
        xml_err(&deep)
    );

    let big = format!("<Invoice>{}</Invoice>", " ".repeat(21 * 1024 * 1024));
    assert!(xml_err(&big).contains("larger than"), "{}", xml_err(&big));
}

#[test]
fn malformed_xml_says_where() {
    let cii = std::fs::read_to_string(corpus().join("horstoeko-zugferd/xml_en16931_1.xml"))
        .expect("corpus CII");
    // Break the closing tag of the seller's name: the message must name the element and line.
    let at = cii.find("</ram:Name>").expect("a ram:Name in the sample");
    let line = cii[..at].lines().count();
    let broken = format!(
        "{}</ram:Nmae>{}",
        &cii[..at],
        &cii[at + "</ram:Name>".len()..]
    );
    let msg = xml_err(&broken);
    assert!(msg.contains("ram:Name"), "{msg}");
    assert!(msg.contains(&format!("line {line}")), "{msg}");
}
