//! No credential ever reaches the log: the real `facteur run`, at `--log-level trace` and with a
//! filter aimed straight at async-imap's stream log, against the real Dovecot, logging in with a
//! password (read from a `password_file` given relative to the pipeline file) and with XOAUTH2
//! (through the HTTPS token endpoint of oauth.rs). stderr is captured to a file and searched for
//! the password, the access and refresh tokens, and the base64 XOAUTH2 string.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;

use super::dovecot::{base64, Dovecot, USER};
use super::oauth::{dovecot_oauth2, oauth2_table, provider, refresh_token};
use super::*;

/// The filters tried: each level, and async-imap's stream module by name (more specific than any
/// clamp added to the user's filter; the old clamp leaked there).
const LEVELS: [&str; 4] = [
    "info",
    "debug",
    "trace",
    "info,async_imap::imap_stream=trace",
];

/// Runs `facteur run` in `ws` at `level` until Processed holds one message; returns stderr.
async fn run_until_processed(ws: &Path, dv: &Dovecot, level: &str) -> String {
    let log = ws.join(format!("run-{}.log", level.replace([',', ':', '='], "_")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_facteur"))
        .args(["--config", &ws.join("facteur.toml").display().to_string()])
        .args(["--log-level", level, "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let docs = Docs::load();
    dv.append("INBOX", &[docs.invoice_mail(0).0]).await;
    let moved = {
        let until = Instant::now() + Duration::from_secs(60);
        let mut moved = false;
        while !moved && Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            moved = dv.search("Processed", "ALL").await.0.len() == 1;
        }
        moved
    };
    // SAFETY: kill(2) on the pid of a child we started and have not reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(moved, "the message was taken at {level}:\n{text}");
    // The clamp holds back async-imap's TRACE only: the source's own events still show.
    assert!(text.contains("message recorded"), "{level}:\n{text}");
    dv.command(&[
        "SELECT Processed",
        "STORE 1:* +FLAGS (\\Deleted)",
        "EXPUNGE",
    ])
    .await;
    text
}

/// facteur.toml (SQLite under var/) and pipelines/mail.toml with `source` as the IMAP table body.
fn workspace(ws: &Path, dv: &Dovecot, source: &str) {
    std::fs::create_dir_all(ws.join("pipelines")).unwrap();
    std::fs::create_dir_all(ws.join("var")).unwrap();
    std::fs::write(
        ws.join("facteur.toml"),
        "[database]\nurl = \"sqlite://var/facteur.db\"\n[read]\nsandbox_workers = 1\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("pipelines/mail.toml"),
        format!(
            "[[source]]\ntype = \"imap\"\nname = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"none\"\nuser = \"{USER}\"\nfull_check_secs = 2\npoll_interval_secs = 1\n{source}",
            dv.port
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imap_password_never_appears_in_logs_at_any_level() {
    // A password no log line could hold by chance, in a second passdb (Dovecot goes on to it
    // when the first refuses; the test's own client keeps the first one's password).
    let password = "pw-Zq9x-7c1e-LOGIN";
    let ws = tempfile::tempdir().unwrap();
    let users = ws.path().join("users");
    std::fs::write(&users, format!("{USER}:{{PLAIN}}{password}::::::\n")).unwrap();
    let dv = Dovecot::start_conf(
        &["Processed"],
        &format!(
            "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {}\n}}\n",
            users.display()
        ),
    );
    workspace(ws.path(), &dv, "password_file = \"imap-password\"\n");
    // Relative to the pipeline file's folder, once: pipelines/imap-password.
    std::fs::write(
        ws.path().join("pipelines/imap-password"),
        format!("{password}\n"),
    )
    .unwrap();
    for level in LEVELS {
        let log = run_until_processed(ws.path(), &dv, level).await;
        assert!(!log.contains(password), "the password leaked at {level}");
        if level == "trace" {
            assert!(log.contains("TRACE"), "trace was on:\n{log}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_tokens_never_appear_in_logs_at_any_level() {
    let p = provider(Arc::new(AtomicBool::new(false))).await;
    let (dv, _conf) = dovecot_oauth2(&p, &["Processed"]);
    let ws = tempfile::tempdir().unwrap();
    let rt = ws.path().join("refresh-token");
    std::fs::write(&rt, format!("{}\n", refresh_token(1))).unwrap();
    let table = oauth2_table(&p, &rt).replace("[oauth2]", "[source.oauth2]");
    workspace(ws.path(), &dv, &table);
    for level in LEVELS {
        let log = run_until_processed(ws.path(), &dv, level).await;
        assert!(!log.contains("SECRET"), "a token leaked at {level}");
        for n in 1..6 {
            let xoauth2 = format!("user={USER}\x01auth=Bearer at-SECRET-{n}\x01\x01");
            assert!(
                !log.contains(&base64(xoauth2.as_bytes())),
                "the XOAUTH2 string leaked at {level}"
            );
        }
        if level == "trace" {
            assert!(log.contains("TRACE"), "trace was on:\n{log}");
        }
    }
}
