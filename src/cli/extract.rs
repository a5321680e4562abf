//! `facteur extract FILE [--json] [--method auto|xml|text|ocr]`: read one file, no database.
//!
//! With `--json`, stdout is exactly one JSON object (the contract of DESIGN.md §4); an unreadable
//! file exits 1 with one line on stderr.

use std::path::PathBuf;

use super::{init_logging, load_settings, table, Cli, CmdResult, Failure};
use crate::domain::Extraction;
use crate::read::sandbox::SandboxPool;
use crate::read::MethodChoice;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub file: PathBuf,
    /// Print the JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// auto: embedded XML, else text layer, else OCR. text/ocr ignore embedded XML.
    #[arg(long, default_value = "auto")]
    pub method: MethodChoice,
}

impl clap::ValueEnum for MethodChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            MethodChoice::Auto,
            MethodChoice::Xml,
            MethodChoice::Text,
            MethodChoice::Ocr,
        ]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            MethodChoice::Auto => "auto",
            MethodChoice::Xml => "xml",
            MethodChoice::Text => "text",
            MethodChoice::Ocr => "ocr",
        }))
    }
}

pub async fn run(cli: &Cli, args: &Args) -> CmdResult {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let bytes = std::fs::read(&args.file).map_err(|e| {
        Failure::Other(anyhow::anyhow!("{}: cannot read: {e}", args.file.display()))
    })?;
    let mut opts = settings.read_options();
    opts.method = args.method;
    let mut cfg = settings.read.sandbox_config();
    cfg.workers = 1;
    let extraction = SandboxPool::new(cfg)
        .read(bytes, opts)
        .await
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", args.file.display())))?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&extraction.contract_json())
                .map_err(anyhow::Error::from)?
        );
    } else {
        out!("{}", describe(&extraction));
    }
    Ok(())
}

/// A two-column table of the fields, with confidences, for people.
pub fn describe(x: &Extraction) -> String {
    let rows = x.rows_for_people();
    let mut out = format!("read by: {}\n", x.method.as_str());
    out.push_str(&table::render(
        &["FIELD", "VALUE", "CONFIDENCE"],
        &rows,
        1,
        100,
    ));
    for w in &x.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
