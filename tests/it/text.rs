//! The PDF text path on real documents: Factur-X PDFs read visually against their labels,
//! invoice2data PDFs against their JSON, mustang PDFs against their own embedded XML, the
//! generated demo invoices (line items included) against what their generator wrote, and a broken
//! PDF failing cleanly.

use std::path::Path;

use facteur::bench::accuracy;
use facteur::read::{read_document, MethodChoice, ReadOptions};

fn corpus() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
}

#[test]
fn facturx_pdfs_read_as_text_match_their_xml() {
    // Measured 98.5 % (66/67 printed fields) and 38.1 % of printed line nets (8/21) when these
    // floors were set.
    const FLOOR: f64 = 0.96;
    const LINES_FLOOR: f64 = 0.33;
    let r = accuracy::text_vs_labels(corpus());
    r.print("Factur-X as text");
    assert!(
        r.documents >= 8,
        "expected the 8 labelled PDFs, got {}",
        r.documents
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.ratio() >= FLOOR,
        "accuracy {:.3} under the floor",
        r.ratio()
    );
    assert!(
        r.line_net_ratio() >= LINES_FLOOR,
        "line nets {:.3} under the floor",
        r.line_net_ratio()
    );
}

#[test]
fn invoice2data_pdfs_read_as_text_match_their_json() {
    // Measured 91.3 % (63/69 printed fields) when this floor was set.
    const FLOOR: f64 = 0.88;
    let r = accuracy::invoice2data(corpus());
    r.print("invoice2data as text");
    assert!(r.documents >= 11);
    assert!(
        r.ratio() >= FLOOR,
        "accuracy {:.3} under the floor",
        r.ratio()
    );
}

#[test]
fn demo_invoices_read_as_text_with_their_line_items() {
    // Measured 100 % (25/25 fields, 7/7 line nets) when this floor was set.
    const FLOOR: f64 = 0.95;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let r = accuracy::demo(&fixtures);
    r.print("demo invoices as text");
    assert_eq!(r.documents, 3, "{:?}", r.errors);
    assert!(
        r.ratio() >= FLOOR,
        "fields {:.3} under the floor",
        r.ratio()
    );
    assert!(
        r.line_net_ratio() >= FLOOR,
        "line nets {:.3} under the floor",
        r.line_net_ratio()
    );
}

#[test]
fn mustang_pdfs_read_as_text_match_their_own_xml() {
    // Measured 77.5 % of printed header fields and 64.1 % of printed line nets (13 PDFs) when
    // these floors were set.
    const FLOOR: f64 = 0.74;
    const LINES_FLOOR: f64 = 0.6;
    let r = accuracy::mustang_text_vs_xml(corpus());
    r.print("mustang as text vs embedded XML");
    assert!(r.documents >= 12, "got {} documents", r.documents);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.ratio() >= FLOOR,
        "fields {:.3} under the floor",
        r.ratio()
    );
    assert!(
        r.line_net_ratio() >= LINES_FLOOR,
        "line nets {:.3} under the floor",
        r.line_net_ratio()
    );
}

#[test]
fn broken_pdf_fails_with_a_reason_and_no_panic() {
    let mut bytes = std::fs::read(corpus().join("invoice2data/oyo.pdf")).unwrap();
    bytes.truncate(bytes.len() / 3);
    let opts = ReadOptions {
        method: MethodChoice::Text,
        ..Default::default()
    };
    // Either a clean error or an extraction with fewer fields: never a panic.
    let _ = read_document(&bytes, &opts);
    assert!(read_document(b"%PDF-1.7\n%%EOF", &opts).is_err());
}
