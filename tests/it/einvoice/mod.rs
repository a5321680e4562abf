//! Structured e-invoices against the real corpus: UBL/CII twins read alike (`twins.rs`), Factur-X
//! PDFs read to their labels (`labels.rs`), every invoice XML and PDF in the corpus reads
//! (`corpus.rs`), and hostile XML is refused (`safety.rs`).
//!
//! Each test walks a whole corpus folder and collects every failure before asserting, so one run
//! says how many documents pass and which fail, not just the first. The helpers the files share
//! (corpus location, file listing, core-field check) live here.

mod corpus;
mod labels;
mod safety;
mod twins;

use std::path::{Path, PathBuf};

use facteur::domain::Invoice;
use facteur::read::einvoice::{read_xml, EinvoiceError};

pub(super) fn corpus() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
}

pub(super) fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("corpus folder is readable") {
            let p = entry.expect("corpus entry is readable").path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub(super) fn read_path(p: &Path) -> Result<Invoice, EinvoiceError> {
    read_xml(&std::fs::read(p).expect("corpus file is readable"))
}

/// Fields every real invoice carries; missing ones are listed by name.
pub(super) fn missing_core(inv: &Invoice) -> Vec<&'static str> {
    let mut m = Vec::new();
    if inv.number.is_none() {
        m.push("number");
    }
    if inv.issue_date.is_none() {
        m.push("issue date");
    }
    if inv.currency.is_none() {
        m.push("currency");
    }
    if inv.total_gross.is_none() {
        m.push("gross total");
    }
    m
}
