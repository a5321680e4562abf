//! facteur through its CLI, as people and scripts run it: one `facteur extract FILE --json
//! --method …` process per document, start-up, config, sandbox child and JSON output included.
//!
//! The binary is the one running the bench (`std::env::current_exe()`), so the figures are for the
//! build being measured. A reading counts as done when the process exits 0 and prints a JSON object.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{file_name, truncate, Doc, Row};

pub(crate) fn rows(xml_set: &[&Doc], facturx_set: &[&Doc], pdfs: &[&Doc]) -> Vec<Row> {
    let names = [
        "facteur extract --method xml, .xml (CLI)",
        "facteur extract --method xml, Factur-X (CLI)",
        "facteur extract --method text, PDF (CLI)",
    ];
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            let why = format!("skipped: cannot locate the facteur binary: {e}");
            return names.iter().map(|n| Row::skipped(n, why.clone())).collect();
        }
    };
    vec![
        per_document(&exe, names[0], "xml", xml_set),
        per_document(&exe, names[1], "xml", facturx_set),
        per_document(&exe, names[2], "text", pdfs),
    ]
}

fn per_document(exe: &Path, path: &str, method: &str, docs: &[&Doc]) -> Row {
    let mut row = Row {
        path: path.to_string(),
        docs: docs.len(),
        ..Row::default()
    };
    let mut first_error = None;
    for d in docs {
        let t = Instant::now();
        let out = Command::new(exe)
            .arg("extract")
            .arg(&d.path)
            .args(["--json", "--method", method])
            .stdin(Stdio::null())
            .output();
        let took = t.elapsed();
        let failure = match &out {
            Ok(o) if o.status.success() && o.stdout.trim_ascii_start().starts_with(b"{") => None,
            Ok(o) => Some(format!(
                "{} ({}): {}",
                file_name(&d.path),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot start {}: {e}", exe.display())),
        };
        match failure {
            None => {
                row.spent += took;
                row.timed += 1;
                row.pages += d.pages;
            }
            Some(why) => {
                row.errors += 1;
                first_error.get_or_insert(why);
            }
        }
    }
    row.note = format!("one `extract {{FILE}} --json --method {method}` process per document");
    if let Some(e) = first_error {
        row.note
            .push_str(&format!("; first error {}", truncate(&e, 70)));
    }
    row
}

/// Per-document times of a one-off `facteur extract FILE` (no option, the environment of a shell:
/// `OMP_THREAD_LIMIT` unset) and of `pdftotext -layout FILE -`, run alternately on the same PDFs in
/// the same rounds so that both see the same machine load.
pub(crate) struct OneOff {
    pub facteur_ms: Vec<f64>,
    pub pdftotext_ms: Vec<f64>,
    pub errors: Vec<String>,
}

pub(crate) fn one_off(pdfs: &[&Doc], rounds: usize) -> Result<OneOff, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the facteur binary: {e}"))?;
    let mut out = OneOff {
        facteur_ms: Vec::new(),
        pdftotext_ms: Vec::new(),
        errors: Vec::new(),
    };
    let time = |cmd: &mut Command| -> Result<f64, String> {
        let t = Instant::now();
        let o = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot start: {e}"))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if o.status.success() {
            Ok(ms)
        } else {
            Err(format!(
                "{}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    };
    for _ in 0..rounds {
        for d in pdfs {
            let facteur = time(
                Command::new(&exe)
                    .arg("extract")
                    .arg(&d.path)
                    .env_remove("OMP_THREAD_LIMIT"),
            );
            let peer = time(
                Command::new("pdftotext")
                    .args(["-layout", "-q"])
                    .arg(&d.path)
                    .arg("-"),
            );
            match (facteur, peer) {
                (Ok(f), Ok(p)) => {
                    out.facteur_ms.push(f);
                    out.pdftotext_ms.push(p);
                }
                (Err(e), _) => out
                    .errors
                    .push(format!("facteur extract {}: {e}", file_name(&d.path))),
                (_, Err(e)) => out
                    .errors
                    .push(format!("pdftotext {}: {e}", file_name(&d.path))),
            }
        }
    }
    Ok(out)
}
