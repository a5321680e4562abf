//! IDLE watchers: one extra connection per watched folder, each sitting in IDLE and saying "look at
//! folder N" when the server announces new mail (EXISTS or RECENT). Watchers never fetch, record
//! or move anything: the one fetching session, under the account lease, stays the only writer, so
//! exactly-once does not depend on them. A lost watcher only means slower news (the folder is still
//! checked every `full_check_secs`).
//!
//! IDLE is re-issued well before the 29 minutes of RFC 2177 (servers' keepalives reset async-imap's
//! own timeout, so the refresh has its own deadline). A watcher that loses its connection
//! reconnects with a doubling delay and asks for a check once back, since mail may have arrived
//! meanwhile. Watchers stop when their session ends (the guard cancels them on drop).

use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{MailboxDatum, Response};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::config::ImapConfig;
use super::connection::{self, Credentials};
use super::{credentials, utf7};
use crate::sources::SourceContext;

/// Cancels the watchers when dropped.
pub struct Watchers {
    stop: CancellationToken,
}

impl Drop for Watchers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts one watcher per folder index in `folders`; each sends its index on `wake`. `creds` (the
/// fetching session's, just used) serve the first login; reconnections get fresh ones.
pub fn spawn(
    cfg: &ImapConfig,
    ctx: &SourceContext,
    creds: &Credentials,
    folders: &[usize],
    wake: UnboundedSender<usize>,
) -> Watchers {
    let stop = ctx.shutdown.child_token();
    for &idx in folders {
        let (cfg, ctx, wake, stop) = (cfg.clone(), ctx.clone(), wake.clone(), stop.clone());
        let creds = creds.clone();
        tokio::spawn(async move { watch(cfg, ctx, creds, idx, wake, stop).await });
    }
    Watchers { stop }
}

async fn watch(
    cfg: ImapConfig,
    ctx: SourceContext,
    creds: Credentials,
    idx: usize,
    wake: UnboundedSender<usize>,
    stop: CancellationToken,
) {
    let folder = cfg.folders.get(idx).map_or("INBOX", |f| f.name.as_str());
    let base = Duration::from_secs(cfg.backoff_secs.max(1));
    let mut delay = base;
    let mut first = Some(creds);
    while !stop.is_cancelled() {
        let creds = match first.take() {
            Some(c) => Ok(c),
            None => credentials(&cfg, &ctx).await,
        };
        let result = match creds {
            Ok(creds) => watch_once(&cfg, &creds, idx, &wake, &stop).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(source = %cfg.name, folder, error = %format!("{e:#}"),
                    retry_in_secs = delay.as_secs(), "IDLE watcher lost its connection; the folder is polled meanwhile");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(600));
            }
        }
    }
}

fn is_new_mail(r: &Response<'_>) -> bool {
    matches!(
        r,
        Response::MailboxData(MailboxDatum::Exists(_) | MailboxDatum::Recent(_))
    )
}

/// One connection's life: connect, SELECT, then IDLE until stopped or an error.
async fn watch_once(
    cfg: &ImapConfig,
    creds: &Credentials,
    idx: usize,
    wake: &UnboundedSender<usize>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let folder = cfg.folders.get(idx).map_or("INBOX", |f| f.name.as_str());
    let mut session = connection::connect(cfg, creds).await?;
    let t = Duration::from_secs(cfg.timeout_secs.max(1));
    tokio::time::timeout(t, session.select(utf7::encode(folder)))
        .await
        .map_err(|_| anyhow::anyhow!("SELECT {folder} took longer than {} s", t.as_secs()))??;
    tracing::debug!(source = %cfg.name, folder, "IDLE watcher ready");
    // Mail may have come while this watcher was away.
    if wake.send(idx).is_err() {
        return Ok(());
    }
    let refresh = Duration::from_secs(cfg.full_check_secs.clamp(60, 20 * 60));
    loop {
        let mut handle = session.idle();
        tokio::time::timeout(t, handle.init()).await.map_err(|_| {
            anyhow::anyhow!("IDLE on {folder} took longer than {} s", t.as_secs())
        })??;
        let deadline = tokio::time::Instant::now() + refresh;
        let stopped = loop {
            let (fut, _interrupt) = handle.wait_with_timeout(refresh);
            let r = tokio::select! {
                r = tokio::time::timeout_at(deadline, fut) => r,
                _ = stop.cancelled() => break true,
            };
            match r {
                Err(_) => break false, // time to re-issue IDLE
                Ok(Ok(IdleResponse::NewData(resp))) => {
                    if is_new_mail(resp.parsed()) && wake.send(idx).is_err() {
                        break true;
                    }
                }
                Ok(Ok(IdleResponse::Timeout | IdleResponse::ManualInterrupt)) => break false,
                Ok(Err(e)) => return Err(e.into()),
            }
        };
        session = tokio::time::timeout(t, handle.done()).await.map_err(|_| {
            anyhow::anyhow!("DONE on {folder} took longer than {} s", t.as_secs())
        })??;
        if stopped {
            let _ = tokio::time::timeout(t, session.logout()).await;
            return Ok(());
        }
    }
}
