//! Ground truth for the OCR field bench: which values each document's page prints, typed, and
//! whether a reading agrees with them.
//!
//! Only values printed on the page are kept: the source PDF's text layer must show the value in
//! some format the field parsers accept (dates in either order, amounts in any grouping), so a
//! label the page does not print never counts against OCR.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::domain::{Iban, Invoice, VatId};
use crate::read::fields::amounts::find_amounts;
use crate::read::fields::dates::{find_dates, DateOrder};
use crate::read::fields::text::{lines_of, normalize};
use crate::read::pdf;

/// A value the page prints, typed as the comparison needs it.
#[derive(Debug, Clone)]
pub enum Expected {
    Text(String),
    Date(NaiveDate),
    Amount(Decimal),
    Vat(VatId),
    Iban(Iban),
}

/// A document with ground truth restricted to what its page prints.
#[derive(Debug, Clone)]
pub struct Truth {
    pub doc: String,
    /// The PDF the scans are made from (`None` for a PNG scan).
    pub(super) pdf: Option<PathBuf>,
    /// A ready-made scan (the invoice2data PNGs).
    pub(super) png: Option<PathBuf>,
    pub(super) expected: Vec<(&'static str, Expected)>,
}

/// What a page's text layer shows.
struct Printed {
    compact: String,
    dates: Vec<NaiveDate>,
    amounts: Vec<Decimal>,
}

impl Printed {
    fn of(pdf_bytes: &[u8]) -> Printed {
        let pages = pdf::text_pages(pdf_bytes).unwrap_or_default();
        let mut p = Printed {
            compact: String::new(),
            dates: Vec::new(),
            amounts: Vec::new(),
        };
        for l in lines_of(&pages) {
            for o in [DateOrder::DayFirst, DateOrder::MonthFirst] {
                p.dates
                    .extend(find_dates(&l.norm, o).into_iter().map(|d| d.date));
            }
            p.amounts
                .extend(find_amounts(&l.raw).into_iter().map(|a| a.value.abs()));
            p.compact
                .extend(l.norm.chars().filter(|c| !c.is_whitespace()));
        }
        p
    }

    fn text(&self, s: &str) -> bool {
        let c = compact(s);
        !c.is_empty() && self.compact.contains(&c)
    }

    /// `want` (a field → JSON value map) restricted to printed values, typed.
    fn expected(&self, want: &[(&'static str, Value)]) -> Vec<(&'static str, Expected)> {
        let mut out = Vec::new();
        for (field, v) in want {
            let s = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            let e = match *field {
                "invoice_number" if self.text(&s) => Expected::Text(s),
                "issue_date" | "due_date" => match s.parse::<NaiveDate>() {
                    Ok(d) if self.dates.contains(&d) => Expected::Date(d),
                    _ => continue,
                },
                "total_net" | "total_tax" | "total_gross" => match s.parse::<Decimal>() {
                    Ok(d) if self.amounts.contains(&d.abs()) => Expected::Amount(d.abs()),
                    _ => continue,
                },
                "currency" if self.currency_printed(&s) => Expected::Text(s),
                "supplier_vat_id" => match VatId::parse(&s) {
                    Ok(id) if self.text(id.as_str()) || self.text(&s) => Expected::Vat(id),
                    _ => continue,
                },
                "iban" => match Iban::parse(&s) {
                    Ok(iban) if self.text(iban.as_str()) => Expected::Iban(iban),
                    _ => continue,
                },
                _ => continue,
            };
            out.push((*field, e));
        }
        out
    }

    fn currency_printed(&self, code: &str) -> bool {
        let symbol = match code {
            "EUR" => "€",
            "USD" => "$",
            "GBP" => "£",
            "INR" => "₹",
            _ => code,
        };
        self.text(code) || self.compact.contains(symbol)
    }
}

fn compact(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn alnum(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_uppercase()
}

/// Whether the reading agrees; the value read, for the miss list.
pub(super) fn check(field: &str, e: &Expected, inv: &Invoice) -> (bool, String) {
    let show = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    match e {
        Expected::Text(want) if field == "currency" => {
            let got = inv.currency.map(|c| c.to_string());
            (got.as_deref() == Some(want.as_str()), show(got))
        }
        Expected::Text(want) => {
            let got = inv.number.clone();
            let ok = got
                .as_deref()
                .is_some_and(|g| !alnum(g).is_empty() && alnum(g) == alnum(want));
            (ok, show(got))
        }
        Expected::Date(want) => {
            let got = if field == "issue_date" {
                inv.issue_date
            } else {
                inv.due_date
            };
            (got == Some(*want), show(got.map(|d| d.to_string())))
        }
        Expected::Amount(want) => {
            let got = match field {
                "total_net" => inv.total_net,
                "total_tax" => inv.total_tax,
                _ => inv.total_gross,
            };
            (
                got.map(|g| g.abs()) == Some(*want),
                show(got.map(|d| d.to_string())),
            )
        }
        Expected::Vat(want) => {
            let got = inv.seller.vat_id.as_ref();
            (got == Some(want), show(got.map(|v| v.to_string())))
        }
        Expected::Iban(want) => {
            let got = inv.seller.iban.as_ref();
            (got == Some(want), show(got.map(|v| v.to_string())))
        }
    }
}

fn json(path: &Path) -> anyhow::Result<Value> {
    let s = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to read {}", path.display()))?;
    serde_json::from_str(&s).with_context(|| format!("{} is not JSON", path.display()))
}

/// The Factur-X / ZUGFeRD PDFs of corpus/labels, with their labels' printed core values.
pub fn facturx_truths(corpus: &Path) -> anyhow::Result<Vec<Truth>> {
    let mut out = Vec::new();
    let mut labels: Vec<PathBuf> = std::fs::read_dir(corpus.join("labels"))
        .with_context(|| format!("Failed to list {}/labels", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    labels.sort();
    for lf in labels {
        let label = json(&lf)?;
        let Some(src) = label["source"].as_str() else {
            continue;
        };
        let c = &label["core"];
        let want: Vec<(&'static str, Value)> = [
            ("invoice_number", "invoice_number"),
            ("issue_date", "issue_date"),
            ("due_date", "due_date"),
            ("currency", "currency"),
            ("total_net", "net_total"),
            ("total_tax", "tax_total"),
            ("total_gross", "gross_total"),
            ("supplier_vat_id", "seller_vat"),
            ("iban", "iban"),
        ]
        .into_iter()
        .map(|(k, f)| (k, c[f].clone()))
        .collect();
        let pdf = corpus.join(src);
        let bytes = std::fs::read(&pdf).with_context(|| format!("Failed to read {src}"))?;
        out.push(Truth {
            doc: src.to_string(),
            pdf: Some(pdf),
            png: None,
            expected: Printed::of(&bytes).expected(&want),
        });
    }
    Ok(out)
}

/// The invoice2data PNG scans, with their JSON's values printed on the matching PDF.
pub fn png_truths(corpus: &Path) -> anyhow::Result<Vec<Truth>> {
    let dir = corpus.join("invoice2data");
    let mut out = Vec::new();
    for name in [
        "AmazonWebServices",
        "FlipkartInvoice",
        "SammyMaystoneLinesTest",
        "oyo",
    ] {
        let t = json(&dir.join(format!("{name}.json")))?;
        let t = &t[0];
        let want: Vec<(&'static str, Value)> = [
            ("invoice_number", "invoice_number"),
            ("issue_date", "date"),
            ("due_date", "date_due"),
            ("currency", "currency"),
            ("total_net", "amount_untaxed"),
            ("total_tax", "amount_tax"),
            ("total_gross", "amount"),
            ("supplier_vat_id", "vat"),
            ("iban", "iban"),
        ]
        .into_iter()
        .map(|(k, f)| (k, t[f].clone()))
        .collect();
        let bytes = std::fs::read(dir.join(format!("{name}.pdf")))?;
        out.push(Truth {
            doc: format!("invoice2data/{name}.png"),
            pdf: None,
            png: Some(dir.join(format!("{name}.png"))),
            expected: Printed::of(&bytes).expected(&want),
        });
    }
    Ok(out)
}
