//! IMAP source: each configured account's folders, every attachment delivered exactly once.
//!
//! Exactly once rests on three things. (1) One worker per account at a time: the store's named
//! lease `imap:<source>` (two machines never poll one mailbox together). (2) A message is recorded,
//! keyed on (account, folder, UIDVALIDITY, UID), in the same transaction as its documents, and only
//! unrecorded UIDs are fetched; a second writer finds the row and rolls back. (3) The mailbox is
//! changed only after the commit, and an owed action survives a crash in the store
//! (`action_pending`). Content hashes cover the rest: known bytes become re-arrivals.
//!
//! New mail: one IDLE connection per folder (idle.rs), up to `idle_max_connections`, wakes the
//! fetching session within seconds; folders past the cap, or on a server without IDLE, are polled
//! every `poll_interval_secs`; every folder is still checked every `full_check_secs`. The fetching
//! session renews the lease (and sends NOOP) every third of it while it waits.
//!
//! A failing connection waits `backoff_secs`, doubling up to 10 minutes, and the schedule is kept
//! in the store (`mail_accounts.retry_at`): a restarted worker, or another machine taking the
//! lease, waits it out instead of hammering the server.

mod actions;
mod config;
mod connection;
mod diagnose;
mod fetch;
mod idle;
pub mod mime;
pub mod oauth2;
mod prepare;
pub mod unzip;
mod utf7;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use actions::{uid_set, FAILED_KEYWORD};
pub use config::{ActionKind, CompiledRules, FolderRules, ImapConfig, OAuth2Config, Security};
pub use connection::{ConnectError, Credentials, Secret};
pub use diagnose::diagnose;
pub use fetch::CheckReport;

use super::{Source, SourceContext};
use actions::Caps;
use connection::Session;
use fetch::Account;

/// Logs in with a password, or an OAuth2 access token refreshed as needed.
async fn credentials(cfg: &ImapConfig, ctx: &SourceContext) -> anyhow::Result<Credentials> {
    match &cfg.oauth2 {
        Some(o) => {
            let token = oauth2::access_token(o, &cfg.name, ctx.store.as_ref()).await?;
            Ok(Credentials::Bearer(token))
        }
        None => Ok(Credentials::Password(connection::password(cfg)?)),
    }
}

const MAX_RETRY: Duration = Duration::from_secs(600);

pub struct ImapSource {
    config: ImapConfig,
}

impl ImapSource {
    pub fn new(config: ImapConfig) -> Self {
        ImapSource { config }
    }

    fn lease_name(&self) -> String {
        format!("imap:{}", self.config.name)
    }

    fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.config.lease_secs.max(5))
    }

    /// Checks the folders `which` once, recording each folder's health. Returns the folders with a
    /// backlog left, or `None` when the lease was lost.
    async fn check_some(
        &self,
        session: &mut Session,
        acc: &Account<'_>,
        caps: Caps,
        which: &BTreeSet<usize>,
        retries: &mut BTreeMap<usize, Instant>,
    ) -> anyhow::Result<Option<BTreeSet<usize>>> {
        let store = acc.ctx.store.as_ref();
        let mut backlog = BTreeSet::new();
        for (idx, rules) in self.config.folders.iter().enumerate() {
            if !which.contains(&idx) {
                continue;
            }
            let started = Instant::now();
            match fetch::check_folder(session, acc, idx, caps).await {
                Ok(r) => {
                    store
                        .mail_folder_checked(
                            &self.config.name,
                            &rules.name,
                            r.uidvalidity,
                            r.backlog as u64,
                            None,
                        )
                        .await?;
                    if r.fetched > 0 {
                        let secs = started.elapsed().as_secs_f64().max(0.001);
                        tracing::info!(source = %self.config.name, folder = %rules.name, messages = r.fetched,
                            documents = r.documents, backlog = r.backlog,
                            per_sec = format!("{:.1}", r.fetched as f64 / secs), "folder checked");
                    }
                    if r.lease_lost {
                        return Ok(None);
                    }
                    if r.backlog > 0 {
                        backlog.insert(idx);
                    }
                    match r.retry_at {
                        Some(at) => {
                            let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                            retries.insert(idx, Instant::now() + wait);
                        }
                        None => {
                            retries.remove(&idx);
                        }
                    }
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    // Best effort: the store itself may be what failed.
                    let _ = store
                        .mail_folder_checked(&self.config.name, &rules.name, None, 0, Some(&msg))
                        .await;
                    if e.is_folder_only() {
                        tracing::error!(source = %self.config.name, folder = %rules.name, error = %msg, "folder check failed; other folders go on");
                        continue;
                    }
                    return Err(anyhow::Error::new(e).context(format!(
                        "checking folder {} of {}",
                        rules.name,
                        self.config.account()
                    )));
                }
            }
        }
        Ok(Some(backlog))
    }

    /// Holds the lease and works until shutdown, a lost lease, or an error. `connected` is set
    /// once logged in (a later failure then starts its backoff afresh).
    async fn session(
        &self,
        ctx: &SourceContext,
        rules: &[CompiledRules],
        connected: &mut bool,
    ) -> anyhow::Result<()> {
        let cfg = &self.config;
        let creds = credentials(cfg, ctx).await?;
        let mut session = connection::connect(cfg, &creds).await?;
        let caps = Caps::of(&mut session).await?;
        *connected = true;
        ctx.store.mail_connect_result(&cfg.name, None).await?;
        let lease_name = self.lease_name();
        let acc = Account {
            cfg,
            rules,
            ctx,
            lease_name: &lease_name,
        };
        let n = cfg.folders.len();
        let watched: Vec<usize> = if cfg.idle && caps.idle {
            (0..n.min(cfg.idle_max_connections)).collect()
        } else {
            Vec::new()
        };
        let polled: Vec<usize> = (0..n).filter(|i| !watched.contains(i)).collect();
        tracing::info!(source = %cfg.name, account = %cfg.account(), idle_folders = watched.len(),
            polled_folders = polled.len(), "connected");
        let (wake_tx, mut wake) = tokio::sync::mpsc::unbounded_channel();
        let _watchers = idle::spawn(cfg, ctx, &creds, &watched, wake_tx);
        let poll = Duration::from_secs(cfg.poll_interval_secs.max(1));
        let full = Duration::from_secs(cfg.full_check_secs.max(1));
        let renew = self.lease_ttl() / 3;
        let t = Duration::from_secs(cfg.timeout_secs.max(1));
        let (mut next_poll, mut next_full) = (Instant::now() + poll, Instant::now() + full);
        let mut due: BTreeSet<usize> = (0..n).collect();
        // Folders with a message retrying later, and when: checked then, whatever the poll.
        let mut retries: BTreeMap<usize, Instant> = BTreeMap::new();
        loop {
            if !due.is_empty() {
                let which = std::mem::take(&mut due);
                let checked = self
                    .check_some(&mut session, &acc, caps, &which, &mut retries)
                    .await?;
                let Some(backlog) = checked else {
                    tracing::info!(source = %cfg.name, "lease lost to another worker");
                    return Ok(());
                };
                due = backlog;
            }
            if ctx.shutdown.is_cancelled() {
                let _ = tokio::time::timeout(t, session.logout()).await;
                return Ok(());
            }
            if !due.is_empty() {
                continue;
            }
            let now = Instant::now();
            let mut until = (now + renew).min(next_full);
            if !polled.is_empty() {
                until = until.min(next_poll);
            }
            if let Some(first) = retries.values().min() {
                until = until.min(*first);
            }
            tokio::select! {
                _ = ctx.shutdown.cancelled() => {
                    let _ = tokio::time::timeout(t, session.logout()).await;
                    return Ok(());
                }
                Some(idx) = wake.recv() => {
                    due.insert(idx);
                    while let Ok(i) = wake.try_recv() {
                        due.insert(i);
                    }
                }
                _ = tokio::time::sleep_until(until.into()) => {}
            }
            let now = Instant::now();
            if !polled.is_empty() && now >= next_poll {
                due.extend(&polled);
                next_poll = now + poll;
            }
            if now >= next_full {
                due.extend(0..n);
                next_full = now + full;
            }
            due.extend(
                retries
                    .iter()
                    .filter(|(_, at)| **at <= now)
                    .map(|(i, _)| *i),
            );
            if due.is_empty() {
                // Keep the fetching connection alive and find out early when it is not.
                tokio::time::timeout(t, session.noop())
                    .await
                    .map_err(|_| anyhow::anyhow!("NOOP took longer than {} s", t.as_secs()))??;
            }
            if !ctx
                .store
                .try_lease(&lease_name, &ctx.worker_id, self.lease_ttl())
                .await?
            {
                return Ok(());
            }
        }
    }

    /// How long to wait before connecting, when an earlier failure (this worker's, another's,
    /// or one before a restart) scheduled the next attempt in the future.
    async fn owed_pause(&self, ctx: &SourceContext) -> Option<Duration> {
        let b = ctx
            .store
            .mail_connect_backoff(&self.config.name)
            .await
            .ok()??;
        (b.retry_at - chrono::Utc::now())
            .to_std()
            .ok()
            .filter(|d| !d.is_zero())
    }

    /// The pause after a failed connection: `backoff_secs`, then double the persisted one.
    async fn next_pause(&self, ctx: &SourceContext, fresh: bool) -> Duration {
        let base = Duration::from_secs(self.config.backoff_secs.max(1));
        if fresh {
            return base;
        }
        match ctx.store.mail_connect_backoff(&self.config.name).await {
            Ok(Some(b)) => (b.delay * 2).clamp(base, MAX_RETRY.max(base)),
            _ => base,
        }
    }
}

#[async_trait]
impl Source for ImapSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self: Box<Self>, ctx: SourceContext) -> anyhow::Result<()> {
        let rules = self.config.validate()?;
        let lease = self.lease_name();
        let base = Duration::from_secs(self.config.backoff_secs.max(1));
        let mut store_delay = base;
        tracing::info!(source = %self.config.name, account = %self.config.account(), "mail source starting");
        while !ctx.shutdown.is_cancelled() {
            let pause = match ctx
                .store
                .try_lease(&lease, &ctx.worker_id, self.lease_ttl())
                .await
            {
                Ok(true) => match self.owed_pause(&ctx).await {
                    Some(wait) => {
                        tracing::info!(source = %self.config.name, wait_secs = wait.as_secs(),
                            "connection failing earlier; waiting for the scheduled retry");
                        // Wake every third of the lease to keep it while waiting.
                        wait.min(self.lease_ttl() / 3)
                    }
                    None => {
                        let mut connected = false;
                        match self.session(&ctx, &rules, &mut connected).await {
                            Ok(()) => {
                                store_delay = base;
                                Duration::from_millis(200)
                            }
                            Err(e) => {
                                let msg = format!("{e:#}");
                                let d = self.next_pause(&ctx, connected).await;
                                tracing::error!(source = %self.config.name, error = %msg, retry_in_secs = d.as_secs(), "mail check failed");
                                // Best effort: the store may be what failed.
                                let _ = ctx
                                    .store
                                    .mail_connect_result(&self.config.name, Some((&msg, d)))
                                    .await;
                                for f in &self.config.folders {
                                    let _ = ctx
                                        .store
                                        .mail_folder_checked(
                                            &self.config.name,
                                            &f.name,
                                            None,
                                            0,
                                            Some(&msg),
                                        )
                                        .await;
                                }
                                d.min(self.lease_ttl() / 3).max(Duration::from_millis(200))
                            }
                        }
                    }
                },
                // Another worker holds this mailbox: look again when its lease could lapse.
                Ok(false) => self.lease_ttl() / 3,
                Err(e) => {
                    tracing::error!(source = %self.config.name, error = %e, "cannot take the mailbox lease; store unavailable?");
                    let d = store_delay;
                    store_delay = (store_delay * 2).min(MAX_RETRY);
                    d
                }
            };
            tokio::select! {
                _ = ctx.shutdown.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
        let _ = ctx.store.release_lease(&lease, &ctx.worker_id).await;
        tracing::info!(source = %self.config.name, "mail source stopped");
        Ok(())
    }
}

/// Runs one check of every folder of an account, holding its lease for the duration; for tests,
/// benchmarks and a future `facteur mail check`. Returns one report per folder, or `None` when
/// another worker holds the account.
pub async fn check_once(
    config: &ImapConfig,
    ctx: &SourceContext,
) -> anyhow::Result<Option<Vec<CheckReport>>> {
    let rules = config.validate()?;
    let source = ImapSource::new(config.clone());
    let lease = source.lease_name();
    if !ctx
        .store
        .try_lease(&lease, &ctx.worker_id, source.lease_ttl())
        .await?
    {
        return Ok(None);
    }
    let result = check_each(config, &rules, ctx, &lease).await;
    ctx.store.release_lease(&lease, &ctx.worker_id).await?;
    result.map(Some)
}

async fn check_each(
    config: &ImapConfig,
    rules: &[CompiledRules],
    ctx: &SourceContext,
    lease: &str,
) -> anyhow::Result<Vec<CheckReport>> {
    let creds = credentials(config, ctx).await?;
    let mut session = connection::connect(config, &creds).await?;
    let caps = Caps::of(&mut session).await?;
    let acc = Account {
        cfg: config,
        rules,
        ctx,
        lease_name: lease,
    };
    let mut out = Vec::new();
    for idx in 0..config.folders.len() {
        let r = fetch::check_folder(&mut session, &acc, idx, caps).await?;
        let name = config.folders.get(idx).map_or("", |f| f.name.as_str());
        ctx.store
            .mail_folder_checked(&config.name, name, r.uidvalidity, r.backlog as u64, None)
            .await?;
        out.push(r);
    }
    let _ = session.logout().await;
    Ok(out)
}
