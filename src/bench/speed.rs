//! `facteur bench speed`: how fast documents are read, beside peers measured in the same run.
//!
//! Figures are printed, never asserted (DESIGN.md §7): a shared 2-core machine makes any threshold a
//! flaky test. Every figure is measured in this run on this machine so the rows compare: the XML
//! path in documents per second (repeated for about two seconds, in-process), the text path in
//! milliseconds per page, `pdftotext` per PDF (a process each, as people run it), and the python
//! `factur-x` library's attachment extraction when it is installed (never installed from here).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::read::{read_document, MethodChoice, ReadOptions};

/// How long the XML path is repeated for a stable figure.
const XML_RUN: Duration = Duration::from_secs(2);

pub fn run(corpus: &Path) -> anyhow::Result<()> {
    let xml_files = files(corpus, "xml")
        .with_context(|| format!("Failed to list XML files under {}", corpus.display()))?;
    let pdf_files = files(corpus, "pdf")
        .with_context(|| format!("Failed to list PDF files under {}", corpus.display()))?;
    let load = |paths: &[PathBuf]| -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
        paths
            .iter()
            .map(|p| {
                let bytes =
                    std::fs::read(p).with_context(|| format!("Failed to read {}", p.display()))?;
                Ok((p.clone(), bytes))
            })
            .collect()
    };
    let xmls = load(&xml_files)?;
    let pdfs = load(&pdf_files)?;
    println!(
        "corpus {}: {} XML files, {} PDFs",
        corpus.display(),
        xmls.len(),
        pdfs.len()
    );

    let mut rows: Vec<[String; 4]> = Vec::new();
    rows.push(xml_path("facteur xml, .xml files (in-process)", &xmls));
    rows.push(xml_path("facteur xml, Factur-X PDFs (in-proc)", &pdfs));
    let pages: Vec<usize> = pdfs.iter().map(|(_, b)| page_count(b)).collect();
    rows.push(text_path(&pdfs, &pages));
    rows.push(pdftotext(&pdfs, &pages));
    rows.push(python_facturx(&pdfs));

    println!();
    let (reader, figure, errors, on) = ("reader", "figure", "errors", "measured on");
    println!("{reader:<38} {figure:>12} {errors:>8}  {on}");
    println!("{}", "-".repeat(100));
    for [name, figure, errors, on] in rows {
        println!("{name:<38} {figure:>12} {errors:>8}  {on}");
    }
    Ok(())
}

/// Corpus files with this extension (any case), sorted.
fn files(dir: &Path, ext: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case(ext))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn page_count(pdf: &[u8]) -> usize {
    lopdf::Document::load_mem(pdf)
        .map(|d| d.get_pages().len())
        .unwrap_or(0)
}

fn opts(method: MethodChoice) -> ReadOptions {
    ReadOptions {
        method,
        ..ReadOptions::default()
    }
}

/// Documents through `read_document(Xml)`, repeated for ~2 s; those that do not read are left out.
fn xml_path(label: &str, docs: &[(PathBuf, Vec<u8>)]) -> [String; 4] {
    let o = opts(MethodChoice::Xml);
    // One pass decides the set: Order-X files and PDFs without XML are not part of this path.
    let set: Vec<&[u8]> = docs
        .iter()
        .filter(|(_, b)| read_document(b, &o).is_ok())
        .map(|(_, b)| b.as_slice())
        .collect();
    let skipped = docs.len() - set.len();
    if set.is_empty() {
        return row(label, "-", "0", "no readable e-invoice");
    }
    let start = Instant::now();
    let mut done = 0usize;
    let mut errors = 0usize;
    while start.elapsed() < XML_RUN {
        for b in &set {
            if read_document(b, &o).is_err() {
                errors += 1;
            }
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    row(
        label,
        &format!("{:.0} doc/s", done as f64 / secs),
        &errors.to_string(),
        &format!(
            "{} documents x {} rounds, mapped to Invoice ({skipped} without invoice XML left out)",
            set.len(),
            done / set.len()
        ),
    )
}

/// Every corpus PDF through `read_document(Text)`, once; time over the pages of the ones read.
fn text_path(pdfs: &[(PathBuf, Vec<u8>)], pages: &[usize]) -> [String; 4] {
    let o = opts(MethodChoice::Text);
    let mut spent = Duration::ZERO;
    let mut read_pages = 0usize;
    let mut errors = 0usize;
    let mut first_error = None;
    for ((path, b), n) in pdfs.iter().zip(pages) {
        let t = Instant::now();
        let result = read_document(b, &o);
        let took = t.elapsed();
        match result {
            Ok(_) => {
                spent += took;
                read_pages += n;
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{}: {e}", name(path)));
            }
        }
    }
    let mut on = format!("{} PDFs, {read_pages} pages read", pdfs.len());
    if let Some(e) = first_error {
        on.push_str(&format!("; first error {}", truncate(&e, 60)));
    }
    row(
        "facteur text (in-process)",
        &per_page(spent, read_pages),
        &errors.to_string(),
        &on,
    )
}

/// `pdftotext -layout FILE -` once per PDF, process start included.
fn pdftotext(pdfs: &[(PathBuf, Vec<u8>)], pages: &[usize]) -> [String; 4] {
    let available = Command::new("pdftotext")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !available {
        return row(
            "pdftotext (process per PDF)",
            "-",
            "-",
            "not installed: apt-get install poppler-utils",
        );
    }
    let mut spent = Duration::ZERO;
    let mut read_pages = 0usize;
    let mut errors = 0usize;
    for ((path, _), n) in pdfs.iter().zip(pages) {
        let t = Instant::now();
        let status = Command::new("pdftotext")
            .args(["-layout", "-q"])
            .arg(path)
            .arg("-")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let took = t.elapsed();
        if status.is_ok_and(|s| s.success()) {
            spent += took;
            read_pages += n;
        } else {
            errors += 1;
        }
    }
    row(
        "pdftotext (process per PDF)",
        &per_page(spent, read_pages),
        &errors.to_string(),
        &format!("{} PDFs, {read_pages} pages, text only", pdfs.len()),
    )
}

/// Timed inside python, so interpreter start-up is not counted (as our in-process figure).
const PY_BENCH: &str = r#"
import sys, time
import facturx
from lxml import etree
datas = [open(p, 'rb').read() for p in sys.argv[1:]]
ok = [d for d in datas if facturx.get_facturx_xml_from_pdf(d, check_xsd=False)[1]]
done = 0
start = time.perf_counter()
while time.perf_counter() - start < 2.0:
    for d in ok:
        name, xml = facturx.get_facturx_xml_from_pdf(d, check_xsd=False)
        etree.fromstring(xml)
        done += 1
print(len(ok), done, time.perf_counter() - start)
"#;

/// python `factur-x`: extract the XML from each Factur-X PDF and parse it with lxml.
fn python_facturx(pdfs: &[(PathBuf, Vec<u8>)]) -> [String; 4] {
    const NAME: &str = "python factur-x (in-process)";
    let importable = Command::new("python3")
        .args(["-c", "import facturx, lxml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        return row(
            NAME,
            "-",
            "-",
            "skipped: python factur-x not installed; `pip install factur-x` and rerun",
        );
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(PY_BENCH)
        .args(pdfs.iter().map(|(p, _)| p))
        .stderr(Stdio::piped())
        .output();
    let parsed = out.as_ref().ok().and_then(|o| {
        let s = String::from_utf8_lossy(&o.stdout);
        let mut it = s.split_whitespace();
        let docs: usize = it.next()?.parse().ok()?;
        let done: f64 = it.next()?.parse().ok()?;
        let secs: f64 = it.next()?.parse().ok()?;
        Some((docs, done, secs))
    });
    match (parsed, out) {
        (Some((docs, done, secs)), _) if secs > 0.0 => row(
            NAME,
            &format!("{:.0} doc/s", done / secs),
            "0",
            &format!("{docs} Factur-X PDFs: XML extracted and parsed, not mapped to fields"),
        ),
        (_, Ok(o)) => row(
            NAME,
            "-",
            "1",
            &format!(
                "failed: {}",
                truncate(String::from_utf8_lossy(&o.stderr).trim(), 70)
            ),
        ),
        (_, Err(e)) => row(NAME, "-", "1", &format!("could not run python3: {e}")),
    }
}

fn per_page(spent: Duration, pages: usize) -> String {
    if pages == 0 {
        return "-".to_string();
    }
    format!("{:.2} ms/page", spent.as_secs_f64() * 1000.0 / pages as f64)
}

fn row(name: &str, figure: &str, errors: &str, on: &str) -> [String; 4] {
    [
        name.to_string(),
        figure.to_string(),
        errors.to_string(),
        on.to_string(),
    ]
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
