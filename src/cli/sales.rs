//! `facteur sales draft|issue|credit|list|pdf|xml|send|dispute|resolve|history`: invoices the company
//! issues. A draft holds no number; `issue` numbers it gap-free in its series inside the
//! transaction that posts it (Dr 411 / Cr 706 + Cr 44571) and stores its Factur-X PDF, then
//! writes the PDF as `var/issued/<number>.pdf` in the workspace and prints the number and that
//! path. `send` queues the mail with the PDF for the customer's invoice mailbox (delivered by
//! `facteur run`'s outbox sender); `dispute` and `resolve` stop and resume its reminders; every
//! one of them lands on the invoice's history. `issue --profile` picks the Factur-X profile
//! of one invoice (`[sales] facturx_profile` otherwise); `pdf` writes the stored PDF again;
//! `xml` writes the invoice as CII (the XML inside the stored PDF, as issued) or UBL 2.1 (made
//! from the stored invoice and customer).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::customers::refusal;
use super::{table, Cli, CmdResult, Failure};
use crate::receivables::sale::{DraftFile, NewSale};
use crate::receivables::templates::{self, Facts, Template};
use crate::receivables::{finish, FacturxProfile, SalesInvoice, Seller};

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
        /// Factur-X profile of the XML inside [default: `[sales] facturx_profile`, en16931].
        /// minimum and basic-wl carry no lines: refused between French companies.
        #[arg(long, value_enum)]
        profile: Option<FacturxProfile>,
    },
    /// Issue the credit note that cancels issued invoice ID (its own number; posts the reverse).
    Credit {
        id: i64,
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum)]
        profile: Option<FacturxProfile>,
    },
    /// Write issued sale ID's Factur-X PDF, as stored when it was issued.
    Pdf {
        id: i64,
        /// [default: var/issued/<number>.pdf in the workspace]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write issued sale ID as XML alone: CII (the Factur-X XML it was issued with) or UBL 2.1.
    Xml {
        id: i64,
        #[arg(long, value_enum, default_value_t = XmlFormat::Cii)]
        format: XmlFormat,
        /// [default: stdout]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Drafts and issued sales, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Mail issued invoice ID to the customer's invoice mailbox, its PDF attached, in the
    /// customer's language (queued in the outbox; `facteur run` delivers it).
    Send {
        id: i64,
        /// Send it although it was sent before.
        #[arg(long)]
        again: bool,
        #[arg(long)]
        by: Option<String>,
    },
    /// Mark issued invoice ID in dispute (litige): no reminder goes out until it is resolved.
    Dispute {
        id: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Close the dispute of invoice ID: its reminders resume where the ladder stands.
    Resolve {
        id: i64,
        #[arg(long)]
        by: Option<String>,
    },
    /// What happened to invoice ID: issued, sent, disputed, reminded, paid (who, what, when).
    History {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

/// The syntax of `sales xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum XmlFormat {
    /// UN/CEFACT CII D16B, as embedded in the Factur-X PDF.
    Cii,
    /// OASIS UBL 2.1 Invoice / CreditNote (EN 16931, PEPPOL BIS 3 ids).
    Ubl,
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
        Command::Issue { id, date, profile } => {
            issue(
                &with_profile(&settings, *profile),
                store.as_ref(),
                *id,
                *date,
            )
            .await
        }
        Command::Credit { id, date, profile } => {
            let note = store.draft_credit_note(*id).await.map_err(refusal)?;
            issue(
                &with_profile(&settings, *profile),
                store.as_ref(),
                note.id,
                *date,
            )
            .await
        }
        Command::Pdf { id, out } => {
            let sale = store.sale(*id).await.map_err(refusal)?;
            let pdf = store.sale_pdf(*id).await.map_err(refusal)?;
            let path = out.clone().unwrap_or_else(|| {
                issued_path(&settings, sale.number.as_deref().unwrap_or_default())
            });
            write_file(&path, &pdf)?;
            outln!("{}", path.display());
            Ok(())
        }
        Command::Xml { id, format, out } => {
            let xml = super::sales_xml::xml(&settings, store.as_ref(), *id, *format).await?;
            match out {
                Some(path) => {
                    write_file(path, xml.as_bytes())?;
                    outln!("{}", path.display());
                }
                None => out!("{xml}"),
            }
            Ok(())
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
        Command::Send { id, again, by } => {
            send(
                &settings,
                store.as_ref(),
                *id,
                *again,
                &super::ledger::who(by),
            )
            .await
        }
        Command::Dispute { id, reason, by } => {
            store
                .dispute_sale(*id, reason, &super::ledger::who(by))
                .await
                .map_err(refusal)?;
            outln!(
                "sale {id} is in dispute: no reminder goes out until `facteur sales resolve {id}`"
            );
            Ok(())
        }
        Command::Resolve { id, by } => {
            let d = store
                .resolve_dispute(*id, &super::ledger::who(by))
                .await
                .map_err(refusal)?;
            outln!(
                "sale {id}: the dispute opened by {} on {} ({}) is closed; reminders resume",
                d.opened_by,
                d.opened_at.format("%Y-%m-%d"),
                d.reason
            );
            Ok(())
        }
        Command::History { id, json } => {
            store.sale(*id).await.map_err(refusal)?;
            let events = store.sale_history(*id).await.map_err(super::other)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&events).map_err(super::other)?
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|e| {
                    vec![
                        e.at.format("%Y-%m-%d %H:%M").to_string(),
                        format!("{} / {}", e.kind.as_str(), e.kind.fr()),
                        e.actor.clone(),
                        e.detail.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &["when (UTC)", "what / quoi", "who / qui", "detail / détail"],
                    &rows,
                    3,
                    100
                )
            );
            Ok(())
        }
    }
}

/// Queues issued invoice `id`'s mail for the customer's invoice mailbox (see `Command::Send`).
pub(super) async fn send(
    settings: &crate::config::Settings,
    store: &dyn crate::store::Store,
    id: i64,
    again: bool,
    by: &str,
) -> CmdResult {
    let sale = store.sale(id).await.map_err(refusal)?;
    let customer = store
        .customer(&sale.customer_id.to_string())
        .await
        .map_err(refusal)?;
    let Some(to) = customer.details.invoice_email.clone() else {
        return Err(Failure::Config(format!(
            "customer {} ({}) has no invoice mailbox: add one with `facteur customers add … --invoice-email compta@client.example`",
            customer.details.name, customer.account
        )));
    };
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let facts = Facts::of(seller, &sale, &customer, sale.gross, 0).map_err(Failure::Config)?;
    let mail = templates::mail(Template::Invoice, &facts, &to, None)
        .map_err(|e| super::other(anyhow::anyhow!(e)))?;
    let message_id = store
        .send_sale(id, &mail, by, again)
        .await
        .map_err(refusal)?;
    outln!(
        "{} queued for {to} ({}): {}",
        sale.number.as_deref().unwrap_or_default(),
        match customer.details.lang {
            crate::ledger::account::Lang::Fr => "fr",
            crate::ledger::account::Lang::En => "en",
        },
        mail.subject
    );
    outln!(
        "  Message-ID {message_id}; {}",
        if settings.smtp.is_some() {
            "`facteur run` delivers it"
        } else {
            "no [smtp] configured: it waits in the outbox until there is one"
        }
    );
    Ok(())
}

/// `settings` with the Factur-X profile `profile` when given.
fn with_profile(
    settings: &crate::config::Settings,
    profile: Option<FacturxProfile>,
) -> crate::config::Settings {
    let mut s = settings.clone();
    if let Some(p) = profile {
        s.sales.facturx_profile = p;
    }
    s
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> CmdResult {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| super::other(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| super::other(anyhow::anyhow!("writing {}: {e}", path.display())))
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
    let profile = settings.sales.facturx_profile;
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
    if let Some(w) = profile.warning() {
        errln(&w);
    }
    Ok(())
}

/// A warning on stderr: stdout keeps the number and the path, which scripts read.
fn errln(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
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
