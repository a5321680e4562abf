//! What `/metrics` says, in the Prometheus text format. Two kinds of series, all named
//! `facteur_…` and all present from the first scrape (at zero):
//! - measured in this process as work happens (the `metrics` facade, one recorder per process):
//!   stage latency histograms and outcomes, documents read by method (XML, text layer, OCR);
//! - read from the store at each scrape, so every worker's view agrees with the database:
//!   documents by state, queue depth and oldest job age by stage, the outbox, open approval
//!   requests and the age of the oldest.
//!
//! With several `facteur run` processes, scrape each: the store gauges repeat, the histograms add.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::domain::{DocumentState, Method, Stage};
use crate::store::metrics::Gauges;

pub const STAGE_SECONDS: &str = "facteur_stage_duration_seconds";
pub const STAGE_RUNS: &str = "facteur_stage_runs_total";
pub const READ: &str = "facteur_documents_read_total";

/// Buckets of the stage latency histogram, in seconds: a text PDF is read in milliseconds, a
/// scanned one in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// What a stage run ended with.
pub const OUTCOMES: [&str; 4] = ["done", "retried", "dead", "lost"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder (installed on first use; a second install in one process, as in
/// tests, reuses the first) with every series described and at zero.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows ours only");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        STAGE_SECONDS,
        metrics::Unit::Seconds,
        "Time a stage took on one document, by stage"
    );
    metrics::describe_counter!(STAGE_RUNS, "Stage runs by stage and outcome");
    metrics::describe_counter!(READ, "Documents read, by method (xml, text, ocr)");
    for stage in crate::stages::BUILT {
        for outcome in OUTCOMES {
            metrics::counter!(STAGE_RUNS, "stage" => stage.as_str(), "outcome" => outcome)
                .increment(0);
        }
    }
    for m in [Method::Xml, Method::Text, Method::Ocr] {
        metrics::counter!(READ, "method" => m.as_str()).increment(0);
    }
}

/// Records one stage run.
pub fn stage_ran(stage: Stage, outcome: &'static str, seconds: f64) {
    metrics::histogram!(STAGE_SECONDS, "stage" => stage.as_str()).record(seconds);
    metrics::counter!(STAGE_RUNS, "stage" => stage.as_str(), "outcome" => outcome).increment(1);
}

/// Records a document read.
pub fn read(method: Method) {
    metrics::counter!(READ, "method" => method.as_str()).increment(1);
}

/// The scrape: the process's series, then the store's gauges.
pub fn render(g: &Gauges) -> String {
    let mut out = handle().render();
    let mut gauge = |name: &str, help: &str, rows: Vec<(String, f64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in rows {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    let by = |k: &str, v: &str| format!("{{{k}=\"{v}\"}}");
    gauge(
        "facteur_documents",
        "Documents by state",
        DocumentState::ALL
            .iter()
            .map(|s| (by("state", s.as_str()), g.documents(*s) as f64))
            .collect(),
    );
    gauge(
        "facteur_queue_depth",
        "Jobs queued (runnable or waiting to retry) by stage",
        crate::stages::BUILT
            .iter()
            .map(|s| (by("stage", s.as_str()), g.queued(*s) as f64))
            .collect(),
    );
    gauge(
        "facteur_queue_oldest_job_age_seconds",
        "Age of the oldest queued job by stage (0 when none)",
        crate::stages::BUILT
            .iter()
            .map(|s| (by("stage", s.as_str()), g.oldest_queued_seconds(*s)))
            .collect(),
    );
    gauge(
        "facteur_jobs_dead",
        "Jobs that gave up (their document failed)",
        vec![(String::new(), g.dead_jobs as f64)],
    );
    gauge(
        "facteur_outbox_pending",
        "Mail waiting to be sent",
        vec![(String::new(), g.outbox_pending as f64)],
    );
    gauge(
        "facteur_outbox_failing",
        "Mail whose last delivery attempt failed",
        vec![(String::new(), g.outbox_failing as f64)],
    );
    gauge(
        "facteur_mail_messages_failing",
        "Mail messages that could not be taken in (they wait for a person)",
        vec![(String::new(), g.mail_failing as f64)],
    );
    gauge(
        "facteur_approval_requests_open",
        "Approval requests waiting for an answer",
        vec![(String::new(), g.approvals_open as f64)],
    );
    gauge(
        "facteur_approval_oldest_open_seconds",
        "Age of the oldest approval request waiting (0 when none)",
        vec![(String::new(), g.approval_oldest_seconds)],
    );
    out
}
