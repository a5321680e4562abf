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
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let Ok(reference) = text_pages_with(&bytes, Interpreter::PdfExtract) else {
            continue;
        };
        let ours = text_pages_with(&bytes, Interpreter::Own).unwrap_or_default();
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
    assert!(ratio >= 0.98, "parity {ratio:.4} under 98 %");
}

/// Debug aid: `PDF=path Y=186 cargo test --test it text::dump -- --ignored --nocapture` prints
/// both interpreters' words on the line at `Y`.
#[test]
#[ignore]
fn dump() {
    use facteur::read::pdf::{text_pages_with, Interpreter};
    let bytes = std::fs::read(std::env::var("PDF").unwrap()).unwrap();
    let y: f32 = std::env::var("Y").unwrap().parse().unwrap();
    for which in [Interpreter::PdfExtract, Interpreter::Own] {
        let pages = text_pages_with(&bytes, which).unwrap();
        let words: Vec<_> = pages[0]
            .words
            .iter()
            .filter(|w| (w.bbox.y0 - y).abs() < 8.0)
            .map(|w| {
                format!(
                    "{}@{:.1},{:.1}-{:.1}",
                    w.text, w.bbox.x0, w.bbox.y0, w.bbox.x1
                )
            })
            .collect();
        println!("{which:?}: {}", words.join(" "));
    }
}

/// Debug aid: `PDF=path OBJ=61 cargo test --test it text::dump_obj -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump_obj() {
    let doc = lopdf::Document::load(std::env::var("PDF").unwrap()).unwrap();
    let n: u32 = std::env::var("OBJ").unwrap().parse().unwrap();
    println!("{:?}", doc.get_object((n, 0)).unwrap());
}

/// Poppler's words (`pdftotext -bbox`) on page 1 of `path`, as (text, xMin, yMin, yMax); `None`
/// when poppler is not installed.
fn poppler_words(path: &Path) -> Option<Vec<(String, f32, f32, f32)>> {
    let out = std::process::Command::new("pdftotext")
        .args(["-bbox", "-f", "1", "-l", "1"])
        .arg(path)
        .arg("-")
        .output()
        .ok()?;
    let xml = String::from_utf8_lossy(&out.stdout);
    let re = regex::Regex::new(
        r#"<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="[-\d.]+" yMax="([-\d.]+)">([^<]*)</word>"#,
    )
    .unwrap();
    Some(
        re.captures_iter(&xml)
            .map(|c| {
                let text = c[4]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&");
                (
                    text,
                    c[1].parse().unwrap(),
                    c[2].parse().unwrap(),
                    c[3].parse().unwrap(),
                )
            })
            .collect(),
    )
}

#[test]
fn own_interpreter_places_words_where_poppler_does() {
    use facteur::read::pdf::{text_pages_with, Interpreter};
    let mut files = Vec::new();
    pdfs(corpus(), &mut files);
    files.sort();
    let mut totals = [(0usize, 0usize); 2];
    for f in &files {
        let Some(reference) = poppler_words(f) else {
            println!("pdftotext not installed: skipped");
            return;
        };
        let bytes = std::fs::read(f).unwrap();
        for (k, which) in [Interpreter::PdfExtract, Interpreter::Own]
            .into_iter()
            .enumerate()
        {
            let Ok(pages) = text_pages_with(&bytes, which) else {
                continue;
            };
            let Some(page) = pages.first() else { continue };
            let (mut t, mut n) = (0usize, 0usize);
            for (text, x0, y0, y1) in &reference {
                t += 1;
                n += usize::from(page.words.iter().any(|w| {
                    &w.text == text
                        && (w.bbox.x0 - x0).abs() <= 2.0
                        && w.bbox.center_y() >= y0 - 2.0
                        && w.bbox.center_y() <= y1 + 2.0
                }));
            }
            if k == 1 && n * 100 < t * 95 {
                println!("{}: {n}/{t} of poppler's words", f.display());
            }
            totals[k].0 += n;
            totals[k].1 += t;
        }
    }
    let ratio = |(n, t): (usize, usize)| n as f64 / t.max(1) as f64;
    println!(
        "poppler's page-1 words at the same place: pdf-extract {}/{} ({:.2} %), own {}/{} ({:.2} %)",
        totals[0].0,
        totals[0].1,
        100.0 * ratio(totals[0]),
        totals[1].0,
        totals[1].1,
        100.0 * ratio(totals[1])
    );
    assert!(
        ratio(totals[1]) >= ratio(totals[0]),
        "own interpreter further from poppler than pdf-extract"
    );
}
