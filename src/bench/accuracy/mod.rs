//! Accuracy benchmark: per-field and overall agreement with ground truth, printed as tables and
//! never asserted (DESIGN.md §7). Tests call the same scoring functions and assert floors.
//!
//! (a) XML: structured files and Factur-X PDFs read through `read_document` (errors counted);
//! (b) `--method text` on the Factur-X PDFs against corpus/labels, scoring only values printed on
//! the page; (c) the invoice2data PDFs against their JSON, same rule. "Printed" is checked on our
//! own text layer in every format a parser accepts, so a value the page does not show never counts
//! against the reader. (d) the generated demo invoices (`lines.rs`) and (e) the mustang PDFs read
//! as text against their own embedded XML (`mustang.rs`). Line items are scored by net amount.

pub mod cases;
mod lines;
mod mustang;
mod xml;

pub use lines::demo;
pub use mustang::mustang_text_vs_xml;
pub use xml::xml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::bench::ocr::scans::Variant;
use crate::domain::{Extraction, Iban, VatId};
use crate::read::fields::amounts::find_amounts;
use crate::read::fields::dates::{find_dates, DateOrder};
use crate::read::fields::text::{lines_of, normalize};
use crate::read::{pdf, MethodChoice, ReadOptions};

/// Correct / scored counts per field, and what went wrong.
#[derive(Debug, Default)]
pub struct Report {
    pub fields: BTreeMap<String, (u32, u32)>,
    pub misses: Vec<String>,
    pub errors: Vec<String>,
    pub documents: u32,
}

impl Report {
    fn score(&mut self, doc: &str, field: &str, ok: bool, got: &str, want: &str) {
        let e = self.fields.entry(field.to_string()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            self.misses
                .push(format!("{doc}: {field}: got {got}, want {want}"));
        }
    }

    /// Correct / scored over the header fields (line items are counted apart, in `lines`).
    pub fn overall(&self) -> (u32, u32) {
        self.sum(|f| !f.starts_with("line_"))
    }

    /// Correct / scored over the line-item fields (`line_net`, `line_qty_price`, `line_count`).
    pub fn lines(&self) -> (u32, u32) {
        self.sum(|f| f.starts_with("line_"))
    }

    /// Share of line nets found (0 when no line was scored).
    pub fn line_net_ratio(&self) -> f64 {
        let (c, t) = self.fields.get("line_net").copied().unwrap_or((0, 0));
        if t == 0 {
            0.0
        } else {
            c as f64 / t as f64
        }
    }

    fn sum(&self, keep: impl Fn(&str) -> bool) -> (u32, u32) {
        self.fields
            .iter()
            .filter(|(f, _)| keep(f))
            .fold((0, 0), |(a, b), (_, (c, t))| (a + c, b + t))
    }

    pub fn ratio(&self) -> f64 {
        let (c, t) = self.overall();
        if t == 0 {
            0.0
        } else {
            c as f64 / t as f64
        }
    }

    pub fn print(&self, title: &str) {
        println!("\n{title} ({} documents)", self.documents);
        println!(
            "{:<18} {:>8} {:>8} {:>8}",
            "field", "correct", "scored", "%"
        );
        for (f, (c, t)) in &self.fields {
            println!("{f:<18} {c:>8} {t:>8} {:>7.1}%", pct(*c, *t));
        }
        let (c, t) = self.overall();
        println!("{:<18} {c:>8} {t:>8} {:>7.1}%", "OVERALL", pct(c, t));
        let (c, t) = self.lines();
        if t > 0 {
            println!("{:<18} {c:>8} {t:>8} {:>7.1}%", "LINE ITEMS", pct(c, t));
        }
        for e in &self.errors {
            println!("  error: {e}");
        }
        for m in &self.misses {
            println!("  miss: {m}");
        }
    }
}

fn pct(c: u32, t: u32) -> f64 {
    if t == 0 {
        0.0
    } else {
        100.0 * c as f64 / t as f64
    }
}

/// What the page shows, to decide whether a ground-truth value is printed.
pub(crate) struct Printed {
    compact: String,
    dates: Vec<NaiveDate>,
    amounts: Vec<Decimal>,
    /// Every truth value counts, printed or derived (generated documents, whose truth is exact).
    all: bool,
}

impl Printed {
    fn of(bytes: &[u8]) -> Printed {
        let pages = pdf::text_pages(bytes).unwrap_or_default();
        let lines = lines_of(&pages);
        let mut dates = Vec::new();
        let mut amounts = Vec::new();
        let mut compact = String::new();
        for l in &lines {
            for o in [DateOrder::DayFirst, DateOrder::MonthFirst] {
                dates.extend(find_dates(&l.norm, o).into_iter().map(|d| d.date));
            }
            amounts.extend(find_amounts(&l.raw).into_iter().map(|a| a.value.abs()));
            compact.extend(l.norm.chars().filter(|c| !c.is_whitespace()));
        }
        Printed {
            compact,
            dates,
            amounts,
            all: false,
        }
    }

    /// Scores every truth value, whether the page prints it or it follows from what is printed
    /// (a due date from the terms, a tax total from the per-rate lines).
    fn everything() -> Printed {
        Printed {
            compact: String::new(),
            dates: Vec::new(),
            amounts: Vec::new(),
            all: true,
        }
    }

    fn has_date(&self, d: &NaiveDate) -> bool {
        self.all || self.dates.contains(d)
    }

    fn has_amount(&self, a: &Decimal) -> bool {
        self.all || self.amounts.contains(a)
    }

    fn text(&self, s: &str) -> bool {
        if self.all {
            return true;
        }
        let c: String = normalize(s)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        !c.is_empty() && self.compact.contains(&c)
    }
}

fn compact_eq(a: &str, b: &str) -> bool {
    let c = |s: &str| -> String {
        normalize(s)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    !c(a).is_empty() && c(a) == c(b)
}

fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Compares one extraction with expected core values; only printed values are scored.
#[allow(clippy::too_many_arguments)]
fn compare(
    r: &mut Report,
    doc: &str,
    ex: &Extraction,
    printed: &Printed,
    want: &BTreeMap<&str, Value>,
    lenient_name: bool,
) {
    let inv = &ex.invoice;
    let show = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    for (field, v) in want {
        if v.is_null() {
            continue;
        }
        let s = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        match *field {
            "invoice_number" | "purchase_order" => {
                if !printed.text(&s) {
                    continue;
                }
                let got = if *field == "invoice_number" {
                    &inv.number
                } else {
                    &inv.purchase_order
                };
                let ok = got.as_deref().is_some_and(|g| compact_eq(g, &s));
                r.score(doc, field, ok, &show(got.clone()), &s);
            }
            "issue_date" | "due_date" => {
                let Ok(d) = s.parse::<NaiveDate>() else {
                    continue;
                };
                if !printed.has_date(&d) {
                    continue;
                }
                let got = if *field == "issue_date" {
                    inv.issue_date
                } else {
                    inv.due_date
                };
                r.score(
                    doc,
                    field,
                    got == Some(d),
                    &show(got.map(|g| g.to_string())),
                    &s,
                );
            }
            "total_net" | "total_tax" | "total_gross" => {
                let Some(d) = dec(v) else { continue };
                if !printed.has_amount(&d.abs()) {
                    continue;
                }
                let got = match *field {
                    "total_net" => inv.total_net,
                    "total_tax" => inv.total_tax,
                    _ => inv.total_gross,
                };
                r.score(
                    doc,
                    field,
                    got == Some(d.abs()),
                    &show(got.map(|g| g.to_string())),
                    &s,
                );
            }
            "doc_type" => {
                let got = inv.doc_type.as_str();
                r.score(doc, field, got == s, got, &s);
            }
            "currency" => {
                let got = inv.currency.map(|c| c.to_string());
                r.score(
                    doc,
                    field,
                    got.as_deref() == Some(s.as_str()),
                    &show(got.clone()),
                    &s,
                );
            }
            "supplier_vat_id" => {
                let Ok(want) = VatId::parse(&s) else { continue };
                if !printed.text(want.as_str()) && !printed.text(&s) {
                    continue;
                }
                let got = inv.seller.vat_id.as_ref().map(|v| v.to_string());
                r.score(
                    doc,
                    field,
                    got.as_deref() == Some(want.as_str()),
                    &show(got.clone()),
                    want.as_str(),
                );
            }
            "supplier_iban" => {
                let Ok(want) = Iban::parse(&s) else { continue };
                if !printed.text(want.as_str()) {
                    continue;
                }
                let got = inv.seller.iban.as_ref().map(|v| v.to_string());
                r.score(
                    doc,
                    field,
                    got.as_deref() == Some(want.as_str()),
                    &show(got.clone()),
                    want.as_str(),
                );
            }
            "supplier_name" | "customer_name" => {
                if !printed.text(&s) {
                    continue;
                }
                let party = if *field == "supplier_name" {
                    &inv.seller
                } else {
                    &inv.buyer
                };
                let got = party.name.clone().unwrap_or_default();
                let (g, w) = (normalize(&got), normalize(&s));
                let ok = if lenient_name {
                    !g.is_empty() && (g.contains(&w) || w.contains(&g))
                } else {
                    compact_eq(&got, &s)
                };
                r.score(doc, field, ok, &got, &s);
            }
            _ => {}
        }
    }
}

fn text_opts() -> ReadOptions {
    ReadOptions {
        method: MethodChoice::Text,
        ..ReadOptions::default()
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)));
    v.sort();
    v
}

/// The core fields of a corpus/labels JSON, under the names `compare` scores.
fn label_core(label: &Value) -> BTreeMap<&'static str, Value> {
    let c = &label["core"];
    [
        ("invoice_number", "invoice_number"),
        ("issue_date", "issue_date"),
        ("due_date", "due_date"),
        ("currency", "currency"),
        ("total_net", "net_total"),
        ("total_tax", "tax_total"),
        ("total_gross", "gross_total"),
        ("supplier_name", "seller_name"),
        ("supplier_vat_id", "seller_vat"),
        ("supplier_iban", "iban"),
    ]
    .into_iter()
    .map(|(k, f)| (k, c[f].clone()))
    .collect()
}

/// (b) Factur-X / ZUGFeRD PDFs read visually (`--method text`) against corpus/labels.
pub fn text_vs_labels(corpus: &Path) -> Report {
    cases::report(cases::labelled(corpus))
}

/// (c) The invoice2data PDFs against their JSON (printed values only).
pub fn invoice2data(corpus: &Path) -> Report {
    cases::report(cases::invoice2data(corpus))
}

/// (f) Invoices of scripts/make-invoices in `dir`, every truth value scored. A held-out set is
/// only ever seen in aggregate: its misses are dropped, so that its errors cannot steer a rule.
pub fn generated(dir: &Path) -> Report {
    aggregate_if_held_out(dir, cases::report(cases::generated(dir)))
}

fn aggregate_if_held_out(dir: &Path, mut r: Report) -> Report {
    if dir.to_string_lossy().contains("held_out") {
        r.misses.clear();
    }
    r
}

/// `facteur bench accuracy`: prints the tables; a folder of generated invoices (JSON truth
/// beside each PDF, no `labels/`) is scored alone.
pub fn run(corpus: &Path) -> anyhow::Result<()> {
    if cases::is_generated(corpus) {
        generated(corpus).print(&format!(
            "(f) generated invoices, {} (--method text), every value",
            corpus.display()
        ));
        // Their scans too: OCR at 200 and 300 dpi (about a second a page with OMP_THREAD_LIMIT=1).
        let ocr = ReadOptions {
            method: MethodChoice::Ocr,
            ..ReadOptions::default()
        };
        for dpi in [200, 300] {
            let c = cases::scanned(cases::generated(corpus), corpus, Variant::Dpi(dpi));
            aggregate_if_held_out(corpus, cases::report_with(c, &ocr)).print(&format!(
                "(g) the same invoices scanned at {dpi} dpi (--method ocr), every value"
            ));
        }
        return Ok(());
    }
    xml(corpus).print("(a) XML: structured files and Factur-X PDFs (--method xml)");
    text_vs_labels(corpus).print("(b) Factur-X PDFs read as text (--method text), printed values");
    invoice2data(corpus).print("(c) invoice2data PDFs (--method text), printed values");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    demo(&fixtures).print("(d) generated demo invoices, fixtures/demo (--method text)");
    mustang_text_vs_xml(corpus)
        .print("(e) mustang PDFs read as text against their own embedded XML, printed values");
    for set in ["dev", "held_out", "hard_dev", "hard_held_out"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/generated")
            .join(set);
        generated(&dir).print(&format!(
            "(f) generated invoices, fixtures/generated/{set} (--method text), every value"
        ));
    }
    Ok(())
}
