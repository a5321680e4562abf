//! Labelled documents as one shape: the PDF, the truth of its header fields and lines, and which
//! truth values count. `bench accuracy` scores them per field; `bench stp` per document.
//!
//! Three sources: the Factur-X PDFs of the shared corpus against corpus/labels and the
//! invoice2data PDFs (only values the page prints count: a reader cannot be blamed for what is
//! not there), and the invoices of scripts/make-invoices, whose truth is exact, so every value
//! counts, printed or derived (a due date from the terms).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::lines::{score_lines, WantLine};
use super::{compare, dec, files, label_core, text_opts, Printed, Report};
use crate::bench::ocr::scans::{scanned_pdf, Variant};
use crate::domain::Extraction;
use crate::read::{read_document, ReadOptions};

/// One labelled document.
pub struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
    want: BTreeMap<&'static str, Value>,
    lines: Vec<WantLine>,
    printed: Printed,
    /// invoice2data's `issuer` is often a shortened name: containment is enough.
    lenient_name: bool,
}

impl Case {
    /// Scores one reading of this document into `r`.
    pub fn score(&self, r: &mut Report, ex: &Extraction) {
        compare(
            r,
            &self.name,
            ex,
            &self.printed,
            &self.want,
            self.lenient_name,
        );
        score_lines(r, &self.name, ex, &self.lines, &self.printed);
    }

    /// Per field of this one reading: right or wrong (only the fields that were scored).
    pub fn verdicts(&self, ex: &Extraction) -> BTreeMap<String, bool> {
        self.scored(ex)
            .fields
            .into_iter()
            .map(|(f, (ok, _))| (f, ok > 0))
            .collect()
    }

    /// What was read against what was wanted, for every wrong field of this one reading
    /// ("due_date: got 2026-04-12, want 2026-05-12"): what a rule has to be fixed on.
    pub fn wrong_values(&self, ex: &Extraction) -> Vec<String> {
        let prefix = format!("{}: ", self.name);
        self.scored(ex)
            .misses
            .into_iter()
            .map(|m| m.strip_prefix(&prefix).map(str::to_string).unwrap_or(m))
            .collect()
    }

    fn scored(&self, ex: &Extraction) -> Report {
        let mut r = Report::default();
        compare(
            &mut r,
            &self.name,
            ex,
            &self.printed,
            &self.want,
            self.lenient_name,
        );
        r
    }
}

/// Cases, and the files that could not be turned into one.
pub type Cases = (Vec<Case>, Vec<String>);

fn read_json(p: &Path) -> Result<Value, String> {
    std::fs::read_to_string(p)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str::<Value>(&s).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn pick(v: &Value, keys: &[(&'static str, &str)]) -> BTreeMap<&'static str, Value> {
    keys.iter().map(|(k, f)| (*k, v[*f].clone())).collect()
}

fn want_lines(v: &Value, net: &str, qty: &str, price: &str) -> Vec<WantLine> {
    v.as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|l| {
            Some(WantLine {
                net: dec(&l[net])?,
                quantity: dec(&l[qty]),
                unit_price: dec(&l[price]),
            })
        })
        .collect()
}

/// The Factur-X / ZUGFeRD PDFs named by corpus/labels.
pub fn labelled(corpus: &Path) -> Cases {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for lf in files(&corpus.join("labels"), "json") {
        let label = match read_json(&lf) {
            Ok(l) => l,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some(src) = label["source"].as_str() else {
            continue;
        };
        let Ok(bytes) = std::fs::read(corpus.join(src)) else {
            errors.push(format!("{src}: missing PDF"));
            continue;
        };
        out.push(Case {
            name: src.to_string(),
            printed: Printed::of(&bytes),
            bytes,
            want: label_core(&label),
            lines: want_lines(&label["lines"], "line_net", "qty", "net_price"),
            lenient_name: false,
        });
    }
    (out, errors)
}

/// The invoice2data PDFs, each with `<name>.json` beside it.
pub fn invoice2data(corpus: &Path) -> Cases {
    let mut out = Vec::new();
    for pdf_path in files(&corpus.join("invoice2data"), "pdf") {
        let (Ok(truth), Ok(bytes)) = (
            read_json(&pdf_path.with_extension("json")),
            std::fs::read(&pdf_path),
        ) else {
            continue;
        };
        out.push(Case {
            name: file_name(&pdf_path),
            printed: Printed::of(&bytes),
            bytes,
            want: pick(
                &truth[0],
                &[
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
                ],
            ),
            lines: Vec::new(),
            lenient_name: true,
        });
    }
    (out, Vec::new())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A folder written by scripts/make-invoices: PDFs with a JSON truth beside each, no `labels/`.
pub fn is_generated(dir: &Path) -> bool {
    !dir.join("labels").is_dir()
        && files(dir, "json")
            .first()
            .and_then(|p| read_json(p).ok())
            .is_some_and(|v| v["file"].is_string())
}

/// The invoices of scripts/make-invoices in `dir`.
pub fn generated(dir: &Path) -> Cases {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for jf in files(dir, "json") {
        let truth = match read_json(&jf) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some(file) = truth["file"].as_str() else {
            continue;
        };
        let Ok(bytes) = std::fs::read(dir.join(file)) else {
            errors.push(format!("{file}: missing PDF"));
            continue;
        };
        out.push(Case {
            name: file.to_string(),
            bytes,
            want: pick(
                &truth,
                &[
                    ("doc_type", "doc_type"),
                    ("invoice_number", "invoice_number"),
                    ("issue_date", "issue_date"),
                    ("due_date", "due_date"),
                    ("currency", "currency"),
                    ("total_net", "total_net"),
                    ("total_tax", "total_tax"),
                    ("total_gross", "total_gross"),
                    ("supplier_name", "supplier_name"),
                    ("supplier_vat_id", "supplier_vat_id"),
                    ("supplier_iban", "supplier_iban"),
                    ("customer_name", "customer_name"),
                ],
            ),
            lines: want_lines(&truth["lines"], "net", "quantity", "unit_price"),
            printed: Printed::everything(),
            lenient_name: false,
        });
    }
    (out, errors)
}

/// The same cases scanned: each PDF rendered by pdftoppm, degraded as `variant` says and wrapped
/// in an image-only PDF (`bench::ocr::scans`), so only OCR can read it. Truth and scoring stay.
pub fn scanned((cases, mut errors): Cases, dir: &Path, variant: Variant) -> Cases {
    let mut out = Vec::new();
    for mut c in cases {
        match scanned_pdf(&dir.join(&c.name), variant) {
            Ok(bytes) => {
                c.bytes = bytes;
                c.name = format!("{} ({})", c.name, variant.name());
                out.push(c);
            }
            Err(e) => errors.push(format!("{}: {e:#}", c.name)),
        }
    }
    (out, errors)
}

/// Reads every case as text and scores it.
pub fn report(cases: Cases) -> Report {
    report_with(cases, &text_opts())
}

/// Reads every case with `opts` and scores it.
pub fn report_with((cases, errors): Cases, opts: &ReadOptions) -> Report {
    let mut r = Report {
        errors,
        ..Report::default()
    };
    for c in &cases {
        r.documents += 1;
        match read_document(&c.bytes, opts) {
            Ok(ex) => c.score(&mut r, &ex),
            Err(e) => r.errors.push(format!("{}: {e}", c.name)),
        }
    }
    r
}
