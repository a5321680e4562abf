//! (a) Structured reading: every e-invoice XML file of the corpus reads, Order-X orders are
//! refused, and the XML embedded in the labelled Factur-X PDFs agrees exactly with the labels
//! (structured reading must be exact, printed or not).

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{compact_eq, dec, files, label_core, Report};
use crate::domain::Extraction;
use crate::read::{read_document, MethodChoice, ReadOptions};

/// The root element of an Order-X (purchase order) message.
const ORDER_X: &[u8] = b"SCRDMCCBDACIOMessageStructure";

/// (a) Structured reading: every XML file reads, and Factur-X PDFs' XML agrees with the labels.
pub fn xml(corpus: &Path) -> Report {
    let mut r = Report::default();
    for dir in [
        "akretion-facturx",
        "en16931-examples",
        "xrechnung-testsuite",
        "mustang",
        "horstoeko-zugferd",
    ] {
        for f in files(&corpus.join(dir), "xml") {
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            r.documents += 1;
            let name = format!(
                "{dir}/{}",
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let ok = read_document(&bytes, &ReadOptions::default());
            let e = ok.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
            // Order-X files are purchase orders: refusing them is the right answer.
            if bytes.windows(ORDER_X.len()).any(|w| w == ORDER_X) {
                r.score(
                    &name,
                    "order_x_refused",
                    ok.is_err(),
                    "read as an invoice",
                    &e,
                );
                continue;
            }
            r.score(&name, "xml_file_reads", ok.is_ok(), &e, "an invoice");
        }
    }
    for lf in files(&corpus.join("labels"), "json") {
        let Some(label) = std::fs::read_to_string(&lf)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        else {
            continue;
        };
        let Some(src) = label["source"].as_str() else {
            continue;
        };
        let Ok(bytes) = std::fs::read(corpus.join(src)) else {
            continue;
        };
        r.documents += 1;
        let opts = ReadOptions {
            method: MethodChoice::Xml,
            ..ReadOptions::default()
        };
        match read_document(&bytes, &opts) {
            Ok(ex) => {
                let mut want = label_core(&label);
                want.retain(|_, v| !v.is_null());
                let mut tmp = Report::default();
                compare_exact(&mut tmp, src, &ex, &want);
                for (k, (c, t)) in tmp.fields {
                    let e = r.fields.entry(format!("pdf_{k}")).or_default();
                    e.0 += c;
                    e.1 += t;
                }
                r.misses.extend(tmp.misses);
            }
            Err(e) => r.score(src, "pdf_xml_reads", false, &e.to_string(), "an invoice"),
        }
    }
    r
}

fn compare_exact(r: &mut Report, doc: &str, ex: &Extraction, want: &BTreeMap<&str, Value>) {
    let inv = &ex.invoice;
    for (field, v) in want {
        let s = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        // A label IBAN that fails its own mod-97 check is a typo in the sample: the reader is right
        // to refuse it, so it is not scored.
        if *field == "supplier_iban" && crate::domain::Iban::parse(&s).is_err() {
            continue;
        }
        let got: Option<String> = match *field {
            "invoice_number" => inv.number.clone(),
            "issue_date" => inv.issue_date.map(|d| d.to_string()),
            "due_date" => inv.due_date.map(|d| d.to_string()),
            "currency" => inv.currency.map(|c| c.to_string()),
            "total_net" => inv.total_net.map(|d| d.to_string()),
            "total_tax" => inv.total_tax.map(|d| d.to_string()),
            "total_gross" => inv.total_gross.map(|d| d.to_string()),
            "supplier_name" => inv.seller.name.clone(),
            "supplier_vat_id" => inv.seller.vat_id.as_ref().map(|v| v.to_string()),
            "supplier_iban" => inv.seller.iban.as_ref().map(|v| v.to_string()),
            _ => None,
        };
        let ok = match (&got, dec(v)) {
            (Some(g), Some(d)) if field.starts_with("total") => {
                g.parse::<Decimal>().ok() == Some(d)
            }
            (Some(g), _) => compact_eq(g, &s),
            _ => false,
        };
        r.score(doc, field, ok, got.as_deref().unwrap_or("-"), &s);
    }
}
