//! (e) Every mustang PDF that carries Factur-X/ZUGFeRD XML, read visually (`--method text`) and
//! scored against its own XML read by `read::einvoice` — a free ground truth for each file.
//!
//! The XML holds values the page may not print (ids, codes), so only printed values are scored,
//! as for the labelled PDFs; a PDF without XML (the blank one) is skipped, not counted.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::lines::{score_lines, WantLine};
use super::{compare, files, text_opts, Printed, Report};
use crate::domain::Invoice;
use crate::read::{read_document, MethodChoice, ReadOptions};

/// The core values of an XML reading, keyed like the labels' core fields.
fn want_of(inv: &Invoice) -> BTreeMap<&'static str, Value> {
    let s = |v: Option<String>| v.map_or(Value::Null, Value::String);
    let mut m = BTreeMap::new();
    m.insert("invoice_number", s(inv.number.clone()));
    m.insert("issue_date", s(inv.issue_date.map(|d| d.to_string())));
    m.insert("due_date", s(inv.due_date.map(|d| d.to_string())));
    m.insert("currency", s(inv.currency.map(|c| c.to_string())));
    m.insert("total_net", s(inv.total_net.map(|d| d.to_string())));
    m.insert("total_tax", s(inv.total_tax.map(|d| d.to_string())));
    m.insert("total_gross", s(inv.total_gross.map(|d| d.to_string())));
    m.insert("supplier_name", s(inv.seller.name.clone()));
    m.insert("customer_name", s(inv.buyer.name.clone()));
    m.insert(
        "supplier_vat_id",
        s(inv.seller.vat_id.as_ref().map(|v| v.to_string())),
    );
    m.insert(
        "supplier_iban",
        s(inv.seller.iban.as_ref().map(|v| v.to_string())),
    );
    m
}

pub fn mustang_text_vs_xml(corpus: &Path) -> Report {
    let mut r = Report::default();
    let xml_opts = ReadOptions {
        method: MethodChoice::Xml,
        ..ReadOptions::default()
    };
    for path in files(&corpus.join("mustang"), "pdf") {
        let doc = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(bytes) = std::fs::read(&path) else {
            r.errors.push(format!("{doc}: unreadable"));
            continue;
        };
        let Ok(truth) = read_document(&bytes, &xml_opts) else {
            continue;
        };
        r.documents += 1;
        match read_document(&bytes, &text_opts()) {
            Ok(ex) => {
                let printed = Printed::of(&bytes);
                compare(&mut r, &doc, &ex, &printed, &want_of(&truth.invoice), false);
                let want: Vec<WantLine> = truth
                    .invoice
                    .lines
                    .iter()
                    .filter_map(|l| {
                        Some(WantLine {
                            net: l.net_amount?,
                            quantity: l.quantity,
                            unit_price: l.unit_price,
                        })
                    })
                    .collect();
                score_lines(&mut r, &doc, &ex, &want, &printed);
            }
            Err(e) => r.errors.push(format!("{doc}: {e}")),
        }
    }
    r
}
