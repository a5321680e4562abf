//! The PDF text path on real documents: Factur-X PDFs read visually against their labels,
//! invoice2data PDFs against their JSON, mustang PDFs against their own embedded XML, the
//! generated demo invoices (line items included) against what their generator wrote, the
//! scripts/make-invoices sets (dev and held-out, every value, scored in aggregate only), and a
//! broken PDF failing cleanly.

use std::path::Path;

use facteur::bench::accuracy;
use facteur::read::{read_document, MethodChoice, ReadError, ReadOptions};

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
fn generated_invoices_of_every_layout_family_read_as_text() {
    // Measured 100 % (dev, 864 fields) and 99.8 % (held-out, 576) when these floors were set.
    const FLOOR: f64 = 0.98;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated");
    for set in ["dev", "held_out"] {
        let r = accuracy::generated(&root.join(set));
        assert!(r.documents >= 40, "{set}: only {} documents", r.documents);
        assert!(r.errors.is_empty(), "{set}: {} errors", r.errors.len());
        // Held-out errors are never printed per file: only the figure may steer the rules.
        assert!(
            r.ratio() >= FLOOR,
            "{set}: fields {:.3} under the floor",
            r.ratio()
        );
    }
}

#[test]
fn broken_pdf_fails_with_a_reason_and_no_panic() {
    let mut bytes = std::fs::read(corpus().join("invoice2data/oyo.pdf")).unwrap();
    bytes.truncate(bytes.len() / 3);
    let opts = ReadOptions {
        method: MethodChoice::Text,
        ..Default::default()
    };
    // A clean error that says the structure is broken, never a panic or an empty reading.
    match read_document(&bytes, &opts) {
        Err(ReadError::BadPdf(why)) => assert!(!why.is_empty()),
        other => panic!("a PDF cut to a third must be refused as a bad PDF, got {other:?}"),
    }
    assert!(matches!(
        read_document(b"%PDF-1.7\n%%EOF", &opts),
        Err(ReadError::BadPdf(_))
    ));
}

/// Every PDF under `dir`, recursively.
fn pdfs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            pdfs(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")) {
            out.push(p);
        }
    }
}

#[test]
fn own_interpreter_finds_pdf_extracts_words_at_the_same_places() {
    use facteur::read::pdf::{text_pages_with, Interpreter};
    let mut files = Vec::new();
    pdfs(corpus(), &mut files);
    pdfs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"),
        &mut files,
    );
    files.sort();
    let (mut theirs, mut found, mut docs) = (0usize, 0usize, 0usize);
    let mut refused: Vec<String> = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let Ok(reference) = text_pages_with(&bytes, Interpreter::PdfExtract) else {
            continue;
        };
        // Our interpreter alone: a fallback to pdf-extract would compare pdf-extract with itself.
        let ours = match text_pages_with(&bytes, Interpreter::OwnOnly) {
            Ok(p) => p,
            Err(e) => {
                refused.push(format!("{}: {e}", f.display()));
                Vec::new()
            }
        };
        docs += 1;
        let (mut t, mut n) = (0usize, 0usize);
        for (rp, op) in reference
            .iter()
            .zip(ours.iter().chain(std::iter::repeat(&Default::default())))
        {
            // pdf-extract sometimes gives a whole line zero-width glyphs (every word at one x):
            // such a word has no position to compare.
            for w in rp.words.iter().filter(|w| w.bbox.width() > 0.5) {
                t += 1;
                let hit = op.words.iter().any(|o| {
                    o.text == w.text
                        && (o.bbox.x0 - w.bbox.x0).abs() <= 2.0
                        && (o.bbox.y0 - w.bbox.y0).abs() <= 2.0
                });
                n += usize::from(hit);
                if !hit && t - n <= 3 {
                    println!("  missing {:?} at ({}, {})", w.text, w.bbox.x0, w.bbox.y0);
                }
            }
        }
        if n < t {
            println!("{}: {n}/{t} of pdf-extract's words", f.display());
        }
        theirs += t;
        found += n;
    }
    let ratio = found as f64 / theirs.max(1) as f64;
    println!(
        "own interpreter: {found}/{theirs} of pdf-extract's words ({:.2} %) in {docs} PDFs",
        100.0 * ratio
    );
    assert!(docs >= 30, "only {docs} PDFs read");
    assert!(
        refused.is_empty(),
        "our interpreter could not open what pdf-extract read: {refused:?}"
    );
    assert!(ratio >= 0.98, "parity {ratio:.4} under 98 %");
}
