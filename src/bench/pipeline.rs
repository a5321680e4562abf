//! `facteur bench pipeline`: end-to-end throughput of `facteur run` worker processes sharing one
//! database. N generated text invoices (distinct numbers, 20 suppliers that an approval rule trusts,
//! so each goes folder → read → dedupe → approval (automatic) → post) are renamed into the watched
//! folder at once; the run ends when every one is posted. Printed per setup (SQLite with one
//! worker; PostgreSQL with 1, 2 and 4 when $FACTEUR_BENCH_PG or $FACTEUR_TEST_PG names a server):
//! documents per second end to end, p50/p99 latency per stage from the documents' event history
//! (a stage's latency includes its wait in the queue), and the CPU seconds of the workers (with
//! their reader children) and of PostgreSQL against what the machine had, to say where it
//! saturates. Figures are printed, never asserted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::cluster::{context_switches, cpu_seconds, machine_jiffies, Cluster, Database, Options};
use crate::domain::{DocumentState, Stage};

/// Default number of invoices per setup: the four setups take about two minutes on two cores.
pub const DEFAULT_COUNT: usize = 150;

/// Which setups to run and how (`facteur bench pipeline` flags).
#[derive(Debug, Clone)]
pub struct Setup {
    /// Invoices per setup.
    pub count: usize,
    /// Only this backend's setups; None: SQLite, and PostgreSQL when a server is named.
    pub backend: Option<Backend>,
    /// Only setups with this many workers.
    pub workers: Option<usize>,
    /// Keep each setup's workspace (database and worker logs).
    pub keep: bool,
}

/// A backend, as `--backend` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The column order of stage latencies.
const STAGES: [&str; 6] = ["folder", "read", "dedupe", "approve", "post", "end to end"];

/// One setup's figures.
struct Figures {
    backend: &'static str,
    workers: usize,
    documents: usize,
    seconds: f64,
    /// Per stage: sorted latencies in seconds.
    latencies: BTreeMap<&'static str, Vec<f64>>,
    worker_cpu: f64,
    postgres_cpu: f64,
    /// Context switches of the workers' threads and reader children, per document.
    switches_per_doc: f64,
    /// The machine's CPU busy over the run, in cores (2.0 = both cores busy all the time).
    machine_cores: f64,
}

/// Runs every setup with `count` invoices and prints the table.
pub async fn run(setup: &Setup, pg_admin: Option<&str>) -> anyhow::Result<()> {
    let program = std::env::current_exe().context("finding the facteur executable")?;
    let count = setup.count.max(1);
    let wanted = |b: Backend, workers: usize| {
        setup.backend.is_none_or(|x| x == b) && setup.workers.is_none_or(|w| w == workers)
    };
    let mut setups = Vec::new();
    if wanted(Backend::Sqlite, 1) {
        setups.push((Database::Sqlite, 1));
    }
    match pg_admin {
        Some(admin) => {
            for workers in [1, 2, 4]
                .into_iter()
                .filter(|w| wanted(Backend::Postgres, *w))
            {
                let admin = admin.to_string();
                setups.push((Database::Postgres { admin }, workers));
            }
        }
        None if setup.backend == Some(Backend::Postgres) => anyhow::bail!(
            "--backend postgres needs a server: set FACTEUR_BENCH_PG or FACTEUR_TEST_PG to its \
             admin URL"
        ),
        None if setup.backend.is_none() => println!(
            "(PostgreSQL skipped: set FACTEUR_BENCH_PG or FACTEUR_TEST_PG to a server's admin URL)"
        ),
        None => {}
    }
    anyhow::ensure!(
        !setups.is_empty(),
        "no setup matches: SQLite runs with 1 worker, PostgreSQL with 1, 2 or 4"
    );
    println!(
        "pipeline end to end: {count} text invoices renamed into a watched folder at once; \
         folder → read → dedupe → approval (automatic rule) → post; each worker process runs {} \
         stage loops, each with its reader child\n",
        Options::default().concurrency
    );
    let mut rows = Vec::new();
    for (db, workers) in setups {
        let dir = tempfile::tempdir().context("temp dir for the workspace")?;
        let f = measure(&program, dir.path(), &db, workers, count).await?;
        print_row(&f, rows.is_empty());
        if setup.keep {
            println!("           workspace kept in {}", dir.keep().display());
        }
        rows.push(f);
    }
    println!(
        "\nlatencies in seconds (p50/p99), from the documents' event history: a stage's latency \
         runs from the previous state change to its own, so it includes the wait in the queue; \
         `folder` runs from the drop to the document's commit (1 s stability wait included).\n\
         CPU: seconds used by the workers (with their reader children) and by PostgreSQL; \
         `busy` is the machine's use over the run in cores, of {}; `cs/doc`: context switches \
         of the workers' threads and reader children per document.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn print_row(f: &Figures, header: bool) {
    if header {
        let stages: Vec<String> = STAGES.iter().map(|s| format!("{s:>13}")).collect();
        println!(
            "{:<10} {:>7} {:>5} {:>7} {:>7} {} {:>8} {:>8} {:>6} {:>7}",
            "backend",
            "workers",
            "docs",
            "seconds",
            "docs/s",
            stages.join(" "),
            "cpu wkr",
            "cpu pg",
            "busy",
            "cs/doc"
        );
    }
    let cells: Vec<String> = STAGES
        .iter()
        .map(|s| {
            let v = f.latencies.get(s).map_or(&[][..], Vec::as_slice);
            format!(
                "{:>13}",
                format!("{:.2}/{:.2}", percentile(v, 0.5), percentile(v, 0.99))
            )
        })
        .collect();
    println!(
        "{:<10} {:>7} {:>5} {:>7.1} {:>7.1} {} {:>8.1} {:>8.1} {:>6.2} {:>7.0}",
        f.backend,
        f.workers,
        f.documents,
        f.seconds,
        f.documents as f64 / f.seconds.max(1e-9),
        cells.join(" "),
        f.worker_cpu,
        f.postgres_cpu,
        f.machine_cores,
        f.switches_per_doc
    );
}

/// The stage that moves a document out of `from` (its latency is the time spent in `from`).
fn stage_name(from: Option<DocumentState>) -> Option<&'static str> {
    match from.and_then(crate::stages::next_after)? {
        Stage::Read => Some("read"),
        Stage::Dedupe => Some("dedupe"),
        Stage::Route | Stage::Approve => Some("approve"),
        Stage::Post => Some("post"),
        Stage::Export => None,
    }
}

/// One setup: workspace, invoices, workers, the drop, the wait, the figures.
async fn measure(
    program: &Path,
    dir: &Path,
    db: &Database,
    workers: usize,
    count: usize,
) -> anyhow::Result<Figures> {
    let opts = Options::default();
    let mut cluster = Cluster::create(program, dir, db, &opts).await?;
    let store = cluster.store().await?;
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging)?;
    for n in 0..count {
        std::fs::write(
            staging.join(format!("invoice-{n:06}.pdf")),
            crate::testing::stream_invoice(n, opts.suppliers),
        )?;
    }
    for i in 0..workers {
        cluster.start(i)?;
    }
    // Ready when a worker holds the folder's lease; a moment more for the others to start.
    let ready = Instant::now();
    while store.lease_owners().await?.is_empty() {
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(120),
            "no worker took the folder within 2 minutes: see the logs in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pids = cluster.pids();
    let (cpu0, pg0) = cpu_seconds(&pids);
    let switches0 = context_switches(&pids);
    let (busy0, total0) = machine_jiffies();
    let dropped: DateTime<Utc> = crate::domain::now_micros();
    for n in 0..count {
        let name = format!("invoice-{n:06}.pdf");
        std::fs::rename(staging.join(&name), cluster.inbox.join(&name))?;
    }
    // Until every invoice is posted; a stall (nothing moves for 2 minutes) ends it with the counts.
    let (mut last, mut moved) = (String::new(), Instant::now());
    loop {
        let c = store.counts().await?;
        if c.state(DocumentState::Posted) >= count as i64 {
            break;
        }
        let now = format!("{:?}", c.by_state);
        if now != last {
            (last, moved) = (now, Instant::now());
        }
        anyhow::ensure!(
            moved.elapsed() < Duration::from_secs(120),
            "the pipeline stalled with {count} invoices dropped: documents by state {last}, jobs \
             {:?}; see the worker logs in {}",
            c.jobs_by_status,
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (cpu1, pg1) = cpu_seconds(&pids);
    let switches1 = context_switches(&pids);
    let (busy1, total1) = machine_jiffies();
    cluster.stop_all(Duration::from_secs(30));

    let mut latencies: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut last_posted = dropped;
    let secs =
        |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6;
    for summary in store.list_documents(None, count as u32 + 10).await? {
        let record = store.document(summary.id).await?;
        let mut prev: Option<DateTime<Utc>> = None;
        for e in &record.events {
            let name = match e.from_state {
                None => Some("folder"),
                from => stage_name(from),
            };
            let since = prev.unwrap_or(dropped);
            if let Some(name) = name {
                latencies.entry(name).or_default().push(secs(since, e.at));
            }
            if e.to_state == DocumentState::Posted {
                latencies
                    .entry("end to end")
                    .or_default()
                    .push(secs(dropped, e.at));
                last_posted = last_posted.max(e.at);
            }
            prev = Some(e.at);
        }
    }
    for v in latencies.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let figures = Figures {
        backend: match db {
            Database::Sqlite => "sqlite",
            Database::Postgres { .. } => "postgresql",
        },
        workers,
        documents: count,
        seconds: secs(dropped, last_posted),
        latencies,
        worker_cpu: cpu1 - cpu0,
        postgres_cpu: pg1 - pg0,
        switches_per_doc: switches1.saturating_sub(switches0) as f64 / count.max(1) as f64,
        machine_cores: cores * (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64,
    };
    drop(store);
    cluster.finish().await?;
    Ok(figures)
}
