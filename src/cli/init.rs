//! `facteur init [DIR]`: a commented facteur.toml, pipelines/default.toml, the inbox and var folders.
//! Never overwrites an existing file.

use std::path::{Path, PathBuf};

use super::{CmdResult, Failure};

pub const CONFIG_TEMPLATE: &str = include_str!("facteur.toml.template");
pub const PIPELINE_TEMPLATE: &str = include_str!("../../pipelines/default.toml");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to set up.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Writes the workspace; returns the files written (existing ones are kept).
pub fn write_workspace(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for sub in ["pipelines", "inbox", "var"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    for (path, text) in [
        (dir.join("facteur.toml"), CONFIG_TEMPLATE),
        (dir.join("pipelines/default.toml"), PIPELINE_TEMPLATE),
    ] {
        if !path.exists() {
            std::fs::write(&path, text)?;
            written.push(path);
        }
    }
    Ok(written)
}

pub fn run(args: &Args) -> CmdResult {
    let written = write_workspace(&args.dir).map_err(|e| {
        Failure::Other(anyhow::anyhow!("cannot set up {}: {e}", args.dir.display()))
    })?;
    for p in &written {
        outln!("wrote {}", p.display());
    }
    if written.is_empty() {
        outln!(
            "nothing to do: {} already has facteur.toml and pipelines/default.toml",
            args.dir.display()
        );
    }
    outln!(
        "\nNext: drop invoices into {}/inbox and run `facteur run` there (or `facteur ingest FILE…`).",
        args.dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn the_templates_parse() {
        let d = tempfile::tempdir().unwrap();
        write_workspace(d.path()).unwrap();
        let s = Settings::load(&d.path().join("facteur.toml"), false).unwrap();
        assert_eq!(s.loaded_pipelines.len(), 1);
        assert_eq!(s.loaded_pipelines[0].sources.len(), 1);
        assert!(s.database_url().ends_with("var/facteur.db"));
    }
}
