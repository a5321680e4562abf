//! A new user's first run, exactly as the README says, with relative paths: `facteur init ap`,
//! `cd ap`, `facteur run`, drop PDFs into inbox/. Checks where every file ends up: relative paths in
//! a config file resolve once, against that file's folder (a pipeline's `../inbox` is the
//! workspace's inbox/, its processed/ and failed/ inside it, nothing under pipelines/). Also what
//! the log of that run looks like when stderr is a file: no colour codes, and a hostile file name
//! escaped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo");
const GOOD: [&str; 2] = [
    "facture-papeterie-dupont.pdf",
    "invoice-northwind-consulting.pdf",
];
/// A Word file saved with a .pdf name: refused by its first bytes.
const BAD: &str = "notes.pdf";
/// A name meant to recolour a terminal and forge a log line.
const HOSTILE: &str = "evil\x1b[31m\r\nERROR forged.pdf";

/// SIGTERM, then waits up to 60 s; true when it exited with success.
fn terminate(child: &mut Child) -> bool {
    // SAFETY: kill(2) on the pid of a child we started and have not reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Polls until `check` holds or 120 s pass (a deadline against hanging, not a timing assertion).
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while Instant::now() < until {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("gave up waiting for {what}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_readme_sequence_files_everything_where_the_readme_says() {
    let home = tempfile::tempdir().unwrap();
    let init = Command::new(facteur_bin())
        .current_dir(home.path())
        .args(["init", "ap"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let ws: PathBuf = home.path().join("ap");
    let log_path = home.path().join("run.log");
    let mut run = Command::new(facteur_bin())
        .current_dir(&ws)
        .args(["--log-level", "info", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let inbox = ws.join("inbox");
    for name in GOOD {
        std::fs::copy(Path::new(FIXTURES).join(name), inbox.join(name)).unwrap();
    }
    std::fs::write(inbox.join(BAD), b"PK\x03\x04 a Word document").unwrap();
    std::fs::write(inbox.join(HOSTILE), b"").unwrap();

    let processed = inbox.join("processed");
    let failed = inbox.join("failed");
    wait_for("two processed files and two failed ones", || {
        let done: usize = names(&processed)
            .iter()
            .map(|d| names(&processed.join(d)).len())
            .sum();
        let refused = names(&failed).len();
        done == 2 && refused == 4
    });
    let clean = terminate(&mut run);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(clean, "facteur run exits cleanly on SIGTERM:\n{log}");

    // inbox/processed/<YYYY-MM-DD>/ holds the good PDFs.
    let days = names(&processed);
    assert_eq!(days.len(), 1, "{days:?}");
    assert!(
        chrono::NaiveDate::parse_from_str(&days[0], "%Y-%m-%d").is_ok(),
        "{days:?}"
    );
    assert_eq!(names(&processed.join(&days[0])), GOOD.to_vec());
    // inbox/failed/ holds the refused files, each with its reason.
    let mut expected_failed = vec![
        BAD.to_string(),
        format!("{BAD}.reason.txt"),
        HOSTILE.to_string(),
        format!("{HOSTILE}.reason.txt"),
    ];
    expected_failed.sort();
    assert_eq!(names(&failed), expected_failed);
    let reason = std::fs::read_to_string(failed.join(format!("{BAD}.reason.txt"))).unwrap();
    assert!(!reason.trim().is_empty());
    // Nothing else in inbox/, nothing created under pipelines/, the database in var/.
    assert_eq!(names(&inbox), ["failed", "processed"]);
    assert_eq!(names(&ws.join("pipelines")), ["default.toml"]);
    assert_eq!(names(&ws), ["facteur.toml", "inbox", "pipelines", "var"]);
    assert!(ws.join("var/facteur.db").exists());

    // The log went to a file: no colour codes, and the hostile name is escaped, not obeyed.
    assert!(
        !log.contains('\x1b'),
        "no escape codes in a log file:\n{log}"
    );
    assert!(!log.contains('\r'), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("ERROR forged")),
        "a file name cannot forge a log line:\n{log}"
    );
    assert!(log.contains(r"evil\e[31m\r\nERROR forged.pdf"), "{log}");
}

#[test]
fn ingest_tables_escape_hostile_file_names() {
    let d = tempfile::tempdir().unwrap();
    let init = Command::new(facteur_bin())
        .current_dir(d.path())
        .args(["init", "."])
        .output()
        .unwrap();
    assert!(init.status.success());
    std::fs::write(d.path().join(HOSTILE), b"").unwrap();
    let out = Command::new(facteur_bin())
        .current_dir(d.path())
        .args(["ingest", "--quiet", HOSTILE])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(stdout.contains(r"evil\e[31m\r\nERROR"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("ERROR forged")));
}
