//! `facteur backup --out FILE` and `facteur restore FILE [--into URL]`: a consistent snapshot of
//! the whole store while workers run, and its return into an empty store, proved by the ledger's
//! hash chain and the counts of what came back (`store::backup`).

use std::path::PathBuf;

use super::{init_logging, load_settings, other, Cli, CmdResult, Failure};
use crate::store::backup::{self, Census};
use crate::store::ledger::ChainCheck;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the backup; never overwritten (SQLite: a database file; PostgreSQL: a
    /// pg_dump custom-format archive, which pg_restore also reads).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `facteur backup`.
    pub file: PathBuf,
    /// The empty store to restore into [default: the workspace's database.url].
    #[arg(long)]
    pub into: Option<String>,
}

pub async fn backup(cli: &Cli, args: &BackupArgs) -> CmdResult {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let url = settings.database_url();
    let bytes = backup::take(&url, &args.out).await.map_err(other)?;
    out!(
        "backup written: {} ({:.1} MiB, {})\nrestore it into an empty store with: facteur \
         restore {} --into URL\n",
        args.out.display(),
        bytes as f64 / (1024.0 * 1024.0),
        backup::Backend::of_url(&url).map_err(other)?,
        args.out.display()
    );
    Ok(())
}

pub async fn restore(cli: &Cli, args: &RestoreArgs) -> CmdResult {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let url = args.into.clone().unwrap_or_else(|| settings.database_url());
    let census = backup::restore(&args.file, &url).await.map_err(other)?;
    print_census(&census);
    match census.chain {
        ChainCheck::Holds { .. } if census.documents_without_file == 0 => Ok(()),
        _ => Err(Failure::Other(anyhow::anyhow!(
            "the restored store does not verify (see above)"
        ))),
    }
}

fn print_census(c: &Census) {
    out!("restored:\n");
    out!("  documents        {}\n", c.documents);
    out!("  original files   {}\n", c.blobs);
    out!("  without file     {}\n", c.documents_without_file);
    out!("  ledger entries   {}\n", c.ledger_entries);
    out!("  issued invoices  {}\n", c.sales_invoices);
    out!("  users            {}\n", c.users);
    match &c.chain {
        ChainCheck::Holds { entries } => {
            out!("  hash chain       holds over {entries} entries\n")
        }
        ChainCheck::Broken { number, why, .. } => {
            out!("  hash chain       BROKEN at entry {number}: {why}\n")
        }
    }
}
