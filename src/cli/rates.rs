//! `facteur rates import|set|list`: the exchange-rate table foreign-currency invoices are posted
//! and paid with. Rates are quoted as the ECB quotes them: units of the foreign currency for one
//! unit of the company's (`1 EUR = 1.0842 USD` is a USD rate of `1.0842`).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{init_logging, load_settings, table, Cli, CmdResult, Failure};
use crate::domain::Currency;
use crate::ledger::fx::{self, Rate, RateSource};
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import the ECB's reference-rate CSV: the daily eurofxref.csv or the history
    /// eurofxref-hist.csv (or the zip the ECB serves). Importing again changes nothing.
    Import { file: PathBuf },
    /// Set a rate by hand: RATE units of CUR for one unit of the company currency, on --date
    /// (it wins over the ECB's of the same day). With --document, the rate printed on that
    /// invoice: it applies to it alone, before the table's.
    Set {
        currency: String,
        #[arg(allow_negative_numbers = true)]
        rate: String,
        #[arg(long)]
        date: NaiveDate,
        /// The invoice (document id) that prints this rate.
        #[arg(long)]
        document: Option<i64>,
        /// Who read it (recorded with a printed rate) [default: $USER].
        #[arg(long)]
        by: Option<String>,
    },
    /// The latest rate of each currency; with --currency, every rate of that currency.
    List {
        #[arg(long)]
        currency: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn currency(s: &str) -> Result<Currency, Failure> {
    Currency::parse(s).map_err(|e| Failure::Config(e.to_string()))
}

fn other(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Other(e.into())
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let store: std::sync::Arc<dyn Store> = crate::store::open(&settings.database_url(), 2)
        .await
        .map_err(other)?;
    let company = settings.company.currency;
    match cmd {
        Command::Import { file } => {
            let bytes = std::fs::read(file)
                .map_err(|e| Failure::Config(format!("cannot read {}: {e}", file.display())))?;
            let (rates, changed) =
                import(store.as_ref(), &bytes, company)
                    .await
                    .map_err(|e| match e {
                        ImportError::File(why) => {
                            Failure::Config(format!("{}: {why}", file.display()))
                        }
                        ImportError::Store(e) => other(e),
                    })?;
            outln!("{}: {rates}; {changed} new or changed", file.display());
            resume(store.as_ref()).await
        }
        Command::Set {
            currency: cur,
            rate,
            date,
            document,
            by,
        } => {
            let c = currency(cur)?;
            if c == company {
                return Err(Failure::Config(format!(
                    "{c} is the company currency: it needs no rate"
                )));
            }
            let per_unit = fx::parse_rate(rate).map_err(Failure::Config)?;
            if let Some(id) = document {
                let id = crate::domain::DocumentId(*id);
                let r =
                    Rate::new(c, *date, per_unit, RateSource::Invoice).map_err(Failure::Config)?;
                let doc = store.document(id).await.map_err(|e| match e {
                    crate::store::StoreError::NotFound(what) => {
                        Failure::Config(format!("{what} not found"))
                    }
                    e => other(e),
                })?;
                let theirs = doc.extraction.as_ref().and_then(|x| x.invoice.currency);
                if theirs != Some(c) {
                    return Err(Failure::Config(format!(
                        "document {id} is in {}, not {c}: the rate it prints is one of its own \
                         currency",
                        theirs
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "no currency read".into())
                    )));
                }
                let by = by
                    .clone()
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "cli".into());
                store
                    .set_printed_rate(id, &r, &by)
                    .await
                    .map_err(|e| match e {
                        crate::store::StoreError::Invalid(why) => Failure::Config(why),
                        e => other(e),
                    })?;
                outln!("document {id}: printed rate {}", r.describe(company));
                return resume(store.as_ref()).await;
            }
            let r = Rate::new(c, *date, per_unit, RateSource::Manual).map_err(Failure::Config)?;
            let changed = store
                .set_rates(std::slice::from_ref(&r))
                .await
                .map_err(other)?;
            let what = if changed == 0 { "already set" } else { "set" };
            outln!("{what}: {}", r.describe(company));
            resume(store.as_ref()).await
        }
        Command::List {
            currency: cur,
            json,
        } => {
            let c = cur.as_deref().map(currency).transpose()?;
            let rates = store.list_rates(c).await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&rates).map_err(other)?);
                return Ok(());
            }
            if rates.is_empty() {
                outln!("no exchange rates yet: facteur rates import eurofxref-hist.csv (from the ECB), or facteur rates set CUR RATE --date DATE");
                return Ok(());
            }
            let body: Vec<Vec<String>> = rates
                .iter()
                .map(|r| {
                    vec![
                        r.currency.to_string(),
                        r.date.to_string(),
                        r.per_unit.to_string(),
                        r.source.to_string(),
                    ]
                })
                .collect();
            let per = format!("PER 1 {company}");
            out!(
                "{}",
                table::render(&["CURRENCY", "DATE", &per, "SOURCE"], &body, 2, 100)
            );
            Ok(())
        }
    }
}

/// New rates may unblock invoices that waited for one, to be routed for approval
/// (`pending_approval`) or posted (`approved`): their stages are queued again, and the next
/// `facteur run` takes them (a document not waiting for a rate is left as it is).
async fn resume(store: &dyn Store) -> CmdResult {
    let approved = store
        .list_documents(Some(crate::domain::DocumentState::Approved), 1000)
        .await
        .map_err(other)?
        .len();
    let queued = store.backfill(crate::stages::BUILT).await.map_err(other)?;
    if queued > 0 {
        outln!(
            "{queued} waiting document(s) queued again: {approved} approved invoice(s) to post, \
             the rest to route or check (`facteur run` takes them)"
        );
    }
    Ok(())
}

/// Why an import did not happen.
#[derive(Debug)]
pub(crate) enum ImportError {
    /// The file is not the ECB's CSV (with where and why).
    File(String),
    Store(crate::store::StoreError),
}

/// Imports an ECB file; returns what it held, said for people, and how many rates were new or
/// changed.
pub(crate) async fn import(
    store: &dyn Store,
    bytes: &[u8],
    company: Currency,
) -> Result<(String, u64), ImportError> {
    let file = fx::parse_ecb(bytes, company).map_err(ImportError::File)?;
    let changed = store
        .set_rates(&file.rates)
        .await
        .map_err(ImportError::Store)?;
    let currencies: std::collections::BTreeSet<Currency> =
        file.rates.iter().map(|r| r.currency).collect();
    let span = match file.span {
        Some((a, b)) if a == b => format!(" of {a}"),
        Some((a, b)) => format!(" from {a} to {b}"),
        None => String::new(),
    };
    Ok((
        format!(
            "{} rate(s) of {} currencies over {} day(s){span}",
            file.rates.len(),
            currencies.len(),
            file.days
        ),
        changed,
    ))
}
