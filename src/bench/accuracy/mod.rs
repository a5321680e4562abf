//! Accuracy benchmark: per-field and overall agreement with ground truth, printed as tables and
//! never asserted (DESIGN.md §7). Tests call the same scoring functions and assert floors.
//!
//! (a) XML: structured files and Factur-X PDFs read through `read_document` (errors counted);
//! (b) `--method text` on the Factur-X PDFs against corpus/labels, scoring only values printed on
//! the page; (c) the invoice2data PDFs against their JSON, same rule. "Printed" is checked on our
//! own text layer in every format a parser accepts, so a value the page does not show never counts
//! against the reader. (d) the generated demo invoices (`lines.rs`) and (e) the mustang PDFs read
//! as text against their own embedded XML (`mustang.rs`). Line items are scored by net amount.

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

use crate::domain::{Extraction, Iban, VatId};
use crate::read::fields::amounts::find_amounts;
use crate::read::fields::dates::{find_dates, DateOrder};
use crate::read::fields::text::{lines_of, normalize};
use crate::read::{pdf, read_document, MethodChoice, ReadOptions};

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
struct Printed {
    compact: String,
    dates: Vec<NaiveDate>,
    amounts: Vec<Decimal>,
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
        }
    }

    fn text(&self, s: &str) -> bool {
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
                if !printed.dates.contains(&d) {
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
                if !printed.amounts.contains(&d.abs()) {
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

fn label_core(label: &Value) -> BTreeMap<&'static str, Value> {
    let c = &label["core"];
    let mut m = BTreeMap::new();
    for (k, f) in [
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
    ] {
        m.insert(k, c[f].clone());
    }
    m
}

/// (b) Factur-X / ZUGFeRD PDFs read visually (`--method text`) against corpus/labels.
pub fn text_vs_labels(corpus: &Path) -> Report {
    let mut r = Report::default();
    for lf in files(&corpus.join("labels"), "json") {
        let Ok(label) = std::fs::read_to_string(&lf)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Value>(&s).map_err(|e| e.to_string()))
        else {
            r.errors.push(format!("{}: unreadable label", lf.display()));
            continue;
        };
        let Some(src) = label["source"].as_str() else {
            continue;
        };
        let doc = src.to_string();
        let Ok(bytes) = std::fs::read(corpus.join(src)) else {
            r.errors.push(format!("{doc}: missing PDF"));
            continue;
        };
        r.documents += 1;
        match read_document(&bytes, &text_opts()) {
            Ok(ex) => {
                let printed = Printed::of(&bytes);
                compare(&mut r, &doc, &ex, &printed, &label_core(&label), false);
                let want: Vec<lines::WantLine> = label["lines"]
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|l| {
                        Some(lines::WantLine {
                            net: dec(&l["line_net"])?,
                            quantity: dec(&l["qty"]),
                            unit_price: dec(&l["net_price"]),
                        })
                    })
                    .collect();
                lines::score_lines(&mut r, &doc, &ex, &want, &printed);
            }
            Err(e) => r.errors.push(format!("{doc}: {e}")),
        }
    }
    r
}

/// (c) The invoice2data PDFs against their JSON (printed values only).
pub fn invoice2data(corpus: &Path) -> Report {
    let mut r = Report::default();
    let dir = corpus.join("invoice2data");
    for pdf_path in files(&dir, "pdf") {
        let doc = pdf_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(truth) = std::fs::read_to_string(pdf_path.with_extension("json"))
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Value>(&s).map_err(|e| e.to_string()))
        else {
            continue;
        };
        let t = &truth[0];
        let Ok(bytes) = std::fs::read(&pdf_path) else {
            continue;
        };
        r.documents += 1;
        let mut want = BTreeMap::new();
        for (k, f) in [
            ("invoice_number", "invoice_number"),
            ("issue_date", "date"),
            ("due_date", "date_due"),
            ("currency", "currency"),
            ("total_gross", "amount"),
            ("total_net", "amount_untaxed"),
            ("total_tax", "amount_tax"),
            ("supplier_vat_id", "vat"),
            ("supplier_iban", "iban"),
            ("supplier_name", "issuer"),
        ] {
            want.insert(k, t[f].clone());
        }
        match read_document(&bytes, &text_opts()) {
            Ok(ex) => compare(&mut r, &doc, &ex, &Printed::of(&bytes), &want, true),
            Err(e) => r.errors.push(format!("{doc}: {e}")),
        }
    }
    r
}

/// `facteur bench accuracy`: prints the five tables.
pub fn run(corpus: &Path) -> anyhow::Result<()> {
    xml(corpus).print("(a) XML: structured files and Factur-X PDFs (--method xml)");
    text_vs_labels(corpus).print("(b) Factur-X PDFs read as text (--method text), printed values");
    invoice2data(corpus).print("(c) invoice2data PDFs (--method text), printed values");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    demo(&fixtures).print("(d) generated demo invoices, fixtures/demo (--method text)");
    mustang_text_vs_xml(corpus)
        .print("(e) mustang PDFs read as text against their own embedded XML, printed values");
    Ok(())
}
