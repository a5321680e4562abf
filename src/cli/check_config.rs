//! `facteur check-config`: every problem in the configuration, with file, line, column and a hint.

use super::{load_settings, Cli, CmdResult};

pub fn run(cli: &Cli) -> CmdResult {
    let path = crate::config::config_path(cli.config.as_deref());
    let settings = load_settings(cli, false)?;
    let sources: usize = settings
        .loaded_pipelines
        .iter()
        .map(|p| p.sources.len())
        .sum();
    outln!("{}: ok", path.display());
    outln!(
        "  database: {}",
        crate::secret::redact_url(&settings.database_url())
    );
    outln!(
        "  pipelines: {} ({} sources)",
        settings.loaded_pipelines.len(),
        sources
    );
    for p in &settings.loaded_pipelines {
        for s in &p.sources {
            outln!("    {} ← {}", s.name(), p.file.display());
        }
        let rules: Vec<&str> = p.approval.rules.iter().map(|r| r.name.as_str()).collect();
        if rules.is_empty() {
            outln!(
                "  warning: {}: no [[approval.rule]]: read invoices wait in pending_approval with nobody asked",
                p.file.display()
            );
        } else {
            outln!("    approval rules: {}", rules.join(", "));
        }
    }
    match &settings.smtp {
        Some(s) => outln!(
            "  smtp: {}:{} ({:?}), from {}",
            s.host,
            s.port(),
            s.security,
            s.from
        ),
        None => outln!("  warning: no [smtp]: approval mail waits in the outbox"),
    }
    outln!(
        "  web: {} (links: {})",
        settings.web.listen,
        settings.web.base_url()
    );
    Ok(())
}
