//! Benchmarks: figures printed, never asserted (DESIGN.md §7). `facteur bench <what>` runs them.

pub mod accuracy;
pub mod dedupe;
pub mod dedupe_set;
pub mod ocr;
pub mod speed;
pub mod stp;
