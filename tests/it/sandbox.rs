//! The sandbox's walls, seen from outside with the real binary as child: what a child's
//! environment holds, that a stopped child takes its helpers (`pdftoppm`) and its temporary files
//! with it, and that helpers never hold the protocol pipes. Evidence comes from /proc.

use std::collections::HashSet;
use std::time::Duration;

use facteur::read::sandbox::{SandboxConfig, SandboxPool};
use facteur::read::{MethodChoice, ReadError, ReadOptions};

/// Variables a deployment holds secrets in (config overrides, `password_env`, `refresh_token_env`).
const SECRETS: &[(&str, &str)] = &[
    ("FACTEUR_DATABASE__URL", "postgres://ap:s3cr3t-db@db/ledger"),
    ("FACTEUR_DB_PASSWORD", "s3cr3t-db"),
    ("IMAP_PASSWORD", "s3cr3t-imap"),
    ("IMAP_REFRESH_TOKEN", "s3cr3t-refresh-token"),
];

fn pool(wall_timeout_secs: u64) -> SandboxPool {
    SandboxPool::new(SandboxConfig {
        workers: 1,
        memory_limit_mb: 2048,
        cpu_limit_secs: 120,
        wall_timeout_secs,
        program: Some(env!("CARGO_BIN_EXE_facteur").into()),
        ..SandboxConfig::default()
    })
}

/// Runs `secrets_probe` in a copy of this test binary whose environment holds the secrets (set
/// at spawn, not with `set_var` in a process whose other threads read the environment).
#[test]
fn a_child_does_not_inherit_the_parents_secrets() {
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args([
            "sandbox::secrets_probe",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(SECRETS.iter().copied())
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the probe did not run: {stdout}"
    );
}

/// The probe: a child of a parent that holds the secrets has none of them in its
/// /proc/<pid>/environ, but has what it needs. Run by the test above.
#[tokio::test]
#[ignore = "run by a_child_does_not_inherit_the_parents_secrets with the secrets set"]
async fn secrets_probe() {
    for (name, value) in SECRETS {
        assert_eq!(
            std::env::var(name).as_deref(),
            Ok(*value),
            "parent lacks {name}"
        );
    }
    let pool = pool(60);
    let r = pool
        .read(b"neither pdf nor image".to_vec(), ReadOptions::default())
        .await;
    assert!(matches!(r, Err(ReadError::Unsupported(_))), "{r:?}");
    let pid = *pool
        .idle_pids()
        .first()
        .expect("the child waits for the next document");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("child environ");
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    for (name, value) in SECRETS {
        assert!(
            !vars
                .iter()
                .any(|v| v.starts_with(&format!("{name}=")) || v.contains(value)),
            "{name} reached the child: {vars:?}"
        );
    }
    for needed in ["PATH=", "TMPDIR=", "OMP_THREAD_LIMIT=1"] {
        assert!(
            vars.iter().any(|v| v.starts_with(needed)),
            "{needed}: {vars:?}"
        );
    }
    pool.shutdown().await;
}

/// One page of 200,000 overlapping filled triangles: a few KiB compressed, and minutes of
/// rasterising for `pdftoppm` at 300 dpi (measured: over 60 s), so it is still rendering when
/// the sandbox's wall-clock limit stops the child.
fn slow_to_render_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut content = String::new();
    for i in 0..200_000u32 {
        let (x, y) = ((i * 37) % 595, (i * 91) % 842);
        content.push_str(&format!(
            "{x} {y} m {} {} l {x} {} l f\n",
            595 - x,
            842 - y,
            842 - y
        ));
    }
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut stream = Stream::new(dictionary! {}, content.into_bytes());
    stream.compress().expect("deflate");
    let content_id = doc.add_object(stream);
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// A process as /proc/<pid>/stat shows it.
#[derive(Debug)]
struct Proc {
    pid: u32,
    comm: String,
    state: char,
    ppid: u32,
    pgrp: u32,
}

fn processes() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat.get(open + 1..close)?.to_string();
            let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
            Some(Proc {
                pid,
                comm,
                state: rest.first()?.chars().next()?,
                ppid: rest.get(1)?.parse().ok()?,
                pgrp: rest.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// The pipes a process holds open, as "pipe:[inode]".
fn pipes(pid: &str) -> HashSet<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|l| l.to_string_lossy().into_owned())
        .filter(|l| l.starts_with("pipe:"))
        .collect()
}

/// The last argument of a process: pdftoppm's input file.
fn last_arg(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let arg = cmdline.split(|b| *b == 0).rfind(|a| !a.is_empty())?;
    Some(String::from_utf8_lossy(arg).into_owned())
}

#[tokio::test]
async fn a_timed_out_child_takes_pdftoppm_and_its_temp_file_with_it() {
    let before = pipes("self");
    let pool = std::sync::Arc::new(pool(4));
    let opts = ReadOptions {
        method: MethodChoice::Ocr,
        // pdftoppm's own per-page limit must not end it first.
        page_timeout_secs: 600,
        ..ReadOptions::default()
    };
    let reading = tokio::spawn({
        let pool = std::sync::Arc::clone(&pool);
        let pdf = slow_to_render_pdf();
        async move { pool.read(pdf, opts).await }
    });
    // The child's pdftoppm, found while the child reads (the read ends at the 4 s limit).
    let (child, helper) = loop {
        let child = pool.busy_pids().first().copied();
        let helper = child.and_then(|c| {
            processes()
                .into_iter()
                .find(|p| p.ppid == c && p.comm == "pdftoppm")
        });
        if let (Some(c), Some(h)) = (child, helper) {
            break (c, h);
        }
        assert!(
            !reading.is_finished(),
            "the read ended before pdftoppm was seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        helper.pgrp, child,
        "pdftoppm is in its child's process group"
    );
    // The protocol pipes: those the child shares with this process, which holds their other
    // ends, less the child's stderr (inherited pipes such as cargo's jobserver were already here
    // before the child started).
    let stderr = std::fs::read_link(format!("/proc/{child}/fd/2"))
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    let protocol: HashSet<String> = pipes(&child.to_string())
        .intersection(&pipes("self"))
        .filter(|p| !before.contains(*p) && **p != stderr)
        .cloned()
        .collect();
    assert_eq!(protocol.len(), 2, "stdin and stdout pipes: {protocol:?}");
    let held: Vec<String> = pipes(&helper.pid.to_string())
        .intersection(&protocol)
        .cloned()
        .collect();
    assert!(held.is_empty(), "pdftoppm holds protocol pipes {held:?}");
    let temp = last_arg(helper.pid).expect("pdftoppm's input file");
    assert!(std::path::Path::new(&temp).exists(), "{temp}");

    match reading.await.expect("read task") {
        Err(e @ ReadError::Timeout(_)) => assert!(e.killed_the_reader(), "{e}"),
        other => panic!("expected the wall-clock limit, got {other:?}"),
    }
    // SIGKILL is delivered asynchronously: give the kernel a moment to finish the group.
    let mut survivors = Vec::new();
    for _ in 0..500 {
        survivors = processes()
            .into_iter()
            .filter(|p| (p.pgrp == child || p.pid == helper.pid) && p.state != 'Z')
            .collect();
        if survivors.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(survivors.is_empty(), "still running: {survivors:?}");
    assert!(
        !std::path::Path::new(&temp).exists(),
        "{temp} was left behind"
    );
}
