//! `facteur bench speed`: how fast documents are read, in-process and through the CLI, beside peers
//! measured in the same run.
//!
//! Figures are printed, never asserted (DESIGN.md §7): a shared 2-core machine makes any threshold a
//! flaky test. Every row is measured in this run on this machine so the rows compare, and each says
//! what it includes: in-process rows time `read_document` alone (`inproc.rs`), CLI rows time a whole
//! `facteur extract` process per document as people run it (`cli.rs`), peers are `pdftotext` per PDF
//! and python `factur-x` when an interpreter can import it (`peers.rs`; never installed from here).

mod cli;
mod inproc;
mod peers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

/// One measured way of reading: what was timed and how it went.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub path: String,
    /// Documents in the measured set.
    pub docs: usize,
    /// Readings that succeeded (documents × rounds) and the time they took.
    pub timed: usize,
    pub spent: Duration,
    /// Pages of the readings that succeeded; 0 when the documents have no pages (XML).
    pub pages: usize,
    pub errors: usize,
    /// What the row includes or why it is empty, printed under the table.
    pub note: String,
}

impl Row {
    pub fn skipped(path: &str, why: impl Into<String>) -> Row {
        Row {
            path: path.to_string(),
            note: why.into(),
            ..Row::default()
        }
    }

    fn cells(&self) -> [String; 6] {
        let secs = self.spent.as_secs_f64();
        let ms = secs * 1000.0;
        let per = |n: usize, f: &dyn Fn(f64) -> String| {
            if n == 0 || secs <= 0.0 {
                "-".to_string()
            } else {
                f(n as f64)
            }
        };
        [
            self.path.clone(),
            self.docs.to_string(),
            per(self.timed, &|n| format!("{:.0}", n / secs)),
            per(self.timed, &|n| fmt_ms(ms / n)),
            per(self.pages, &|n| fmt_ms(ms / n)),
            if self.docs == 0 && self.timed == 0 {
                "-".to_string()
            } else {
                self.errors.to_string()
            },
        ]
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.3}")
    } else {
        format!("{ms:.1}")
    }
}

/// A corpus document loaded once: its path, bytes and page count (0 for XML).
pub(crate) struct Doc {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub pages: usize,
}

pub fn run(corpus: &Path) -> anyhow::Result<()> {
    let load = |ext: &str| -> anyhow::Result<Vec<Doc>> {
        let paths = files(corpus, ext)
            .with_context(|| format!("Failed to list .{ext} files under {}", corpus.display()))?;
        paths
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("Failed to read {}", path.display()))?;
                let pages = if ext == "pdf" { page_count(&bytes) } else { 0 };
                Ok(Doc { path, bytes, pages })
            })
            .collect()
    };
    let xmls = load("xml")?;
    let pdfs = load("pdf")?;
    println!(
        "corpus {}: {} XML files, {} PDFs ({} pages)",
        corpus.display(),
        xmls.len(),
        pdfs.len(),
        pdfs.iter().map(|d| d.pages).sum::<usize>()
    );

    // The XML path's sets: Order-X files and PDFs without invoice XML are not part of it.
    let xml_set = inproc::readable(&xmls);
    let facturx_set = inproc::readable(&pdfs);
    println!(
        "XML path: {} of the XML files are invoices; {} of the PDFs carry invoice XML",
        xml_set.len(),
        facturx_set.len()
    );
    let all_pdfs: Vec<&Doc> = pdfs.iter().collect();

    let mut rows = vec![
        inproc::xml_path("facteur xml, .xml (in-process)", &xml_set),
        inproc::xml_path("facteur xml, Factur-X PDF (in-process)", &facturx_set),
        inproc::text_path("facteur text, PDF (in-process)", &all_pdfs),
    ];
    rows.extend(cli::rows(&xml_set, &facturx_set, &all_pdfs));
    rows.push(peers::pdftotext(&all_pdfs));
    rows.extend(peers::python_facturx(&pdfs));

    println!();
    let line = |n: &str, c: &[String; 6]| {
        format!(
            "{n:>2} {:<44} {:>5} {:>8} {:>9} {:>9} {:>6}",
            c[0], c[1], c[2], c[3], c[4], c[5]
        )
    };
    let head = ["path", "docs", "docs/s", "ms/doc", "ms/page", "errors"].map(str::to_string);
    println!("{}", line("#", &head));
    println!("{}", "-".repeat(90));
    for (i, r) in rows.iter().enumerate() {
        println!("{}", line(&(i + 1).to_string(), &r.cells()));
    }
    println!();
    for (i, r) in rows.iter().enumerate() {
        if !r.note.is_empty() {
            println!("{:>2}. {}", i + 1, r.note);
        }
    }
    print_one_off(&all_pdfs);
    Ok(())
}

/// The one-off figure: `facteur extract FILE` as typed in a shell against `pdftotext` on the same
/// PDFs, alternately, three rounds.
fn print_one_off(pdfs: &[&Doc]) {
    println!();
    println!(
        "one-off reading, {} PDFs x 3 rounds, alternately in this run:",
        pdfs.len()
    );
    let o = match cli::one_off(pdfs, 3) {
        Ok(o) => o,
        Err(e) => {
            println!("  skipped: {e}");
            return;
        }
    };
    let stats = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let median = s.get(s.len() / 2).copied().unwrap_or(f64::NAN);
        let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
        (median, mean)
    };
    let (fm, fa) = stats(&o.facteur_ms);
    let (pm, pa) = stats(&o.pdftotext_ms);
    println!("  {:<48} {:>10} {:>10}", "", "median ms", "mean ms");
    println!(
        "  {:<48} {fm:>10.1} {fa:>10.1}",
        "facteur extract FILE (process + sandbox child)"
    );
    println!(
        "  {:<48} {pm:>10.1} {pa:>10.1}",
        "pdftotext -layout FILE - (text only)"
    );
    println!(
        "  facteur / pdftotext: {:.2}x by median, {:.2}x by mean ({} pairs)",
        fm / pm,
        fa / pa,
        o.facteur_ms.len()
    );
    for e in o.errors.iter().take(3) {
        println!("  error: {}", truncate(e, 100));
    }
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

pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
