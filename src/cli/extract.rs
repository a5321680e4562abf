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
    let inv = &x.invoice;
    let conf = |f: &str| {
        f.parse::<crate::domain::Field>()
            .ok()
            .and_then(|f| x.confidence.get(&f))
            .map_or(String::new(), |c| format!("{c:.2}"))
    };
    let money = |d: Option<rust_decimal::Decimal>| {
        d.map_or("—".to_string(), |v| {
            format!(
                "{v} {}",
                inv.currency.map(|c| c.to_string()).unwrap_or_default()
            )
        })
    };
    let opt = |s: Option<String>| s.unwrap_or_else(|| "—".into());
    let rows: Vec<Vec<String>> = vec![
        vec![
            "type".into(),
            inv.doc_type.as_str().into(),
            conf("doc_type"),
        ],
        vec![
            "number".into(),
            opt(inv.number.clone()),
            conf("invoice_number"),
        ],
        vec![
            "issue date".into(),
            opt(inv.issue_date.map(|d| d.to_string())),
            conf("issue_date"),
        ],
        vec![
            "due date".into(),
            opt(inv.due_date.map(|d| d.to_string())),
            conf("due_date"),
        ],
        vec![
            "supplier".into(),
            opt(inv.seller.name.clone()),
            conf("supplier_name"),
        ],
        vec![
            "supplier VAT".into(),
            opt(inv.seller.vat_id.as_ref().map(|v| v.to_string())),
            conf("supplier_vat_id"),
        ],
        vec![
            "IBAN".into(),
            opt(inv.seller.iban.as_ref().map(|v| v.pretty())),
            conf("iban"),
        ],
        vec![
            "customer".into(),
            opt(inv.buyer.name.clone()),
            conf("customer_name"),
        ],
        vec!["net".into(), money(inv.total_net), conf("total_net")],
        vec!["VAT".into(), money(inv.total_tax), conf("total_tax")],
        vec!["gross".into(), money(inv.total_gross), conf("total_gross")],
        vec!["lines".into(), inv.lines.len().to_string(), String::new()],
    ];
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
