//! `facteur sales draft|issue|credit|list|pdf`: invoices the company issues. A draft holds no
//! number; `issue` numbers it gap-free in its series inside the transaction that posts it
//! (Dr 411 / Cr 706 + Cr 44571) and stores its Factur-X PDF, then writes the PDF as
//! `var/issued/<number>.pdf` in the workspace and prints the number and that path.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::customers::refusal;
use super::{table, Cli, CmdResult, Failure};
use crate::receivables::sale::{DraftFile, NewSale};
use crate::receivables::{finish, SalesInvoice, Seller};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Save a draft from a TOML file: customer = "C…", [[line]] description, quantity, unit_price, vat_rate.
    Draft { file: PathBuf },
    /// Issue a draft: number it, post it, store and write its Factur-X PDF.
    Issue {
        id: i64,
        /// Issue date [default: today].
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Issue the credit note that cancels issued invoice ID (its own number; posts the reverse).
    Credit {
        id: i64,
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Drafts and issued sales, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    match cmd {
        Command::Draft { file } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let draft: DraftFile = toml::from_str(&text)
                .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let customer = store.customer(&draft.customer).await.map_err(refusal)?;
            let currency = settings.company.currency;
            if let Some(c) = draft
                .currency
                .as_deref()
                .filter(|c| *c != currency.as_str())
            {
                return Err(Failure::Config(format!(
                    "{}: currency {c}: sales are issued in the ledger's currency, {currency}",
                    file.display()
                )));
            }
            let sale = NewSale::draft(customer.id, currency, draft)
                .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
            let saved = store.save_draft(&sale).await.map_err(refusal)?;
            outln!(
                "draft {} for {}: net {}, VAT {}, total {} {}",
                saved.id,
                customer.details.name,
                saved.net,
                saved.tax,
                saved.gross,
                saved.currency
            );
            Ok(())
        }
        Command::Issue { id, date } => issue(&settings, store.as_ref(), *id, *date).await,
        Command::Credit { id, date } => {
            let note = store.draft_credit_note(*id).await.map_err(refusal)?;
            issue(&settings, store.as_ref(), note.id, *date).await
        }
        Command::List { json } => {
            let all = store.sales().await.map_err(super::other)?;
            if *json {
                let text = serde_json::to_string_pretty(&all).map_err(super::other)?;
                outln!("{text}");
            } else {
                outln!("{}", list_table(&all));
            }
            Ok(())
        }
    }
}

pub(super) async fn issue(
    settings: &crate::config::Settings,
    store: &dyn crate::store::Store,
    id: i64,
    date: Option<NaiveDate>,
) -> CmdResult {
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let date = date.unwrap_or_else(|| chrono::Local::now().date_naive());
    let done = store
        .issue_sale(
            id,
            date,
            &settings.sales.series(),
            settings.company.fiscal_year_start_month,
            &|issuing| finish(seller, issuing),
        )
        .await
        .map_err(refusal)?;
    let number = done.sale.number.clone().unwrap_or_default();
    let path = issued_path(settings, &number);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| super::other(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    }
    std::fs::write(&path, &done.pdf)
        .map_err(|e| super::other(anyhow::anyhow!("writing {}: {e}", path.display())))?;
    outln!("{number}");
    outln!("{}", path.display());
    Ok(())
}

/// `var/issued/<number>.pdf` in the workspace (beside the default database).
pub fn issued_path(settings: &crate::config::Settings, number: &str) -> PathBuf {
    settings
        .base_dir
        .join("var/issued")
        .join(format!("{number}.pdf"))
}

fn list_table(all: &[SalesInvoice]) -> String {
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.kind.as_str().to_string(),
                s.state.as_str().to_string(),
                s.number.clone().unwrap_or_default(),
                s.issue_date.map(|d| d.to_string()).unwrap_or_default(),
                s.due_date.map(|d| d.to_string()).unwrap_or_default(),
                format!("{} {}", s.gross, s.currency),
            ]
        })
        .collect();
    table::render(
        &["id", "kind", "state", "number", "issued", "due", "total"],
        &rows,
        3,
        100,
    )
}
