//! `facteur serve`: the approval pages alone (no sources, no stage workers), until Ctrl-C.

use tokio_util::sync::CancellationToken;

use super::{init_logging, load_settings, Cli, CmdResult, Failure};

pub async fn run(cli: &Cli) -> CmdResult {
    let settings = load_settings(cli, false)?;
    init_logging(cli, Some(&settings));
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| Failure::Other(e.into()))?;
    let listener = crate::web::bind(&settings.web.listen).await?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        trigger.cancel();
    });
    let state = crate::web::WebState::new(store, settings.web.base_url());
    crate::web::serve(listener, state, shutdown)
        .await
        .map_err(Failure::Other)
}
