//! facteur's own readers timed in-process: `read_document` alone, no process start, no sandbox.
//!
//! The XML path is fast enough that one pass is too short to time on a busy machine, so its set is
//! repeated for about two seconds; every reading is a fresh parse of the bytes (nothing is kept
//! between calls). The text path is read once per PDF.

use std::time::{Duration, Instant};

use super::{file_name, truncate, Doc, Row};
use crate::read::{read_document, MethodChoice, ReadOptions};

/// How long the XML path is repeated for a stable figure.
const XML_RUN: Duration = Duration::from_secs(2);

pub(crate) fn opts(method: MethodChoice) -> ReadOptions {
    ReadOptions {
        method,
        ..ReadOptions::default()
    }
}

/// The documents `read_document(Xml)` reads: the XML path's set.
pub(crate) fn readable(docs: &[Doc]) -> Vec<&Doc> {
    let o = opts(MethodChoice::Xml);
    docs.iter()
        .filter(|d| read_document(&d.bytes, &o).is_ok())
        .collect()
}

/// The set through `read_document(Xml)`, repeated for ~2 s.
pub(crate) fn xml_path(path: &str, set: &[&Doc]) -> Row {
    if set.is_empty() {
        return Row::skipped(path, "no readable e-invoice in the corpus");
    }
    let o = opts(MethodChoice::Xml);
    let mut row = Row {
        path: path.to_string(),
        docs: set.len(),
        ..Row::default()
    };
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < XML_RUN {
        for d in set {
            if read_document(&d.bytes, &o).is_ok() {
                row.timed += 1;
                row.pages += d.pages;
            } else {
                row.errors += 1;
            }
        }
        rounds += 1;
    }
    row.spent = start.elapsed();
    row.note = format!(
        "{} documents x {rounds} rounds, each parsed and mapped to Invoice afresh",
        set.len()
    );
    row
}

/// Every PDF through `read_document(Text)`, once; time over the ones read.
pub(crate) fn text_path(path: &str, pdfs: &[&Doc]) -> Row {
    let o = opts(MethodChoice::Text);
    let mut row = Row {
        path: path.to_string(),
        docs: pdfs.len(),
        ..Row::default()
    };
    let mut first_error = None;
    for d in pdfs {
        let t = Instant::now();
        let result = read_document(&d.bytes, &o);
        let took = t.elapsed();
        match result {
            Ok(_) => {
                row.spent += took;
                row.timed += 1;
                row.pages += d.pages;
            }
            Err(e) => {
                row.errors += 1;
                first_error.get_or_insert_with(|| format!("{}: {e}", file_name(&d.path)));
            }
        }
    }
    row.note = "text layer to fields, embedded XML ignored".to_string();
    if let Some(e) = first_error {
        row.note
            .push_str(&format!("; first error {}", truncate(&e, 60)));
    }
    row
}
