//! The XRechnung test suite's UBL/CII twins must read to the same `Invoice`, except where the two
//! files really say different things (each such quirk is checked to still be there).

use std::path::PathBuf;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{corpus, files, read_path};

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
