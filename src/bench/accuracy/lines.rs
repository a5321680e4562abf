//! Line-item scoring (BG-25) and the generated demo invoices, whose every value is known from
//! scripts/make-fixtures.
//!
//! A line is scored by its net amount (BT-131), the one column every table prints; quantity and
//! unit price are scored where the truth has them. Only amounts printed on the page count, so a
//! label line whose net the page never shows is not held against the reader.

use std::path::Path;

use rust_decimal::Decimal;

use super::{compare, text_opts, Printed, Report};
use crate::domain::Extraction;
use crate::read::read_document;

/// One expected line: net amount, and quantity / unit price when known.
pub struct WantLine {
    pub net: Decimal,
    pub quantity: Option<Decimal>,
    pub unit_price: Option<Decimal>,
}

/// Scores `line_net` (each expected, printed net found among the read lines, each read line used
/// once), `line_qty_price` where known, and `line_count` (no extra or missing rows).
pub(super) fn score_lines(
    r: &mut Report,
    doc: &str,
    ex: &Extraction,
    want: &[WantLine],
    printed: &Printed,
) {
    let printed_want: Vec<&WantLine> = want
        .iter()
        .filter(|w| printed.has_amount(&w.net.abs()))
        .collect();
    if printed_want.is_empty() {
        return;
    }
    let mut unused: Vec<_> = ex.invoice.lines.iter().collect();
    for w in &printed_want {
        let pos = unused
            .iter()
            .position(|l| l.net_amount.map(|n| n.abs()) == Some(w.net.abs()));
        let got = pos.map(|p| unused.remove(p));
        r.score(
            doc,
            "line_net",
            got.is_some(),
            got.and_then(|g| g.net_amount)
                .map_or("-".into(), |n| n.to_string())
                .as_str(),
            &w.net.to_string(),
        );
        if let (Some(q), Some(p)) = (w.quantity, w.unit_price) {
            if printed.has_amount(&p.abs()) {
                let ok = got.is_some_and(|g| {
                    g.quantity.map(|x| x.normalize()) == Some(q.normalize())
                        && g.unit_price.map(|x| x.normalize()) == Some(p.normalize())
                });
                let shown = got.map_or("-".into(), |g| {
                    format!("{:?} x {:?}", g.quantity, g.unit_price)
                });
                r.score(doc, "line_qty_price", ok, &shown, &format!("{q} x {p}"));
            }
        }
    }
    if printed_want.len() == want.len() {
        r.score(
            doc,
            "line_count",
            ex.invoice.lines.len() == want.len(),
            &ex.invoice.lines.len().to_string(),
            &want.len().to_string(),
        );
    }
}

fn d(s: &str) -> Decimal {
    s.parse().expect("literal decimals in this file are valid")
}

fn line(qty: &str, price: &str, net: &str) -> WantLine {
    WantLine {
        net: d(net),
        quantity: Some(d(qty)),
        unit_price: Some(d(price)),
    }
}

/// A demo file, its header fields and its lines.
type DemoTruth = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<WantLine>,
);

/// The generated demo invoices and what scripts/make-fixtures wrote into them.
fn demo_truth() -> Vec<DemoTruth> {
    vec![
        (
            "facture-papeterie-dupont.pdf",
            vec![
                ("invoice_number", "FA-2026-0412"),
                ("issue_date", "2026-10-05"),
                ("due_date", "2026-11-04"),
                ("total_net", "216.30"),
                ("total_tax", "43.26"),
                ("total_gross", "259.56"),
                ("supplier_name", "Papeterie Dupont SARL"),
                ("customer_name", "Boulangerie Martin"),
                ("supplier_vat_id", "FR44732829320"),
            ],
            vec![
                line("20", "4.35", "87.00"),
                line("12", "2.90", "34.80"),
                line("3", "31.50", "94.50"),
            ],
        ),
        (
            "invoice-northwind-consulting.pdf",
            vec![
                ("invoice_number", "NWC-10458"),
                ("issue_date", "2026-10-14"),
                ("due_date", "2026-11-13"),
                ("total_net", "4062.40"),
                ("total_tax", "812.48"),
                ("total_gross", "4874.88"),
                ("supplier_name", "Northwind Consulting Ltd"),
                ("customer_name", "Atelier Martin SAS"),
            ],
            vec![
                line("3", "850.00", "2550.00"),
                line("1", "1200.00", "1200.00"),
                line("1", "312.40", "312.40"),
            ],
        ),
        (
            "avoir-papeterie-dupont.pdf",
            vec![
                ("invoice_number", "AV-2026-0031"),
                ("issue_date", "2026-10-12"),
                ("total_net", "11.60"),
                ("total_tax", "2.32"),
                ("total_gross", "13.92"),
                ("supplier_name", "Papeterie Dupont SARL"),
                ("customer_name", "Boulangerie Martin"),
                ("supplier_vat_id", "FR44732829320"),
            ],
            vec![line("4", "2.90", "11.60")],
        ),
    ]
}

/// (d) The generated demo invoices in fixtures/demo, read as text.
pub fn demo(fixtures: &Path) -> Report {
    let mut r = Report::default();
    for (file, fields, lines) in demo_truth() {
        let Ok(bytes) = std::fs::read(fixtures.join(file)) else {
            r.errors.push(format!("{file}: missing"));
            continue;
        };
        r.documents += 1;
        let ex = match read_document(&bytes, &text_opts()) {
            Ok(ex) => ex,
            Err(e) => {
                r.errors.push(format!("{file}: {e}"));
                continue;
            }
        };
        let printed = Printed::of(&bytes);
        let want = fields
            .iter()
            .map(|(k, v)| (*k, serde_json::Value::String(v.to_string())))
            .collect();
        compare(&mut r, file, &ex, &printed, &want, false);
        score_lines(&mut r, file, &ex, &lines, &printed);
    }
    r
}
