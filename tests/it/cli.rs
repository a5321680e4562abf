//! The `facteur` binary as people use it: exit codes, messages, and the commands of the README.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::*;

fn facteur(dir: &Path, args: &[&str]) -> Output {
    Command::new(facteur_bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run facteur")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_config_reports_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    assert!(facteur(d.path(), &["init", "."]).status.success());
    let ok = facteur(d.path(), &["check-config"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("pipelines: 1 (1 sources)"));

    let cfg = d.path().join("facteur.toml");
    let body = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[worker]", "[worker]\nconcurency = 4");
    std::fs::write(&cfg, body.clone()).unwrap();
    std::fs::write(
        d.path().join("pipelines/default.toml"),
        "[[source]]\ntype = \"folder\"\nname = \"inbox\"\npath = \"in\"\nstable_sec = 2\n",
    )
    .unwrap();
    let bad = facteur(d.path(), &["check-config"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    let line = body
        .lines()
        .position(|l| l.starts_with("concurency"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "facteur.toml:{line}:1: unknown field `concurency`"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `concurrency`"), "{err}");

    // Fix the main file: the pipeline's own typo is reported with its file.
    std::fs::write(&cfg, body.replace("concurency = 4", "")).unwrap();
    let bad = facteur(d.path(), &["check-config"]);
    let err = text(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        err.contains("default.toml") && err.contains("stable_sec"),
        "{err}"
    );
}

#[test]
fn env_override_is_checked_too() {
    let d = tempfile::tempdir().unwrap();
    facteur(d.path(), &["init", "."]);
    let out = Command::new(facteur_bin())
        .current_dir(d.path())
        .env("FACTEUR_WORKER__CONCURRENCY", "many")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("FACTEUR_WORKER__CONCURRENCY"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn extract_refuses_unreadable_input_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.pdf", &b""[..]),
        ("word.pdf", &b"PK\x03\x04 docx"[..]),
    ] {
        std::fs::write(d.path().join(name), bytes).unwrap();
        let out = facteur(d.path(), &["extract", name, "--json"]);
        assert!(!out.status.success(), "{name} must fail");
        assert!(out.stdout.is_empty(), "no JSON on failure");
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(name), "{err}");
    }
    let out = facteur(d.path(), &["extract", "missing.pdf", "--json"]);
    assert!(!out.status.success());
}

#[test]
fn ingest_then_list_and_show() {
    let d = tempfile::tempdir().unwrap();
    facteur(d.path(), &["init", "."]);
    std::fs::write(d.path().join("a.pdf"), nth_invoice(1)).unwrap();
    std::fs::write(d.path().join("empty.pdf"), b"").unwrap();
    let out = facteur(d.path(), &["ingest", "--quiet", "a.pdf", "empty.pdf"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refused file makes exit 1: {stdout}"
    );
    assert!(
        stdout.contains("refused") && stdout.contains("empty file"),
        "{stdout}"
    );
    assert!(
        stdout.lines().all(|l| l.chars().count() <= 100),
        "fits 100 columns:\n{stdout}"
    );
    let again = facteur(d.path(), &["ingest", "--quiet", "a.pdf"]);
    assert!(
        text(&again.stdout).contains("known"),
        "{}",
        text(&again.stdout)
    );

    let list = facteur(d.path(), &["documents", "list"]);
    assert!(list.status.success());
    assert!(text(&list.stdout).contains("a.pdf"));
    let show = facteur(d.path(), &["documents", "show", "1"]);
    let s = text(&show.stdout);
    assert!(
        s.contains("history:") && s.contains("received from a.pdf"),
        "{s}"
    );
    assert!(
        s.contains("arrivals (2)"),
        "the second ingest is recorded: {s}"
    );
    let json = facteur(d.path(), &["documents", "show", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(v["arrivals"].as_array().unwrap().len(), 2);
    let missing = facteur(d.path(), &["documents", "show", "42"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_state = facteur(d.path(), &["documents", "list", "--state", "nope"]);
    assert_eq!(bad_state.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn demo_runs_on_the_fixtures() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let out = facteur(
        d.path(),
        &["demo", "--workspace", &ws.display().to_string()],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("facture-papeterie-dupont.pdf"), "{stdout}");
    assert!(ws.join("var/facteur.db").exists());
    // Receivables: a quote accepted into the draft that is issued, also written as UBL.
    assert!(stdout.contains("── receivables: quote DE-"), "{stdout}");
    assert!(
        stdout.contains("the customer accepts it: sales draft 1 (note \"Devis DE-"),
        "{stdout}"
    );
    assert!(stdout.contains("the same invoice as UBL 2.1: "), "{stdout}");
    assert!(stdout.contains("Where to look:"), "{stdout}");
    let issued: Vec<String> = std::fs::read_dir(ws.join("var/issued"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        issued.iter().any(|n| n.ends_with("-00001.ubl.xml")),
        "{issued:?}"
    );
    assert_eq!(std::fs::read_dir(ws.join("var/quotes")).unwrap().count(), 1);
    // The demo's exchange rates are in the workspace and in the store.
    assert!(
        stdout.contains("exchange rates: 300 rate(s) of 15 currencies over 20 day(s)"),
        "{stdout}"
    );
    assert!(ws.join("rates/eurofxref-hist-demo.csv").exists());
    // The invoice in pounds is posted converted, and paid at another rate.
    assert!(
        stdout.contains(
            "401      FGB123456789             0,00      5633,75   4874,88 GBP at 0.8653"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("paid 4874,88 GBP on 2026-11-13 at 1 EUR = 0.86181 GBP (ecb, 2026-11-13): 5656,56 EUR, exchange loss 22,81 (666)"),
        "{stdout}"
    );
}

/// A check made after parsing points at its own key even when the same key text (and the same
/// name) appears earlier in the file: the first account has a folder named like the second
/// account, with a valid `subject`; the second account's `subject` is the bad one.
#[test]
fn check_config_points_at_the_right_key_when_its_text_repeats() {
    let d = tempfile::tempdir().unwrap();
    assert!(facteur(d.path(), &["init", "."]).status.success());
    let pipeline = "[[source]]\ntype = \"imap\"\nname = \"ap\"\nhost = \"h\"\nuser = \"u\"\n\
                    password_env = \"P\"\n[[source.folder]]\nname = \"Factures\"\n\
                    subject = \"facture\"\n\n\
                    [[source]]\ntype = \"imap\"\nname = \"Factures\"\nhost = \"h\"\nuser = \"u\"\n\
                    password_env = \"P\"\n[[source.folder]]\nname = \"INBOX\"\n\
                    [[source.folder]]\nname = \"Avoirs\"\n    subject = \"(avoir\"\n";
    std::fs::write(d.path().join("pipelines/mail.toml"), pipeline).unwrap();
    let bad = facteur(d.path(), &["check-config"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(
        err.contains("mail.toml:21:5: source Factures: folder Avoirs: `subject`"),
        "{err}"
    );
}
