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
    }
    Ok(())
}
