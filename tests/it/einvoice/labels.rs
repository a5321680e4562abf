//! Factur-X PDFs read through `read_document(Xml)` to the hand-checked labels in corpus/labels:
//! core fields, the attachment's name, and every line.

use std::str::FromStr;

use facteur::domain::Iban;
use facteur::read::einvoice::embedded_xml;
use facteur::read::{read_document, MethodChoice, ReadOptions};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{corpus, files};

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
