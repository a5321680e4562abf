//! `facteur bench ocr`: field accuracy of OCR reading on degraded scans (`fields.rs`), then speed,
//! throughput, memory and word accuracy against the `tesseract` CLI (`speed.rs`). Scans are made
//! at run time from corpus PDFs (`scans.rs`). Figures are printed, never asserted (DESIGN.md §7).
//!
//! `FACTEUR_BENCH_OCR=fields` or `=speed` runs one part only (the whole bench takes minutes).

pub mod fields;
pub mod scans;
mod speed;
mod truth;

use std::path::Path;

pub use speed::ENV_BIN;

/// Selects one part of the bench: `fields` or `speed` (default: both).
pub const ENV_PART: &str = "FACTEUR_BENCH_OCR";

pub fn run(corpus: &Path) -> anyhow::Result<()> {
    let part = std::env::var(ENV_PART).unwrap_or_default();
    if part.is_empty() || part == "fields" {
        fields::run(corpus)?;
    }
    if part.is_empty() || part == "speed" {
        println!();
        speed::run(corpus)?;
    }
    Ok(())
}
