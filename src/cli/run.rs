//! `facteur run`: sources and stage workers until Ctrl-C or SIGTERM.

use tokio_util::sync::CancellationToken;

use super::{init_logging, load_settings, Cli, CmdResult, Failure};

pub async fn run(cli: &Cli) -> CmdResult {
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
    crate::worker::run(&settings, store, shutdown)
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
