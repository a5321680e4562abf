//! `facteur suppliers list`: the supplier master records, each with the auxiliary account its
//! postings use and the identifiers it is matched by.

use super::ledger::{open, other};
use super::{table, Cli, CmdResult};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Suppliers by auxiliary account, with their VAT id, SIREN and IBAN.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (_, store) = open(cli).await?;
    match cmd {
        Command::List { json } => {
            let all = store.suppliers().await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&all).map_err(other)?);
                return Ok(());
            }
            let body: Vec<Vec<String>> = all
                .iter()
                .map(|s| {
                    vec![
                        s.aux_code.clone(),
                        s.name.clone(),
                        s.vat_id.clone().unwrap_or_default(),
                        s.siren.clone().unwrap_or_default(),
                        s.iban.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(&["AUX", "NAME", "VAT ID", "SIREN", "IBAN"], &body, 1, 100)
            );
            Ok(())
        }
    }
}
