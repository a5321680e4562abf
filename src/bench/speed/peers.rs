//! Peers measured in the same run: `pdftotext` (poppler) per PDF, and the python `factur-x`
//! library (pypdf + lxml), the reference Factur-X tool, both in-process and one interpreter per PDF.
//!
//! Python is looked for in `FACTEUR_BENCH_PYTHON` first (e.g. a venv made for the bench), then
//! `python3` on PATH; the first that can `import facturx, lxml` is used. Nothing is installed from
//! here: a missing peer is a row that says how to get it.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{truncate, Doc, Row};

/// `pdftotext -layout FILE -` once per PDF, process start included.
pub(crate) fn pdftotext(pdfs: &[&Doc]) -> Row {
    const PATH: &str = "pdftotext -layout, PDF (process per PDF)";
    let available = Command::new("pdftotext")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !available {
        return Row::skipped(
            PATH,
            "skipped: not installed (apt-get install poppler-utils)",
        );
    }
    let mut row = Row {
        path: PATH.to_string(),
        docs: pdfs.len(),
        ..Row::default()
    };
    for d in pdfs {
        let t = Instant::now();
        let status = Command::new("pdftotext")
            .args(["-layout", "-q"])
            .arg(&d.path)
            .arg("-")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let took = t.elapsed();
        if status.is_ok_and(|s| s.success()) {
            row.spent += took;
            row.timed += 1;
            row.pages += d.pages;
        } else {
            row.errors += 1;
        }
    }
    row.note = "text only, no fields: the floor for any text-layer reading".to_string();
    row
}

/// In-process: the PDFs factur-x finds XML in, extracted and parsed with lxml for ~2 s. Prints
/// the indices of those PDFs, then readings done and seconds.
const PY_INPROC: &str = r#"
import sys, time
import facturx
from lxml import etree
datas = [open(p, 'rb').read() for p in sys.argv[1:]]
ok = [i for i, d in enumerate(datas) if facturx.get_facturx_xml_from_pdf(d, check_xsd=False)[1]]
done = 0
start = time.perf_counter()
while time.perf_counter() - start < 2.0:
    for i in ok:
        name, xml = facturx.get_facturx_xml_from_pdf(datas[i], check_xsd=False)
        etree.fromstring(xml)
        done += 1
print(' '.join(map(str, ok)))
print(done, time.perf_counter() - start)
"#;

/// One interpreter per PDF, as a script would run it; exits 1 when no XML is found.
const PY_PROCESS: &str = r#"
import sys
import facturx
from lxml import etree
name, xml = facturx.get_facturx_xml_from_pdf(open(sys.argv[1], 'rb').read(), check_xsd=False)
if not xml:
    sys.exit(1)
etree.fromstring(xml)
"#;

fn python() -> Option<OsString> {
    let candidates = std::env::var_os("FACTEUR_BENCH_PYTHON")
        .into_iter()
        .chain([OsString::from("python3")]);
    for py in candidates {
        let importable = Command::new(&py)
            .args(["-c", "import facturx, lxml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if importable {
            return Some(py);
        }
    }
    None
}

pub(crate) fn python_facturx(pdfs: &[Doc]) -> Vec<Row> {
    const INPROC: &str = "python factur-x, Factur-X PDF (in-process)";
    const PROCESS: &str = "python factur-x, Factur-X (process per PDF)";
    let Some(py) = python() else {
        let why = "skipped: no python with factur-x; python3 -m venv /tmp/fxvenv && \
                   /tmp/fxvenv/bin/pip install factur-x, then FACTEUR_BENCH_PYTHON=/tmp/fxvenv/bin/python";
        return vec![Row::skipped(INPROC, why), Row::skipped(PROCESS, why)];
    };
    let shown = py.to_string_lossy().into_owned();
    let mut inproc = in_process(&py, pdfs, INPROC);
    inproc.row.note = format!(
        "{}; {shown}: XML extracted and parsed, not mapped to fields; timed inside python",
        inproc.row.note
    );
    // The same PDFs as in-process (those factur-x finds XML in), one interpreter each.
    let found: Vec<&Doc> = match &inproc.found {
        Some(idx) => idx.iter().filter_map(|&i| pdfs.get(i)).collect(),
        None => Vec::new(),
    };
    let mut process = Row {
        path: PROCESS.to_string(),
        docs: found.len(),
        ..Row::default()
    };
    for d in &found {
        let t = Instant::now();
        let status = Command::new(&py)
            .arg("-c")
            .arg(PY_PROCESS)
            .arg(&d.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let took = t.elapsed();
        if status.is_ok_and(|s| s.success()) {
            process.spent += took;
            process.timed += 1;
            process.pages += d.pages;
        } else {
            process.errors += 1;
        }
    }
    process.note = format!("{shown}: interpreter start and imports included, as a script runs it");
    vec![inproc.row, process]
}

struct InProcess {
    row: Row,
    /// Indices of the PDFs factur-x found XML in.
    found: Option<Vec<usize>>,
}

fn in_process(py: &OsString, pdfs: &[Doc], path: &str) -> InProcess {
    let out = Command::new(py)
        .arg("-c")
        .arg(PY_INPROC)
        .args(pdfs.iter().map(|d| &d.path))
        .stderr(Stdio::piped())
        .output();
    let parsed = out.as_ref().ok().and_then(|o| {
        let s = String::from_utf8_lossy(&o.stdout);
        let mut lines = s.lines();
        let found: Vec<usize> = lines
            .next()?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let mut last = lines.next()?.split_whitespace();
        let done: usize = last.next()?.parse().ok()?;
        let secs: f64 = last.next()?.parse().ok()?;
        Some((found, done, secs))
    });
    match (parsed, out) {
        (Some((found, done, secs)), _) if secs > 0.0 && !found.is_empty() => {
            let pages: usize = found
                .iter()
                .filter_map(|&i| pdfs.get(i))
                .map(|d| d.pages)
                .sum();
            let rounds = done / found.len();
            InProcess {
                row: Row {
                    path: path.to_string(),
                    docs: found.len(),
                    timed: done,
                    spent: Duration::from_secs_f64(secs),
                    pages: pages * rounds + partial_pages(&found, pdfs, done % found.len()),
                    errors: 0,
                    note: format!("{} documents x {rounds} rounds", found.len()),
                },
                found: Some(found),
            }
        }
        (_, Ok(o)) => InProcess {
            row: Row {
                errors: 1,
                ..Row::skipped(
                    path,
                    format!(
                        "failed: {}",
                        truncate(String::from_utf8_lossy(&o.stderr).trim(), 70)
                    ),
                )
            },
            found: None,
        },
        (_, Err(e)) => InProcess {
            row: Row::skipped(path, format!("could not run python: {e}")),
            found: None,
        },
    }
}

/// Pages of the first `n` found PDFs (the last, unfinished round).
fn partial_pages(found: &[usize], pdfs: &[Doc], n: usize) -> usize {
    found
        .iter()
        .take(n)
        .filter_map(|&i| pdfs.get(i))
        .map(|d| d.pages)
        .sum()
}
