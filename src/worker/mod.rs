//! The runtime: sources feeding intake, stage workers draining the queue, and the lease reaper,
//! until shutdown. `Worker::try_process_next` handles one job and says `Idle` when there is none,
//! so tests and `facteur ingest` can drain the queue synchronously.
//!
//! A completion that queues the document's next stage hands that job, already claimed, back to
//! this worker (`complete_and_take`): it is kept in `carried` and runs next, without a claim of
//! its own, so a document usually goes through every stage in one loop.
//!
//! Graceful shutdown: sources stop taking files; each in-flight job gets `shutdown_grace` to finish,
//! then is released back to the queue untouched (never left leased to a stopped worker).
//! At start-up, `recovery` takes back what dead processes of this host left leased.
//!
//! Several workers may share one PostgreSQL: jobs are claimed with `SKIP LOCKED` under leases,
//! each source takes a named lease (one taker per folder and per mailbox), and each scheduler
//! ticks under its own named lease (`periodically_alone`), so it runs in exactly one worker.

pub mod identity;
pub mod recovery;
pub mod recurring;
pub mod reminders;
pub mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::Stage;
use crate::read::sandbox::SandboxPool;
use crate::sources::{self, SourceContext};
use crate::stages::{self, StageContext, StageError};
use crate::store::queue::FailureKind;
use crate::store::{Job, JobFate, RetryPolicy, Store, StoreError, Transition};

/// What one call to `try_process_next` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Processed {
    Done {
        document: crate::domain::DocumentId,
        stage: Stage,
        state: crate::domain::DocumentState,
    },
    Retried {
        error: String,
    },
    Dead {
        error: String,
    },
    /// Another worker took the job over (our lease expired).
    Lost,
    /// The document had moved on without this job; the job was retired, the document untouched.
    Stale,
    Idle,
}

/// The `/metrics` outcome of a run; None for a job released at shutdown.
fn outcome_name(p: &Processed) -> Option<&'static str> {
    match p {
        Processed::Done { .. } => Some("done"),
        Processed::Retried { .. } => Some("retried"),
        Processed::Dead { .. } => Some("dead"),
        Processed::Lost | Processed::Stale => Some("lost"),
        Processed::Idle => None,
    }
}

pub struct Worker {
    pub id: String,
    pub ctx: Arc<StageContext>,
    pub lease: Duration,
    pub retry: RetryPolicy,
    pub stages: Vec<Stage>,
    /// Jobs this worker already holds (born claimed by a completion), run before claiming more.
    carried: std::sync::Mutex<Vec<Job>>,
}

/// Approval policies by pipeline and link settings, from the configuration.
pub fn routing(settings: &Settings) -> crate::approval::Routing {
    let pipelines = settings
        .loaded_pipelines
        .iter()
        .map(|p| {
            let sources = p.sources.iter().map(|s| s.name().to_string()).collect();
            (sources, p.approval.clone())
        })
        .collect();
    let max_mb = settings.smtp.as_ref().map_or(10, |s| s.max_attachment_mb);
    crate::approval::Routing::new(
        pipelines,
        crate::approval::LinkSettings {
            public_url: settings.web.base_url().to_string(),
            valid_days: settings.web.link_days,
            default_lang: settings.web.lang,
            max_attachment_bytes: max_mb.saturating_mul(1 << 20),
        },
    )
}

/// Runs `pass` now and then every `every` until `shutdown` (the outbox sender, the approval
/// scheduler).
pub async fn periodically<F, Fut>(every: Duration, shutdown: CancellationToken, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    while !shutdown.is_cancelled() {
        pass().await;
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// A receivables pass of `facteur run` (reminders, recurring billing): `pass` for today, every
/// `[reminders] every_minutes`, in the one worker holding `lease`. The store already makes each
/// reminder and each billed period once; the lease keeps workers from racing for them.
pub(crate) async fn daily_pass<F, Fut>(
    store: Arc<dyn Store>,
    settings: &Settings,
    lease: &str,
    owner: &str,
    shutdown: CancellationToken,
    mut pass: F,
) where
    F: FnMut(chrono::NaiveDate) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let every = Duration::from_secs(settings.reminders.every_minutes.max(1) * 60);
    periodically_alone(store, lease, owner, every, every * 3, shutdown, || {
        pass(chrono::Local::now().date_naive())
    })
    .await
}

/// Runs `pass` every `every` like `periodically`, but only while this process holds the named
/// lease `lease` (store/leases.rs): with several `facteur run` on one database, a scheduler's tick
/// runs in exactly one of them at a time. The lease lasts `ttl` (longer than `every`, so the
/// holder keeps it from one tick to the next) and is renewed every `ttl / 3` while a long pass
/// runs. When the holder dies the lease expires and the next worker to try takes over (at once
/// for a restart on the same host: start-up recovery drops a gone process's leases). At shutdown
/// the lease is released so another worker takes over on its next tick.
pub async fn periodically_alone<F, Fut>(
    store: Arc<dyn Store>,
    lease: &str,
    owner: &str,
    every: Duration,
    ttl: Duration,
    shutdown: CancellationToken,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let ttl = ttl.max(every + Duration::from_secs(1));
    while !shutdown.is_cancelled() {
        match store.try_lease(lease, owner, ttl).await {
            Ok(true) => {
                let work = pass();
                tokio::pin!(work);
                loop {
                    tokio::select! {
                        _ = &mut work => break,
                        _ = tokio::time::sleep(ttl / 3) => {
                            if let Err(e) = store.try_lease(lease, owner, ttl).await {
                                tracing::warn!(%lease, error = %e, "cannot renew the scheduler lease");
                            }
                        }
                    }
                }
            }
            Ok(false) => tracing::debug!(%lease, "another worker runs this scheduler"),
            Err(e) => {
                tracing::warn!(%lease, error = %e, "cannot take the scheduler lease; store unavailable?")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
    if let Err(e) = store.release_lease(lease, owner).await {
        tracing::warn!(%lease, error = %e, "cannot release the scheduler lease; it will expire");
    }
}

/// The reader children of a `facteur run`: `read.sandbox_workers` when set, otherwise one per
/// stage loop (`worker.concurrency`): a loop reads one document at a time, so more would idle and
/// fewer would keep loops waiting for a reader while the cores have room.
pub fn reader_pool(settings: &Settings) -> crate::read::sandbox::SandboxConfig {
    let mut cfg = settings.read.sandbox_config();
    if settings.read.sandbox_workers == 0 {
        cfg.workers = settings.worker.concurrency.max(1);
    }
    cfg
}

/// This process's lease owner name (`host:pid:pidns`); see `identity`.
pub fn worker_id() -> String {
    identity::WorkerId::current().to_string()
}

impl Worker {
    pub fn new(settings: &Settings, store: Arc<dyn Store>) -> Worker {
        // The recorder first, so the first runs are measured too.
        crate::metrics::handle();
        Worker {
            id: worker_id(),
            ctx: Arc::new(StageContext {
                store,
                sandbox: SandboxPool::new(reader_pool(settings)),
                read_options: settings.read_options(),
                review_threshold: settings.read.review_threshold,
                dedupe: settings.dedupe.thresholds(),
                company: settings.company.clone(),
                routing: routing(settings),
            }),
            lease: Duration::from_secs(settings.worker.lease_secs.max(5)),
            retry: RetryPolicy {
                max_attempts: settings.worker.max_attempts.max(1),
                backoff: Duration::from_secs(settings.worker.backoff_secs),
                max_crashes: 2,
                max_takebacks: settings.worker.max_takebacks.max(1),
            },
            stages: stages::BUILT.to_vec(),
            carried: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A job this worker already holds, if any.
    fn take_carried(&self) -> Option<Job> {
        self.carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    fn carry(&self, job: Job) {
        self.carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(job);
    }

    /// The next job to run: one already held, else the oldest runnable one claimed now.
    async fn next_job(&self) -> Result<Option<Job>, StoreError> {
        if let Some(job) = self.take_carried() {
            return Ok(Some(job));
        }
        self.ctx
            .store
            .claim_job(&self.id, &self.stages, self.lease)
            .await
    }

    /// Gives back, untouched, the jobs held but not started (shutdown).
    async fn release_carried(&self) {
        while let Some(job) = self.take_carried() {
            if let Err(e) = self.ctx.store.release_job(&job).await {
                tracing::warn!(error = %e, job = job.id, "cannot release a held job; its lease will expire");
            }
        }
    }

    /// Claims and runs one job; `Idle` when none is runnable.
    pub async fn try_process_next(&self) -> Result<Processed, StoreError> {
        self.step(false).await
    }

    /// Runs one job; with `chain`, a next stage its completion queues is kept claimed for this
    /// worker (the caller must go on until `Idle`, or release what is carried).
    async fn step(&self, chain: bool) -> Result<Processed, StoreError> {
        let Some(job) = self.next_job().await? else {
            return Ok(Processed::Idle);
        };
        self.process(job, None, chain).await
    }

    /// Runs a claimed job, renewing its lease meanwhile; on shutdown (after the grace period)
    /// releases it instead. With `chain`, the next stage's job is kept claimed (`carried`).
    async fn process(
        &self,
        job: Job,
        shutdown: Option<(&CancellationToken, Duration)>,
        chain: bool,
    ) -> Result<Processed, StoreError> {
        let store = self.ctx.store.clone();
        let renew = {
            let (store, job, lease) = (store.clone(), job.clone(), self.lease);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.renew_lease(&job, lease).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => tracing::warn!(error = %e, job = job.id, "cannot renew lease"),
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let work = stages::run(&self.ctx, &job);
        let result = match shutdown {
            None => Some(work.await),
            Some((token, grace)) => {
                tokio::pin!(work);
                tokio::select! {
                    r = &mut work => Some(r),
                    _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => None,
                }
            }
        };
        renew.abort();
        let outcome = self.finish(job.clone(), result, chain).await?;
        if let Some(o) = outcome_name(&outcome) {
            crate::metrics::stage_ran(job.stage, o, started.elapsed().as_secs_f64());
        }
        Ok(outcome)
    }

    /// Records a stage's result (or releases the job at shutdown).
    async fn finish(
        &self,
        job: Job,
        result: Option<Result<Transition, StageError>>,
        chain: bool,
    ) -> Result<Processed, StoreError> {
        let store = &self.ctx.store;
        let outcome = match result {
            None => {
                store.release_job(&job).await?;
                tracing::info!(job = job.id, document = %job.document, "released at shutdown");
                return Ok(Processed::Idle);
            }
            Some(Ok(t)) => {
                let state = t.to;
                let completed = if chain {
                    store
                        .complete_and_take(&job, t, &self.stages, self.lease)
                        .await
                } else {
                    store.complete_job(&job, t).await.map(|()| None)
                };
                match completed {
                    Ok(next) => {
                        if let Some(next) = next {
                            self.carry(next);
                        }
                        Processed::Done {
                            document: job.document,
                            stage: job.stage,
                            state,
                        }
                    }
                    Err(StoreError::Conflict(msg)) => {
                        tracing::warn!(%msg, "lease lost; result dropped, the new holder will redo it");
                        Processed::Lost
                    }
                    Err(StoreError::Busy(msg)) => {
                        // Nothing was written: the job goes back untouched (not counted: the
                        // document did nothing wrong) and runs again with what changed in view.
                        tracing::info!(%msg, job = job.id, "stage ran on data that changed; again");
                        store.release_job(&job).await?;
                        Processed::Retried { error: msg }
                    }
                    Err(StoreError::Stale(msg)) => {
                        tracing::error!(%msg, job = job.id, "stale job retired; the document was not moved");
                        Processed::Stale
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(Err(e)) => {
                let error = e.to_string();
                let kind = match e {
                    StageError::ReaderDied(_) => FailureKind::ReaderDied,
                    StageError::Store(_) => {
                        tracing::warn!(%error, "store error during stage");
                        FailureKind::Transient
                    }
                    StageError::Retryable(_) => FailureKind::Transient,
                };
                match store.fail_job(&job, &error, kind, self.retry).await {
                    Ok(JobFate::Retry { at }) => {
                        tracing::warn!(%error, retry_at = %at, document = %job.document, "stage failed; will retry");
                        Processed::Retried { error }
                    }
                    Ok(JobFate::Dead) => {
                        tracing::error!(%error, document = %job.document, "stage gave up");
                        Processed::Dead { error }
                    }
                    Err(StoreError::Conflict(_)) => Processed::Lost,
                    Err(e) => return Err(e),
                }
            }
        };
        Ok(outcome)
    }

    /// Processes jobs until the queue is empty (for `ingest` and tests). Returns how many ran.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            match self.step(true).await {
                Ok(Processed::Idle) => return Ok(n),
                Ok(_) => n += 1,
                Err(e) => {
                    self.release_carried().await;
                    return Err(e);
                }
            }
        }
    }

    /// One processing loop until shutdown.
    async fn run_loop(
        self: Arc<Self>,
        shutdown: CancellationToken,
        poll: Duration,
        grace: Duration,
    ) {
        let mut queued = self.ctx.store.job_signal();
        while !shutdown.is_cancelled() {
            // Seen before looking: a job committed after this look wakes the wait below.
            queued.borrow_and_update();
            let claimed = match self.next_job().await {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim jobs; retrying");
                    None
                }
            };
            match claimed {
                Some(job) => {
                    if let Err(e) = self.process(job, Some((&shutdown, grace)), true).await {
                        tracing::error!(error = %e, "job bookkeeping failed; its lease will expire and it will be retried");
                    }
                }
                None => {
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = crate::store::wake::idle_wait(&mut queued, poll) => {}
                    }
                }
            }
        }
        self.release_carried().await;
    }
}

/// The approval side of `facteur run`: the web server for approval links, the outbox sender
/// (when `[smtp]` is configured), the reminder/escalation scheduler, and the customer reminder
/// and recurring billing passes (every `[reminders] every_minutes`).
async fn spawn_approvals(
    settings: &Settings,
    store: &Arc<dyn Store>,
    worker: &Worker,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<()> {
    // A port already taken must not stop intake and reading: the pages are one way in of many.
    match crate::web::bind(&settings.web.listen).await {
        Ok(listener) => {
            let state = crate::web::WebState::from_workspace(store.clone(), settings);
            let stop = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) = crate::web::serve(listener, state, stop).await {
                    tracing::error!(error = %format!("{e:#}"), "the approval web server stopped");
                }
            });
        }
        Err(e) => tracing::error!(
            error = %format!("{e:#}"),
            "approval links will not answer until `facteur serve` or a restart can listen"
        ),
    }
    match &settings.smtp {
        Some(smtp) => {
            let sender = crate::notify::SmtpSender::build(smtp, &settings.base_dir)?;
            let every = Duration::from_secs(5);
            tasks.spawn(crate::notify::sender::run(
                store.clone(),
                sender,
                every,
                shutdown.clone(),
            ));
        }
        None => tracing::warn!("no [smtp] section: approval mail waits in the outbox"),
    }
    let shared = Arc::new(settings.clone());
    if settings.reminders.enabled {
        tasks.spawn(reminders::run_loop(
            store.clone(),
            shared.clone(),
            worker.id.clone(),
            shutdown.clone(),
        ));
    }
    tasks.spawn(recurring::run_loop(
        store.clone(),
        shared,
        worker.id.clone(),
        shutdown.clone(),
    ));
    let routing = worker.ctx.routing.clone();
    let every = Duration::from_secs(60);
    tasks.spawn(scheduler::run(
        store.clone(),
        routing,
        worker.id.clone(),
        every,
        shutdown.clone(),
    ));
    Ok(())
}

/// `facteur run`: every configured source, `worker.concurrency` stage loops and the reaper, until
/// `shutdown` is cancelled (Ctrl-C / SIGTERM).
pub async fn run(
    settings: &Settings,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let worker = Arc::new(Worker::new(settings, store.clone()));
    let me = identity::WorkerId::current();
    match recovery::recover(store.as_ref(), &me, &worker.stages, worker.retry).await {
        Ok(r) if r.owners.is_empty() && r.backfilled == 0 => {}
        Ok(r) => tracing::info!(
            gone = ?r.owners,
            jobs = r.jobs,
            backfilled = r.backfilled,
            "start-up recovery: took back the leases of gone processes of this host"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "start-up recovery failed; leases will expire instead")
        }
    }
    let poll = Duration::from_millis(settings.worker.poll_interval_ms.max(50));
    let grace = Duration::from_secs(30);
    let mut tasks = tokio::task::JoinSet::new();
    let ctx = SourceContext {
        store: store.clone(),
        intake: settings.intake.clone(),
        worker_id: worker.id.clone(),
        shutdown: shutdown.clone(),
    };
    for pipeline in &settings.loaded_pipelines {
        for cfg in &pipeline.sources {
            let source = sources::build(cfg);
            let (ctx, name) = (ctx.clone(), source.name().to_string());
            tasks.spawn(async move {
                if let Err(e) = source.run(ctx).await {
                    tracing::error!(source = %name, error = %format!("{e:#}"), "source stopped with an error");
                }
            });
        }
    }
    for _ in 0..settings.worker.concurrency.max(1) {
        tasks.spawn(worker.clone().run_loop(shutdown.clone(), poll, grace));
    }
    let (reaper_store, reaper_stop, retry) = (store.clone(), shutdown.clone(), worker.retry);
    let reap_every = (worker.lease / 4).max(Duration::from_secs(1));
    tasks.spawn(async move {
        loop {
            match reaper_store.reap_expired(retry).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "reaped expired leases"),
                Err(e) => tracing::warn!(error = %e, "reaper failed"),
            }
            tokio::select! {
                _ = reaper_stop.cancelled() => break,
                _ = tokio::time::sleep(reap_every) => {}
            }
        }
    });
    spawn_approvals(settings, &store, &worker, &shutdown, &mut tasks).await?;
    tracing::info!(worker = %worker.id, "facteur running");
    while tasks.join_next().await.is_some() {}
    tracing::info!("facteur stopped");
    Ok(())
}
