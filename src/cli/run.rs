//! `facteur run`: sources, stage workers and the approval pages until Ctrl-C or SIGTERM; and
//! `facteur serve`: the approval pages alone.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{init_logging, load_settings, Cli, CmdResult, Failure};
use crate::config::Settings;
use crate::store::Store;

/// The settings, the store, and a token cancelled by the first Ctrl-C or SIGTERM (a second one
/// exits at once).
async fn start(cli: &Cli) -> Result<(Settings, Arc<dyn Store>, CancellationToken), Failure> {
    let settings = load_settings(cli, false)?;
    init_logging(cli, Some(&settings));
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| Failure::Other(e.into()))?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            "shutting down: finishing or releasing in-flight work (Ctrl-C again to force)"
        );
        trigger.cancel();
        wait_for_signal().await;
        std::process::exit(130);
    });
    Ok((settings, store, shutdown))
}

pub async fn run(cli: &Cli) -> CmdResult {
    let (settings, store, shutdown) = start(cli).await?;
    crate::worker::run(&settings, store, shutdown)
        .await
        .map_err(Failure::Other)
}

pub async fn serve(cli: &Cli) -> CmdResult {
    let (settings, store, shutdown) = start(cli).await?;
    let listener = crate::web::bind(&settings.web.listen).await?;
    let state = crate::web::WebState::from_workspace(store, &settings);
    crate::web::serve(listener, state, shutdown)
        .await
        .map_err(Failure::Other)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
