//! Benchmarks: figures printed, never asserted (DESIGN.md §7). `facteur bench <what>` runs them.

pub mod accuracy;
pub mod cluster;
pub mod dedupe;
pub mod dedupe_set;
pub mod ocr;
pub mod pipeline;
pub mod speed;
pub mod stp;
