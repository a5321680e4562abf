//! IMAP source: each configured account's folders, every attachment delivered exactly once.
//!
//! Exactly once rests on three things. (1) One worker per account at a time: the store's named
//! lease `imap:<source>` (two machines never poll one mailbox together). (2) A message is recorded,
//! keyed on (account, folder, UIDVALIDITY, UID), in the same transaction as its documents, and only
//! unrecorded UIDs are fetched; a second writer finds the row and rolls back. (3) The mailbox is
//! changed only after the commit, and an owed action survives a crash in the store
//! (`action_pending`). Content hashes cover the rest: known bytes become re-arrivals.
//!
//! New mail: IDLE on the first folder where the server has it (woken within seconds), polling
//! otherwise; every folder is still checked every `poll_interval_secs` (or `full_check_secs` when
//! IDLE watches the only folder), and the IDLE wait never outlasts a third of the lease.

mod actions;
mod config;
mod connection;
mod fetch;
mod mime;
pub mod oauth2;
mod prepare;
mod unzip;
mod utf7;

use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use actions::{uid_set, FAILED_KEYWORD};
pub use config::{ActionKind, CompiledRules, FolderRules, ImapConfig, OAuth2Config, Security};
pub use connection::{ConnectError, Credentials, Secret};
pub use fetch::CheckReport;

use super::{Source, SourceContext};
use actions::Caps;
use connection::Session;
use fetch::Account;

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

    async fn credentials(&self, ctx: &SourceContext) -> anyhow::Result<Credentials> {
        match &self.config.oauth2 {
            Some(o) => {
                let token = oauth2::access_token(o, &self.config.name, ctx.store.as_ref()).await?;
                Ok(Credentials::Bearer(token))
            }
            None => Ok(Credentials::Password(connection::password(&self.config)?)),
        }
    }

    /// Checks every folder once, recording each folder's health. Returns whether any backlog is
    /// left, or `None` when the lease was lost.
    async fn check_all(
        &self,
        session: &mut Session,
        acc: &Account<'_>,
        caps: Caps,
    ) -> anyhow::Result<Option<bool>> {
        let store = acc.ctx.store.as_ref();
        let mut backlog = false;
        for (idx, rules) in self.config.folders.iter().enumerate() {
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
                    backlog |= r.backlog > 0;
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

    /// Holds the lease and works until shutdown, a lost lease, or an error.
    async fn session(&self, ctx: &SourceContext, rules: &[CompiledRules]) -> anyhow::Result<()> {
        let creds = self.credentials(ctx).await?;
        let mut session = connection::connect(&self.config, &creds).await?;
        let caps = Caps::of(&mut session).await?;
        let lease_name = self.lease_name();
        let acc = Account {
            cfg: &self.config,
            rules,
            ctx,
            lease_name: &lease_name,
        };
        let use_idle = self.config.idle && caps.idle;
        tracing::info!(source = %self.config.name, account = %self.config.account(), idle = use_idle, "connected");
        let poll = Duration::from_secs(self.config.poll_interval_secs.max(1));
        let full = Duration::from_secs(self.config.full_check_secs.max(1));
        let wait = if use_idle && self.config.folders.len() == 1 {
            full
        } else {
            poll
        }
        .min(self.lease_ttl() / 3);
        loop {
            let Some(backlog) = self.check_all(&mut session, &acc, caps).await? else {
                tracing::info!(source = %self.config.name, "lease lost to another worker");
                return Ok(());
            };
            if ctx.shutdown.is_cancelled() {
                let _ = session.logout().await;
                return Ok(());
            }
            if backlog {
                continue;
            }
            if use_idle {
                let first = self
                    .config
                    .folders
                    .first()
                    .map_or("INBOX", |f| f.name.as_str());
                session.select(utf7::encode(first)).await?;
                let mut handle = session.idle();
                handle.init().await?;
                let woke = {
                    let (fut, stop) = handle.wait_with_timeout(wait);
                    tokio::select! {
                        r = fut => Some(r?),
                        _ = ctx.shutdown.cancelled() => { drop(stop); None }
                    }
                };
                session = handle.done().await?;
                if woke.is_none() {
                    let _ = session.logout().await;
                    return Ok(());
                }
            } else {
                tokio::select! {
                    _ = ctx.shutdown.cancelled() => { let _ = session.logout().await; return Ok(()) }
                    _ = tokio::time::sleep(wait) => {}
                }
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
        let mut delay = base;
        tracing::info!(source = %self.config.name, account = %self.config.account(), "mail source starting");
        while !ctx.shutdown.is_cancelled() {
            let pause = match ctx
                .store
                .try_lease(&lease, &ctx.worker_id, self.lease_ttl())
                .await
            {
                Ok(true) => match self.session(&ctx, &rules).await {
                    Ok(()) => {
                        delay = base;
                        Duration::from_millis(200)
                    }
                    Err(e) => {
                        let msg = format!("{e:#}");
                        tracing::error!(source = %self.config.name, error = %msg, retry_in_secs = delay.as_secs(), "mail check failed");
                        // Show it in `mail status` (best effort: the store may be what failed).
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
                        let d = delay;
                        delay = (delay * 2).min(Duration::from_secs(600));
                        d
                    }
                },
                // Another worker holds this mailbox: look again when its lease could lapse.
                Ok(false) => self.lease_ttl() / 3,
                Err(e) => {
                    tracing::error!(source = %self.config.name, error = %e, "cannot take the mailbox lease; store unavailable?");
                    let d = delay;
                    delay = (delay * 2).min(Duration::from_secs(600));
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
    let result = check_each(&source, config, &rules, ctx, &lease).await;
    ctx.store.release_lease(&lease, &ctx.worker_id).await?;
    result.map(Some)
}

async fn check_each(
    source: &ImapSource,
    config: &ImapConfig,
    rules: &[CompiledRules],
    ctx: &SourceContext,
    lease: &str,
) -> anyhow::Result<Vec<CheckReport>> {
    let creds = source.credentials(ctx).await?;
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
