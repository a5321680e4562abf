//! Field accuracy of OCR reading: `read_document(.., MethodChoice::Ocr)` on degraded scans of corpus
//! PDFs (`scans.rs`) and on the invoice2data PNG scans, against ground truth (corpus/labels for the
//! Factur-X PDFs, invoice2data's JSON for the PNGs), per variant and per field.
//!
//! Only values printed on the page are scored (`truth.rs`). Tests call `score` with a subset of variants and assert a floor; the bench prints every table.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::scans::{self, Variant};
use super::truth::check;
pub use super::truth::{facturx_truths, png_truths, Truth};
use crate::read::ocr::EnginePool;
use crate::read::{read_document, MethodChoice, ReadOptions};

/// The fields scored, in table order.
pub const FIELDS: [&str; 9] = [
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "total_net",
    "total_tax",
    "total_gross",
    "supplier_vat_id",
    "iban",
];

/// Row name of the invoice2data PNG scans (read as they are, not degraded further).
pub const PNG: &str = "png";

/// Correct / scored per (row, field), and what went wrong.
#[derive(Debug, Default)]
pub struct FieldScores {
    pub cells: BTreeMap<(String, &'static str), (u32, u32)>,
    pub misses: Vec<String>,
    pub errors: Vec<String>,
}

impl FieldScores {
    /// Correct / scored over the rows `keep` accepts.
    pub fn total(&self, keep: impl Fn(&str, &str) -> bool) -> (u32, u32) {
        self.cells
            .iter()
            .filter(|((row, field), _)| keep(row, field))
            .fold((0, 0), |(a, b), (_, (c, t))| (a + c, b + t))
    }

    pub fn ratio(&self, keep: impl Fn(&str, &str) -> bool) -> f64 {
        let (c, t) = self.total(keep);
        f64::from(c) / f64::from(t.max(1))
    }

    fn rows(&self) -> Vec<String> {
        let mut rows: Vec<String> = Vec::new();
        for (row, _) in self.cells.keys() {
            if !rows.contains(row) {
                rows.push(row.clone());
            }
        }
        let order = |r: &String| {
            Variant::ALL
                .iter()
                .position(|v| v.name() == *r)
                .unwrap_or(usize::MAX)
        };
        rows.sort_by_key(order);
        rows
    }

    /// Per-variant table, then field × variant percentages.
    pub fn print(&self) {
        let rows = self.rows();
        println!("{:<10} {:>8} {:>8} {:>8}", "scan", "correct", "scored", "%");
        for r in &rows {
            let (c, t) = self.total(|row, _| row == r);
            println!("{r:<10} {c:>8} {t:>8} {:>7.1}%", pct(c, t));
        }
        let (c, t) = self.total(|row, _| row == "200dpi" || row == "300dpi");
        println!("{:<10} {c:>8} {t:>8} {:>7.1}%", "200+300", pct(c, t));
        let (c, t) = self.total(|_, _| true);
        println!("{:<10} {c:>8} {t:>8} {:>7.1}%", "all", pct(c, t));

        println!("\nper field, % correct (scored count in the last column)");
        print!("{:<16}", "field");
        for r in &rows {
            print!(" {:>7}", short(r));
        }
        println!(" {:>6}", "n");
        for f in FIELDS {
            print!("{f:<16}");
            let mut n = 0;
            for r in &rows {
                let (c, t) = self.cells.get(&(r.clone(), f)).copied().unwrap_or((0, 0));
                n += t;
                if t == 0 {
                    print!(" {:>7}", "-");
                } else {
                    print!(" {:>6.0}%", pct(c, t));
                }
            }
            println!(" {n:>6}");
        }
        for e in &self.errors {
            println!("  error: {e}");
        }
        for m in &self.misses {
            println!("  miss: {m}");
        }
    }
}

fn short(row: &str) -> String {
    row.chars().take(7).collect()
}

fn pct(c: u32, t: u32) -> f64 {
    100.0 * f64::from(c) / f64::from(t.max(1))
}

/// Reads every truth's scan in every variant (PNG scans once, as row `png`) through
/// `read_document(.., Ocr)`, as many documents at once as the global pool has engines.
pub fn score(truths: &[Truth], variants: &[Variant]) -> FieldScores {
    let mut jobs: Vec<(&Truth, Option<Variant>)> = Vec::new();
    for t in truths {
        if t.png.is_some() {
            jobs.push((t, None));
        } else {
            jobs.extend(variants.iter().map(|v| (t, Some(*v))));
        }
    }
    let scores = Mutex::new(FieldScores::default());
    let next = AtomicUsize::new(0);
    let opts = ReadOptions {
        method: MethodChoice::Ocr,
        ..ReadOptions::default()
    };
    std::thread::scope(|s| {
        for _ in 0..EnginePool::global().size() {
            s.spawn(|| {
                while let Some((t, v)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let row = v.map_or(PNG.to_string(), |v| v.name());
                    let read = scan_bytes(t, *v)
                        .and_then(|b| read_document(&b, &opts).map_err(anyhow::Error::from));
                    let mut r = scores.lock().unwrap_or_else(|e| e.into_inner());
                    match read {
                        Ok(ex) => {
                            for (field, e) in &t.expected {
                                let (ok, got) = check(field, e, &ex.invoice);
                                let cell = r.cells.entry((row.clone(), *field)).or_default();
                                cell.1 += 1;
                                if ok {
                                    cell.0 += 1;
                                } else {
                                    r.misses.push(format!(
                                        "{} [{row}] {field}: got {got}, want {e:?}",
                                        t.doc
                                    ));
                                }
                            }
                        }
                        Err(e) => r.errors.push(format!("{} [{row}]: {e:#}", t.doc)),
                    }
                }
            });
        }
    });
    let mut scores = scores.into_inner().unwrap_or_else(|e| e.into_inner());
    scores.misses.sort();
    scores.errors.sort();
    scores
}

fn scan_bytes(t: &Truth, v: Option<Variant>) -> anyhow::Result<Vec<u8>> {
    match (&t.png, &t.pdf, v) {
        (Some(png), _, _) => Ok(std::fs::read(png)?),
        (None, Some(pdf), Some(v)) => scans::scanned_pdf(pdf, v),
        _ => anyhow::bail!("{}: nothing to scan", t.doc),
    }
}

/// `facteur bench ocr`, first part: the tables.
pub fn run(corpus: &Path) -> anyhow::Result<()> {
    let mut truths = facturx_truths(corpus)?;
    truths.extend(png_truths(corpus)?);
    let n: usize = truths.iter().map(|t| t.expected.len()).sum();
    println!(
        "== field accuracy of --method ocr on scans: {} documents, {n} printed values per scan",
        truths.len()
    );
    println!(
        "   (Factur-X PDFs vs corpus/labels in 8 degradations; invoice2data PNGs vs their JSON)"
    );
    let start = std::time::Instant::now();
    let scores = score(&truths, &Variant::ALL);
    println!(
        "   {:.0} s {}",
        start.elapsed().as_secs_f64(),
        super::speed::load()
    );
    scores.print();
    Ok(())
}
