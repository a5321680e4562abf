//! `facteur customers add|import|list`: the company's customers. Each is parsed at the edge
//! (SIREN/SIRET checked, VAT id, mailboxes); `import` reads a CSV with the same column names as
//! `add`'s options and reports each bad row by its line, adding the good ones.

use std::path::PathBuf;

use super::{table, Cli, CmdResult, Failure};
use crate::receivables::{Customer, NewCustomer, RawCustomer};
use crate::store::StoreError;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add one customer.
    Add(Box<AddArgs>),
    /// Add customers from a CSV file whose header names the fields of `add`
    /// (name,address,postcode,city,country,siren,siret,vat_id,invoice_email,reminder_email,lang,payment_terms_days,category).
    Import { file: PathBuf },
    /// Every customer with its 411 account.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Legal name.
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub address: String,
    #[arg(long, default_value = "")]
    pub postcode: String,
    #[arg(long, default_value = "")]
    pub city: String,
    /// ISO 3166 code [default: FR].
    #[arg(long, default_value = "")]
    pub country: String,
    #[arg(long, default_value = "")]
    pub siren: String,
    #[arg(long, default_value = "")]
    pub siret: String,
    #[arg(long, default_value = "")]
    pub vat_id: String,
    /// Where invoices are sent.
    #[arg(long, default_value = "")]
    pub invoice_email: String,
    /// Where reminders are sent [default: the invoice mailbox].
    #[arg(long, default_value = "")]
    pub reminder_email: String,
    /// fr or en [default: fr].
    #[arg(long, default_value = "")]
    pub lang: String,
    /// Days from issue to due date [default: 30; at most 60].
    #[arg(long, default_value = "")]
    pub payment_terms_days: String,
    /// Which reminder ladder applies (`[reminders.categories]`) [default: default].
    #[arg(long, default_value = "")]
    pub category: String,
}

impl AddArgs {
    fn raw(&self) -> RawCustomer {
        RawCustomer {
            name: self.name.clone(),
            address: self.address.clone(),
            postcode: self.postcode.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            siren: self.siren.clone(),
            siret: self.siret.clone(),
            vat_id: self.vat_id.clone(),
            invoice_email: self.invoice_email.clone(),
            reminder_email: self.reminder_email.clone(),
            lang: self.lang.clone(),
            payment_terms_days: self.payment_terms_days.clone(),
            category: self.category.clone(),
        }
    }
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (_, store) = super::open_workspace(cli).await?;
    match cmd {
        Command::Add(args) => {
            let c = NewCustomer::parse(&args.raw()).map_err(|e| Failure::Config(e.to_string()))?;
            let added = store.add_customer(&c).await.map_err(refusal)?;
            outln!(
                "customer {}: {} (account 411 {})",
                added.id,
                added.details.name,
                added.account
            );
            Ok(())
        }
        Command::Import { file } => import(store.as_ref(), file).await,
        Command::List { json } => {
            let all = store.customers().await.map_err(super::other)?;
            if *json {
                let text = serde_json::to_string_pretty(&all).map_err(super::other)?;
                outln!("{text}");
                return Ok(());
            }
            outln!("{}", list_table(&all));
            Ok(())
        }
    }
}

/// A store refusal the person can act on is a usage error (exit 2), the rest exit 1.
pub(crate) fn refusal(e: StoreError) -> Failure {
    match e {
        StoreError::Conflict(why) | StoreError::Invalid(why) | StoreError::NotFound(why) => {
            Failure::Config(why)
        }
        e => super::other(e),
    }
}

fn list_table(all: &[Customer]) -> String {
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|c| {
            let d = &c.details;
            vec![
                c.account.clone(),
                d.name.clone(),
                d.siren.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                d.vat_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                d.invoice_email.clone().unwrap_or_default(),
                format!("{:?}", d.lang).to_lowercase(),
                format!("{} d", d.payment_terms_days),
            ]
        })
        .collect();
    table::render(
        &[
            "account",
            "name",
            "siren",
            "vat id",
            "invoices to",
            "lang",
            "terms",
        ],
        &rows,
        1,
        100,
    )
}

async fn import(store: &dyn crate::store::Store, file: &PathBuf) -> CmdResult {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
    let (mut added, mut failed) = (0, 0);
    for (i, row) in reader.deserialize::<RawCustomer>().enumerate() {
        let line = i + 2;
        let result = match row {
            Ok(raw) => match NewCustomer::parse(&raw) {
                Ok(c) => store.add_customer(&c).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(c) => {
                added += 1;
                outln!(
                    "{}:{line}: customer {} added, account 411 {}",
                    file.display(),
                    c.details.name,
                    c.account
                );
            }
            Err(why) => {
                failed += 1;
                eprintln!("{}:{line}: {why}", file.display());
            }
        }
    }
    outln!("{added} customer(s) added, {failed} refused");
    if failed > 0 {
        return Err(Failure::Partial);
    }
    Ok(())
}
