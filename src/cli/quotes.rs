//! `facteur quotes add|list|show|pdf|accept|decline`: quotes (devis). `add` saves one from a
//! TOML file written as a sales draft (plus `validity_days`); `pdf` numbers it in its own
//! gap-free series the first time (`[sales] quote_pattern`), stores the PDF, marks it sent and
//! writes `var/quotes/<number>.pdf`; `accept` makes its sales draft once (a second accept
//! prints the same draft); `decline` closes it. A sent quote past its validity date lists as
//! expired.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::customers::refusal;
use super::{table, Cli, CmdResult, Failure};
use crate::receivables::quote::{NewQuote, Quote, QuoteFile};
use crate::receivables::Seller;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Save a quote from a TOML file: customer = "C…", validity_days, [[line]] description,
    /// quantity, unit_price, vat_rate (as `sales draft`).
    Add { file: PathBuf },
    /// Every quote, newest first, with its state today.
    List {
        #[arg(long)]
        json: bool,
        /// The day the states are for (expiry) [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
    },
    /// One quote: its lines, totals, state and the sales draft it became.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        at: Option<NaiveDate>,
    },
    /// Write quote ID's PDF; the first time numbers it (DE-2026-00001), dates it and marks it
    /// sent.
    Pdf {
        id: i64,
        /// The quote's date, when it is numbered now [default: today].
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Where to write it [default: var/quotes/<number>.pdf in the workspace].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The customer accepted quote ID: make its sales draft (once; again prints the same one).
    Accept {
        id: i64,
        /// The day of the answer, checked against the validity date [default: today].
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long)]
        by: Option<String>,
    },
    /// The customer declined quote ID.
    Decline {
        id: i64,
        #[arg(long)]
        by: Option<String>,
    },
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    match cmd {
        Command::Add { file } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let parsed: QuoteFile = toml::from_str(&text)
                .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let customer = store.customer(&parsed.customer).await.map_err(refusal)?;
            let currency = settings.company.currency;
            if let Some(c) = parsed
                .currency
                .as_deref()
                .filter(|c| *c != currency.as_str())
            {
                return Err(Failure::Config(format!(
                    "{}: currency {c}: quotes are made in the ledger's currency, {currency}",
                    file.display()
                )));
            }
            let quote = NewQuote::from_file(
                customer.id,
                currency,
                parsed,
                settings.sales.quote_validity_days,
            )
            .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let saved = store.save_quote(&quote).await.map_err(refusal)?;
            outln!(
                "quote {} for {}: net {}, VAT {}, total {} {}, valid {} days once sent",
                saved.id,
                customer.details.name,
                saved.net,
                saved.tax,
                saved.gross,
                saved.currency,
                saved.validity_days
            );
            outln!(
                "  `facteur quotes pdf {}` numbers it and writes its PDF",
                saved.id
            );
            Ok(())
        }
        Command::List { json, at } => {
            let at = at.unwrap_or_else(today);
            let all = store.quotes().await.map_err(super::other)?;
            if *json {
                let rows: Vec<serde_json::Value> = all.iter().map(|q| to_json(q, at)).collect();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(super::other)?
                );
            } else {
                out!("{}", list_table(&all, at));
            }
            Ok(())
        }
        Command::Show { id, json, at } => {
            let at = at.unwrap_or_else(today);
            let q = store.quote(*id).await.map_err(refusal)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&to_json(&q, at)).map_err(super::other)?
                );
                return Ok(());
            }
            let customer = store
                .customer(&q.customer_id.to_string())
                .await
                .map_err(refusal)?;
            let state = q.state_at(at);
            outln!(
                "quote {} {} — {} ({})",
                q.id,
                q.number.as_deref().unwrap_or("(not numbered yet)"),
                customer.details.name,
                customer.account
            );
            outln!("state / état: {} / {}", state.as_str(), state.fr());
            if let (Some(d), Some(u)) = (q.quote_date, q.valid_until) {
                outln!("date {d}, valid until / valable jusqu'au {u}");
            }
            let rows: Vec<Vec<String>> = q
                .lines
                .iter()
                .zip(crate::receivables::Totals::of(&q.lines).lines)
                .map(|(l, net)| {
                    vec![
                        l.description.clone(),
                        l.quantity.normalize().to_string(),
                        l.unit_price.to_string(),
                        format!("{} %", l.vat_rate.normalize()),
                        net.to_string(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &["description", "qty", "unit price", "VAT", "net"],
                    &rows,
                    0,
                    100
                )
            );
            outln!(
                "net {}, VAT {}, total {} {}",
                q.net,
                q.tax,
                q.gross,
                q.currency
            );
            if let Some(s) = q.sale_id {
                outln!("accepted: sales draft {s} (`facteur sales issue {s}`)");
            }
            Ok(())
        }
        Command::Pdf { id, date, out } => {
            let seller = Seller {
                company: &settings.company,
                sales: &settings.sales,
            };
            let render = |q: &Quote, customer| crate::receivables::quote::pdf(seller, q, customer);
            let (quote, pdf) = store
                .quote_pdf(
                    *id,
                    date.unwrap_or_else(today),
                    &settings.sales.quote_pattern,
                    settings.company.fiscal_year_start_month,
                    &render,
                )
                .await
                .map_err(refusal)?;
            let number = quote.number.clone().unwrap_or_default();
            let path = out.clone().unwrap_or_else(|| {
                settings
                    .base_dir
                    .join("var/quotes")
                    .join(format!("{number}.pdf"))
            });
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    super::other(anyhow::anyhow!("creating {}: {e}", dir.display()))
                })?;
            }
            std::fs::write(&path, &pdf)
                .map_err(|e| super::other(anyhow::anyhow!("writing {}: {e}", path.display())))?;
            outln!("{number}");
            outln!("{}", path.display());
            Ok(())
        }
        Command::Accept { id, date, by } => {
            let done = store
                .accept_quote(*id, date.unwrap_or_else(today), &super::ledger::who(by))
                .await
                .map_err(refusal)?;
            let number = done.quote.number.as_deref().unwrap_or_default();
            if done.created {
                outln!(
                    "quote {number} accepted: sales draft {} (total {} {}); `facteur sales issue {}` issues it",
                    done.draft.id,
                    done.draft.gross,
                    done.draft.currency,
                    done.draft.id
                );
            } else {
                outln!(
                    "quote {number} was accepted before: its sales draft is {} ({})",
                    done.draft.id,
                    done.draft.state.as_str()
                );
            }
            Ok(())
        }
        Command::Decline { id, by } => {
            let q = store
                .decline_quote(*id, &super::ledger::who(by))
                .await
                .map_err(refusal)?;
            outln!(
                "quote {} declined / refusé",
                q.number.unwrap_or_else(|| q.id.to_string())
            );
            Ok(())
        }
    }
}

fn to_json(q: &Quote, at: NaiveDate) -> serde_json::Value {
    let mut v = serde_json::to_value(q).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("stored_state");
        o.insert("state".into(), q.state_at(at).as_str().into());
    }
    v
}

fn list_table(all: &[Quote], at: NaiveDate) -> String {
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|q| {
            vec![
                q.id.to_string(),
                q.number.clone().unwrap_or_default(),
                q.state_at(at).as_str().to_string(),
                q.quote_date.map(|d| d.to_string()).unwrap_or_default(),
                q.valid_until.map(|d| d.to_string()).unwrap_or_default(),
                format!("{} {}", q.gross, q.currency),
                q.sale_id.map(|s| s.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        &[
            "id",
            "number",
            "state",
            "date",
            "valid until",
            "total",
            "draft",
        ],
        &rows,
        2,
        100,
    )
}
