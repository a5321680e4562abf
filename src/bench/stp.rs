//! `facteur bench stp`: what the review threshold does to a finance team, per corpus.
//!
//! A document is auto-accepted when its reading raises no doubt at the configured
//! `read.review_threshold` (the same `Extraction::doubts` the read stage decides on). Per corpus:
//! the straight-through rate, the auto-accepted documents with any wrong key field (the ones a
//! team would pay wrongly), the documents sent to review although every key field was right (the
//! ones it retypes for nothing), and the reliability table: for every scored field, the
//! confidence it was given against how often it was right, per confidence bin. A calibrated
//! reader has observed ≈ predicted in every bin.

use std::path::{Path, PathBuf};

use crate::bench::accuracy::cases::{self, Case, Cases};
use crate::bench::ocr::scans::Variant;
use crate::config::ReadSettings;
use crate::domain::{Extraction, Field, Method};
use crate::read::fields::calibrate::{self, Calibration, Calibrations};
use crate::read::fields::{self};
use crate::read::{ocr, pdf, read_document, MethodChoice, ReadOptions};

/// Upper bounds of the reliability bins; the first bin starts at 0.
const BINS: [f32; 8] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01];

/// Per-document outcome and the (confidence, right) pairs of its scored fields.
#[derive(Debug, Default)]
pub struct Outcome {
    pub documents: u32,
    pub auto: u32,
    pub auto_wrong: u32,
    pub review_right: u32,
    pub errors: Vec<String>,
    /// Auto-accepted documents with a wrong key field, and which fields.
    pub auto_wrong_docs: Vec<String>,
    /// Documents sent to review although right, and the doubts that sent them.
    pub review_right_docs: Vec<String>,
    /// (field, confidence, right) for every scored field of every document.
    pub samples: Vec<(Field, f32, bool)>,
}

fn text() -> ReadOptions {
    ReadOptions {
        method: MethodChoice::Text,
        ..ReadOptions::default()
    }
}

/// Reads every case with `opts` and decides it at `threshold`.
pub fn evaluate((cases, errors): Cases, opts: &ReadOptions, threshold: f32) -> Outcome {
    let mut o = Outcome {
        errors,
        ..Outcome::default()
    };
    for c in &cases {
        match read_document(&c.bytes, opts) {
            Ok(ex) => o.add(c, &ex, threshold),
            Err(e) => o.errors.push(format!("{}: {e}", c.name)),
        }
    }
    o
}

impl Outcome {
    fn add(&mut self, c: &Case, ex: &Extraction, threshold: f32) {
        self.documents += 1;
        let verdicts = c.verdicts(ex);
        // The key fields are the ones `doubts` checks: a wrong one auto-accepted costs money.
        let wrong: Vec<&str> = Field::KEY
            .iter()
            .map(Field::as_str)
            .filter(|k| verdicts.get(*k) == Some(&false))
            .collect();
        let auto = ex.doubts(threshold).is_empty();
        if auto {
            self.auto += 1;
            if !wrong.is_empty() {
                self.auto_wrong += 1;
                // The values too: a rule is fixed on what was read, not on a field's name.
                let values: Vec<String> = c
                    .wrong_values(ex)
                    .into_iter()
                    .filter(|m| wrong.iter().any(|k| m.starts_with(&format!("{k}: "))))
                    .collect();
                self.auto_wrong_docs
                    .push(format!("{}: {}", c.name, values.join("; ")));
            }
        } else if wrong.is_empty() {
            self.review_right += 1;
            let why: Vec<String> = ex.doubts(threshold).iter().map(|d| d.to_string()).collect();
            self.review_right_docs
                .push(format!("{}: {}", c.name, why.join(", ")));
        }
        for (f, ok) in verdicts {
            if let Ok(field) = f.parse::<Field>() {
                self.samples.push((field, ex.confidence_of(field), ok));
            }
        }
    }

    pub fn print_row(&self, name: &str) {
        let pct = |n: u32| {
            if self.documents == 0 {
                0.0
            } else {
                100.0 * f64::from(n) / f64::from(self.documents)
            }
        };
        println!(
            "{name:<28} {:>5} {:>6} {:>6.1}% {:>12} {:>14}",
            self.documents,
            self.auto,
            pct(self.auto),
            self.auto_wrong,
            self.review_right
        );
    }

    /// Predicted (mean confidence) against observed (share right) per confidence bin.
    pub fn print_reliability(&self, name: &str) {
        println!("\nreliability, {name}: every scored field");
        println!(
            "{:<12} {:>7} {:>10} {:>9}",
            "confidence", "fields", "predicted", "observed"
        );
        let mut lo = 0.0;
        let mut gap = 0.0;
        for hi in BINS {
            let in_bin: Vec<&(Field, f32, bool)> = self
                .samples
                .iter()
                .filter(|(_, c, _)| *c >= lo && *c < hi)
                .collect();
            if !in_bin.is_empty() {
                let n = in_bin.len() as f64;
                let predicted = in_bin.iter().map(|s| f64::from(s.1)).sum::<f64>() / n;
                let observed = in_bin.iter().filter(|s| s.2).count() as f64 / n;
                println!(
                    "{:<12} {:>7} {:>10.3} {:>9.3}",
                    format!("{lo:.2}–{:.2}", hi.min(1.0)),
                    in_bin.len(),
                    predicted,
                    observed
                );
                gap += n * (predicted - observed).abs();
            }
            lo = hi;
        }
        if !self.samples.is_empty() {
            // Expected calibration error: the mean |predicted − observed| weighted by bin size.
            println!(
                "expected calibration error {:.3} over {} fields",
                gap / self.samples.len() as f64,
                self.samples.len()
            );
        }
        for e in &self.errors {
            println!("  error: {e}");
        }
    }
}

/// The corpora `bench stp` runs on without `--corpus`: the generated sets and the shared corpus's
/// Factur-X (read as text) and invoice2data PDFs.
fn default_corpora(shared: &Path) -> Vec<(String, Cases)> {
    let gen = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated");
    vec![
        ("generated/dev".into(), cases::generated(&gen.join("dev"))),
        (
            "generated/held_out".into(),
            cases::generated(&gen.join("held_out")),
        ),
        (
            "generated/hard_dev".into(),
            cases::generated(&gen.join("hard_dev")),
        ),
        (
            "generated/hard_held_out".into(),
            cases::generated(&gen.join("hard_held_out")),
        ),
        ("shared labels (Factur-X)".into(), cases::labelled(shared)),
        ("shared invoice2data".into(), cases::invoice2data(shared)),
    ]
}

fn add_samples(samples: &mut Vec<(Field, f32, bool)>, c: &Case, ex: &Extraction) {
    for (f, ok) in c.verdicts(ex) {
        if let Ok(field) = f.parse::<Field>() {
            samples.push((field, ex.confidence_of(field), ok));
        }
    }
}

/// The folders `bench stp --fit` fits on by default: the generated dev set, which the rules were
/// fixed against and now read right, and the hard dev set, made of layouts the rules were never
/// fixed on, so that the fit sees readings that go wrong. Never a held-out set.
pub const FIT_SETS: [&str; 2] = ["fixtures/generated/dev", "fixtures/generated/hard_dev"];

/// `facteur bench stp --fit [--corpus DIR]`: fits the confidence calibration on folders of
/// generated invoices (default `FIT_SETS`) from the extractor's uncalibrated scores, and writes
/// models/calibration.toml.
pub fn fit(corpus: Option<PathBuf>) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = match corpus {
        Some(dir) => vec![dir],
        None => FIT_SETS.iter().map(|d| root.join(d)).collect(),
    };
    let mut shown = Vec::new();
    let (mut text_samples, mut ocr_samples) = (Vec::new(), Vec::new());
    let (mut docs, mut scanned) = (0, 0);
    for dir in &dirs {
        anyhow::ensure!(
            cases::is_generated(dir),
            "{} is not a folder of generated invoices (scripts/make-invoices)",
            dir.display()
        );
        shown.push(dir.strip_prefix(root).unwrap_or(dir).display().to_string());
        let (n, m) = fit_samples(dir, &mut text_samples, &mut ocr_samples)?;
        docs += n;
        scanned += m;
    }
    let shown = shown.join(" + ");
    let cal = Calibrations {
        text: Calibration::fit(&text_samples, &format!("{docs} documents of {shown}")),
        ocr: Calibration::fit(
            &ocr_samples,
            &format!("{scanned} documents of {shown}, scanned at 300 dpi"),
        ),
    };
    let samples = text_samples.len() + ocr_samples.len();
    let out = root.join("models/calibration.toml");
    let text = format!(
        "# Per-field calibration of reading confidence (src/read/fields/calibrate.rs).\n\
         # Written by `facteur bench stp --fit`: p = share of right readings per raw-score bin\n\
         # (edges {:?}), n = readings in the bin.\n{}",
        calibrate::EDGES,
        toml::to_string(&cal)?
    );
    std::fs::write(&out, text)?;
    println!("wrote {} from {samples} field readings", out.display());
    Ok(())
}

/// The uncalibrated (score, right) readings of one generated folder: its text layers, and the
/// same documents scanned at 300 dpi read by OCR (about a second a page). Returns the number of
/// documents of each.
fn fit_samples(
    dir: &Path,
    text_samples: &mut Vec<(Field, f32, bool)>,
    ocr_samples: &mut Vec<(Field, f32, bool)>,
) -> anyhow::Result<(usize, usize)> {
    let (cases, _) = cases::generated(dir);
    for c in &cases {
        let pages = pdf::text_pages(&c.bytes).map_err(|e| anyhow::anyhow!("{}: {e}", c.name))?;
        add_samples(
            text_samples,
            c,
            &fields::extract_uncalibrated(&pages, Method::Text),
        );
    }
    let ocr_opts = ReadOptions {
        method: MethodChoice::Ocr,
        ..ReadOptions::default()
    };
    let (scans, _) = cases::scanned(cases::generated(dir), dir, Variant::Dpi(300));
    for c in &scans {
        let pages = ocr::ocr_pdf(&c.bytes, &[], &ocr_opts)
            .map_err(|e| anyhow::anyhow!("{}: {e}", c.name))?;
        add_samples(
            ocr_samples,
            c,
            &fields::extract_uncalibrated(&pages, Method::Ocr),
        );
    }
    Ok((cases.len(), scans.len()))
}

/// `facteur bench stp [--corpus DIR]`: a folder of generated invoices, or a shared-corpus root;
/// without one, the generated sets and the shared corpus at `shared`.
pub fn run(corpus: Option<PathBuf>, shared: &Path) -> anyhow::Result<()> {
    let threshold = ReadSettings::default().review_threshold;
    let ocr = ReadOptions {
        method: MethodChoice::Ocr,
        ..ReadOptions::default()
    };
    let mut corpora: Vec<(String, Cases, &ReadOptions)> = Vec::new();
    let text = text();
    match corpus {
        // A generated folder given by name is also read scanned at 300 dpi (OCR, ~1 s a page).
        Some(dir) if cases::is_generated(&dir) => {
            let name = dir.display().to_string();
            let scans = cases::scanned(cases::generated(&dir), &dir, Variant::Dpi(300));
            corpora.push((name.clone(), cases::generated(&dir), &text));
            corpora.push((format!("{name} scanned 300 dpi"), scans, &ocr));
        }
        Some(dir) => {
            corpora.push(("labels (Factur-X)".into(), cases::labelled(&dir), &text));
            corpora.push(("invoice2data".into(), cases::invoice2data(&dir), &text));
        }
        None => {
            for (name, c) in default_corpora(shared) {
                corpora.push((name, c, &text));
            }
        }
    }
    let outcomes: Vec<(String, Outcome)> = corpora
        .into_iter()
        .map(|(name, c, opts)| {
            let o = evaluate(c, opts, threshold);
            (name, o)
        })
        .collect();
    let key: Vec<&str> = Field::KEY.iter().map(Field::as_str).collect();
    println!(
        "straight-through at review_threshold {threshold} (key fields: {})",
        key.join(", ")
    );
    println!(
        "{:<28} {:>5} {:>6} {:>7} {:>12} {:>14}",
        "corpus", "docs", "auto", "stp", "auto+wrong", "review+right"
    );
    for (name, o) in &outcomes {
        o.print_row(name);
    }
    for (name, o) in &outcomes {
        o.print_reliability(name);
        // A held-out set is only ever seen in aggregate: naming its files would let its errors
        // steer the rules it is meant to test.
        if !name.contains("held_out") {
            for d in &o.auto_wrong_docs {
                println!("  auto-accepted with a wrong key field: {d}");
            }
            for d in &o.review_right_docs {
                println!("  reviewed although right: {d}");
            }
        }
    }
    Ok(())
}
