//! `facteur ingest PATH…`: intake files (folders recursively), read them, print a summary table.
//! The same path `facteur demo` takes, and the one the ingest benchmark figures come from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::{init_logging, load_settings, table, Cli, CmdResult, Failure};
use crate::config::Settings;
use crate::domain::{DocumentId, DocumentState, Origin, RawDocument};
use crate::stages::intake::{self, IntakeError};
use crate::store::{IntakeOutcome, Store};
use crate::worker::{Processed, Worker};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders (folders are walked recursively; hidden and temporary files are skipped).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// No progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

/// One file's fate.
#[derive(Debug, Clone)]
pub struct Row {
    pub file: PathBuf,
    pub outcome: Result<IntakeOutcome, String>,
}

/// What an ingest run did, with timings.
#[derive(Debug)]
pub struct Report {
    pub rows: Vec<Row>,
    pub intake_time: Duration,
    pub read_time: Duration,
    pub jobs: usize,
}

/// Expands folders into their files, sorted, skipping ignored names.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let ignore = crate::sources::folder::ignore_set(&[]).ok();
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let name = p.file_name().map(PathBuf::from);
        let ignored = name
            .as_ref()
            .zip(ignore.as_ref())
            .is_some_and(|(n, g)| g.is_match(n));
        if p.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&p)
                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            children.sort();
            stack.extend(children.into_iter().rev());
        } else if !ignored || paths.contains(&p) {
            out.push(p);
        }
    }
    out
}

fn bar(len: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{what:>7} [{{bar:40}}] {{pos}}/{{len}} {{msg}}"))
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

async fn take(
    store: &dyn Store,
    settings: &Settings,
    file: &Path,
) -> Result<IntakeOutcome, String> {
    let len = std::fs::metadata(file)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    intake::check_size(len, &settings.intake)?;
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| format!("cannot read: {e}"))?;
    let raw = RawDocument {
        bytes,
        name: file
            .file_name()
            .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned()),
        origin: Origin::Cli {
            path: file.display().to_string(),
        },
    };
    intake::accept(store, &raw, &settings.intake)
        .await
        .map_err(|e| match e {
            IntakeError::Rejected(r) => r,
            IntakeError::Store(s) => format!("not stored: {s}"),
        })
}

/// Intake every file, then run the stages until the queue is empty.
pub async fn ingest(
    settings: &Settings,
    store: Arc<dyn Store>,
    files: &[PathBuf],
    quiet: bool,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let pb = bar(files.len(), "intake", quiet);
    let mut rows = Vec::with_capacity(files.len());
    for f in files {
        pb.set_message(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        rows.push(Row {
            file: f.clone(),
            outcome: take(store.as_ref(), settings, f).await,
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    let intake_time = started.elapsed();

    let started = Instant::now();
    let queued = store.counts().await?.jobs("queued") as usize;
    let worker = Arc::new(Worker::new(settings, store.clone()));
    let pb = bar(queued, "read", quiet);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..settings.read.sandbox_config().workers.max(1) {
        let (worker, pb) = (worker.clone(), pb.clone());
        tasks.spawn(async move {
            let mut n = 0usize;
            loop {
                match worker.try_process_next().await? {
                    Processed::Idle => return anyhow::Ok(n),
                    _ => {
                        n += 1;
                        pb.inc(1);
                    }
                }
            }
        });
    }
    let mut jobs = 0;
    while let Some(r) = tasks.join_next().await {
        jobs += r??;
    }
    pb.finish_and_clear();
    Ok(Report {
        rows,
        intake_time,
        read_time: started.elapsed(),
        jobs,
    })
}

/// The summary table, with each document's state now; and whether anything failed.
pub async fn summary(store: &dyn Store, report: &Report) -> anyhow::Result<(String, bool)> {
    let mut failed = false;
    let mut rows = Vec::new();
    for r in &report.rows {
        let file = r.file.file_name().map_or_else(
            || r.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match &r.outcome {
            Err(reason) => {
                failed = true;
                rows.push(vec![
                    file,
                    "—".into(),
                    "refused".into(),
                    reason.clone(),
                    String::new(),
                    String::new(),
                ]);
            }
            Ok(o) => {
                let id: DocumentId = o.document();
                let d = store.document(id).await?.summary;
                failed |= d.state == DocumentState::Failed;
                let arrival = if matches!(o, IntakeOutcome::Created(_)) {
                    "new"
                } else {
                    "known"
                };
                let detail = match d.state {
                    DocumentState::Failed | DocumentState::NeedsReview => {
                        d.reason.clone().unwrap_or_default()
                    }
                    _ => d.invoice_number.clone().unwrap_or_default(),
                };
                let total = d
                    .total_gross
                    .map(|g| format!("{g} {}", d.currency.unwrap_or_default()))
                    .unwrap_or_default();
                rows.push(vec![
                    file,
                    id.to_string(),
                    arrival.into(),
                    d.state.to_string(),
                    detail,
                    total,
                ]);
            }
        }
    }
    let mut out = table::render(
        &["FILE", "ID", "ARRIVAL", "STATE", "NUMBER / REASON", "TOTAL"],
        &rows,
        4,
        100,
    );
    let n = report.rows.len();
    let secs = (report.intake_time + report.read_time)
        .as_secs_f64()
        .max(1e-9);
    out.push_str(&format!(
        "\n{n} file(s): intake {:.2} s, read {:.2} s ({} job(s)); {:.1} documents/second overall\n",
        report.intake_time.as_secs_f64(),
        report.read_time.as_secs_f64(),
        report.jobs,
        n as f64 / secs
    ));
    Ok((out, failed))
}

pub async fn run(cli: &Cli, args: &Args) -> CmdResult {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| Failure::Other(e.into()))?;
    let files = expand(&args.paths);
    if files.is_empty() {
        return Err(Failure::Config("no files found in the given paths".into()));
    }
    let report = ingest(&settings, store.clone(), &files, args.quiet).await?;
    let (text, failed) = summary(store.as_ref(), &report).await?;
    out!("{text}");
    if failed {
        Err(Failure::Partial)
    } else {
        Ok(())
    }
}
