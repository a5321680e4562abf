//! `facteur demo`: a temporary workspace on the embedded SQLite store, the demo invoices of
//! fixtures/demo ingested and read, and what facteur found in each; a re-sent copy held as a
//! duplicate; approval requests; a reviewed invoice approved by itself, posted, paid and written
//! to a FEC; and on the receivables side a quote (devis) numbered and accepted into a sales
//! draft, issued as a Factur-X invoice (and written as UBL 2.1), mailed, reminded once (the
//! clock moved to its due date) and paid by a bank statement matched to it, with the AR aged
//! balance and DSO after each step, and where to look at each file.

use std::path::PathBuf;

use super::{init_logging, Cli, CmdResult, Failure};
use crate::config::Settings;
use crate::store::StoreError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of invoices to ingest [default: fixtures/demo of the source tree].
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Workspace folder to use [default: a new temporary folder, kept for you to explore].
    #[arg(long)]
    pub workspace: Option<PathBuf>,
}

pub async fn run(cli: &Cli, args: &Args) -> CmdResult {
    init_logging(cli, None);
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"));
    // The folder also holds its NOTICE.md: take the invoices only.
    let files: Vec<PathBuf> = super::ingest::expand(std::slice::from_ref(&fixtures))
        .into_iter()
        .filter(|f| {
            let ext = f
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            ["pdf", "xml", "png", "jpg", "jpeg", "tif", "tiff"].contains(&ext.as_str())
        })
        .collect();
    if files.is_empty() {
        return Err(Failure::Config(format!(
            "no demo invoices in {} (pass --fixtures DIR)",
            fixtures.display()
        )));
    }
    let workspace = match &args.workspace {
        Some(w) => w.clone(),
        None => tempfile::Builder::new()
            .prefix("facteur-demo-")
            .tempdir()
            .map_err(anyhow::Error::from)?
            .keep(),
    };
    super::init::write_workspace(&workspace).map_err(anyhow::Error::from)?;
    add_demo_policy(&workspace).map_err(anyhow::Error::from)?;
    let config = workspace.join("facteur.toml");
    let settings = Settings::load(&config, false)?;
    outln!("facteur demo — workspace {}", workspace.display());
    outln!(
        "store: {}\n",
        crate::secret::redact_url(&settings.database_url())
    );
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| Failure::Other(e.into()))?;
    rates(&settings, store.as_ref(), &workspace).await?;
    let report = super::ingest::ingest(&settings, store.clone(), &files, false).await?;
    let (text, _) = super::ingest::summary(store.as_ref(), &report).await?;
    out!("{text}");
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let doc = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "\n── {} (document {}, {})",
            doc.summary.file_name,
            doc.summary.id,
            doc.summary.state
        );
        match &doc.extraction {
            Some(x) => out!("{}", super::extract::describe(x)),
            None => outln!("{}", doc.summary.reason.unwrap_or_default()),
        }
    }
    // The first PDF that went through to approval is the one the supplier sends again.
    let mut original = None;
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let state = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?
            .summary
            .state;
        let pdf = row
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
        if pdf && state == crate::domain::DocumentState::PendingApproval {
            original = Some(row.file.clone());
            break;
        }
    }
    if let Some(original) = original {
        resend(&settings, store.clone(), &original, &workspace).await?;
    }
    approval_mail(&settings, store.as_ref(), &config).await?;
    accept_one(&settings, store.clone()).await?;
    sale(&settings, store.as_ref()).await?;
    ledger(&settings, store.as_ref(), &workspace).await?;
    outln!(
        "Ledger:  facteur --config {} ledger entries   (ledger balance, ledger verify, export fec --year YYYY --out DIR)",
        config.display()
    );
    outln!(
        "\nExplore: facteur --config {} documents list   (or: documents show ID)",
        config.display()
    );
    outln!(
        "Review:  facteur --config {} review list   (then review show|accept|reject|not-duplicate ID --reason …)",
        config.display()
    );
    Ok(())
}

/// The other half of the ledger: a customer, a quote accepted into a draft, and its issue as a
/// Factur-X invoice, numbered and posted to the sales journal (Dr 411 / Cr 706 + Cr 44571).
async fn sale(settings: &Settings, store: &dyn crate::store::Store) -> CmdResult {
    use crate::receivables::quote::{NewQuote, QuoteFile};
    use crate::receivables::{NewCustomer, RawCustomer};
    let customer = NewCustomer::parse(&RawCustomer {
        name: "Hôtel du Palais (demo)".into(),
        address: "1 place de l'Horloge".into(),
        postcode: "84000".into(),
        city: "Avignon".into(),
        siren: "552100554".into(),
        invoice_email: "compta@hotel-du-palais.example".into(),
        reminder_email: "relances@hotel-du-palais.example".into(),
        lang: "fr".into(),
        payment_terms_days: "30".into(),
        ..RawCustomer::default()
    })
    .map_err(|e| Failure::Other(anyhow::anyhow!("demo customer: {e}")))?;
    let customer = match store.add_customer(&customer).await {
        Ok(c) => c,
        Err(StoreError::Conflict(_)) => store
            .customer("C552100554")
            .await
            .map_err(|e| Failure::Other(e.into()))?,
        Err(e) => return Err(Failure::Other(e.into())),
    };
    let file: QuoteFile = toml::from_str(
        "customer = \"C552100554\"\nnote = \"Petits déjeuners, novembre\"\nvalidity_days = 15\n\
         [[line]]\ndescription = \"Viennoiseries (lot de 50)\"\nquantity = 12\n\
         unit_price = \"42.00\"\nvat_rate = 5.5\n",
    )
    .map_err(|e| Failure::Other(anyhow::anyhow!("demo quote: {e}")))?;
    let fail = |e: StoreError| Failure::Other(e.into());
    let quote = NewQuote::from_file(customer.id, settings.company.currency, file, 30)
        .map_err(|e| Failure::Other(anyhow::anyhow!("demo quote: {e}")))?;
    let quote = store.save_quote(&quote).await.map_err(fail)?;
    let today = chrono::Local::now().date_naive();
    let seller = crate::receivables::Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let render =
        |q: &crate::receivables::quote::Quote, c| crate::receivables::quote::pdf(seller, q, c);
    let (quote, pdf) = store
        .quote_pdf(
            quote.id,
            today,
            &settings.sales.quote_pattern,
            settings.company.fiscal_year_start_month,
            &render,
        )
        .await
        .map_err(fail)?;
    let number = quote.number.clone().unwrap_or_default();
    let quote_path = settings
        .base_dir
        .join("var/quotes")
        .join(format!("{number}.pdf"));
    if let Some(dir) = quote_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&quote_path, &pdf)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", quote_path.display())))?;
    outln!(
        "\n── receivables: quote {number} for {} ({} {}, valid until {}): {}",
        customer.details.name,
        quote.gross,
        quote.currency,
        quote.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        quote_path.display()
    );
    let accepted = store
        .accept_quote(quote.id, today, "demo")
        .await
        .map_err(fail)?;
    outln!(
        "  the customer accepts it: sales draft {} (note \"{}\"), issued as a Factur-X invoice:",
        accepted.draft.id,
        accepted.draft.note.as_deref().unwrap_or_default()
    );
    super::sales::issue(settings, store, accepted.draft.id, None).await?;
    let ubl = super::sales_xml::xml(
        settings,
        store,
        accepted.draft.id,
        super::sales::XmlFormat::Ubl,
    )
    .await?;
    let issued = store.sale(accepted.draft.id).await.map_err(fail)?;
    let ubl_path = settings.base_dir.join("var/issued").join(format!(
        "{}.ubl.xml",
        issued.number.as_deref().unwrap_or_default()
    ));
    std::fs::write(&ubl_path, ubl)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", ubl_path.display())))?;
    outln!("  the same invoice as UBL 2.1: {}", ubl_path.display());
    collect(settings, store, accepted.draft.id).await
}

/// The life of the demo's customer invoice after issuing: mailed, reminded once when the
/// clock reaches its due date, paid by a bank statement; the AR aged balance and DSO after
/// each step, read from the ledger.
async fn collect(settings: &Settings, store: &dyn crate::store::Store, id: i64) -> CmdResult {
    let fail = |e: StoreError| Failure::Other(e.into());
    let sale = store.sale(id).await.map_err(fail)?;
    let (Some(number), Some(issued), Some(due)) =
        (sale.number.clone(), sale.issue_date, sale.due_date)
    else {
        return Err(Failure::Other(anyhow::anyhow!(
            "the demo sale was not issued"
        )));
    };
    outln!("\n── receivables: {number} mailed to the customer, PDF attached:");
    super::sales::send(settings, store, id, false, "demo").await?;
    ar_figures(store, issued).await?;

    outln!("\n── the clock moves to the due date, {due}: the reminder ladder's step of the day");
    let run = crate::worker::reminders::run(store, settings, due)
        .await
        .map_err(fail)?;
    for (n, step, _) in &run.queued {
        outln!("  {n}: reminder {step} queued");
    }
    ar_figures(store, due).await?;

    let paid_on = due + chrono::Duration::days(3);
    outln!("\n── {paid_on}: the bank statement shows the customer's transfer");
    let statement = settings.base_dir.join("var/releve-demo.csv");
    let text = format!(
        "date;amount;reference;counterparty;iban\n{paid_on};{};VIR SEPA FACTURE {number};HOTEL DU PALAIS;FR7630004000031234567890143\n",
        sale.gross
    );
    std::fs::write(&statement, text)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{}: {e}", statement.display())))?;
    super::bank::import(
        settings,
        store,
        &statement,
        crate::ledger::account::pcg::BANK,
    )
    .await?;
    ar_figures(store, paid_on).await?;
    let later = due + chrono::Duration::days(7);
    let after = crate::worker::reminders::plan(store, settings, later)
        .await
        .map_err(fail)?;
    outln!(
        "  {later}, the day of the +7 reminder: {} reminder(s) due (paid: the ladder stopped)",
        after.len()
    );

    let queued = store
        .outbox_due(chrono::Utc::now() + chrono::Duration::days(1), 100)
        .await
        .map_err(fail)?;
    outln!("\n  Mail waiting in the outbox (delivered by `facteur run` once [smtp] is set):");
    for m in queued.iter().filter(|m| m.mail.subject.contains(&number)) {
        outln!(
            "    to {} — {}{}",
            m.mail.recipient,
            m.mail.subject,
            m.mail
                .attachment
                .as_ref()
                .map(|(n, _)| format!(" [{n}]"))
                .unwrap_or_default()
        );
    }
    let config = settings.base_dir.join("facteur.toml");
    let config = config.display();
    outln!("\n  Where to look:");
    outln!(
        "    the Factur-X PDF     {}",
        super::sales::issued_path(settings, &number).display()
    );
    outln!("    its history          facteur --config {config} sales history {id}");
    outln!("    quotes               facteur --config {config} quotes list");
    outln!("    the bank lines       facteur --config {config} bank lines");
    outln!("    aged balance, DSO    facteur --config {config} report aged --side ar --items; report dso");
    outln!("    disputes             facteur --config {config} report disputed");
    Ok(())
}

/// One line each: the AR aged balance (its total and buckets) and the 90-day DSO at `at`.
async fn ar_figures(store: &dyn crate::store::Store, at: chrono::NaiveDate) -> CmdResult {
    use crate::reports::{aged_balance, days_outstanding, Side};
    let fail = |e: StoreError| Failure::Other(e.into());
    let aged = aged_balance(store, Side::Ar, at).await.map_err(fail)?;
    let buckets: Vec<String> = aged
        .buckets
        .iter()
        .zip(&aged.totals)
        .map(|(b, t)| format!("{b} {t}"))
        .collect();
    let dso = days_outstanding(store, Side::Ar, at, 90)
        .await
        .map_err(fail)?;
    outln!(
        "  AR aged balance at {at}: {} ({}; 411 balance {}) · DSO {}",
        aged.total,
        buckets.join(", "),
        aged.ledger_balance,
        dso.days
            .map(|d| format!("{d} days"))
            .unwrap_or_else(|| "none (no sales in the period)".into())
    );
    Ok(())
}

/// The demo's approval rules: the trusted stationer's invoices approve by themselves (recorded
/// as such), every other invoice goes to one manager (the init template has none active); and
/// the demo company whose ledger they post to.
fn add_demo_policy(workspace: &std::path::Path) -> std::io::Result<()> {
    let config = workspace.join("facteur.toml");
    let text = std::fs::read_to_string(&config)?;
    if !text.contains("siren = \"483729109\"") {
        let company = "[company]\nname = \"Boulangerie Martin (demo)\"\n\
                       siren = \"483729109\"\nvat_id = \"FR21483729109\"\n\
                       expense_account = \"6064\"\n";
        let text = if text.lines().any(|l| l.trim() == "[company]") {
            text.replacen("[company]\n", company, 1)
        } else {
            format!("{text}\n{company}")
        };
        // What an issued invoice prints about its seller (French legal mentions).
        let sales = "[sales]\naddress = \"4 rue du Four\"\npostcode = \"84000\"\n\
                     city = \"Avignon\"\nlegal_form = \"SARL au capital de 8 000 €\"\n\
                     registry = \"RCS Avignon\"\n";
        let text = if text.lines().any(|l| l.trim() == "[sales]") {
            text.replacen("[sales]\n", sales, 1)
        } else {
            format!("{text}\n{sales}")
        };
        std::fs::write(&config, text)?;
    }
    let pipeline = workspace.join("pipelines/default.toml");
    let text = std::fs::read_to_string(&pipeline)?;
    if text.lines().any(|l| l.trim() == "[[approval.rule]]") {
        return Ok(());
    }
    // The stationer and the British consultancy (paid in pounds) are trusted; 6,000 is above
    // its 4,874.88 GBP in pounds or in euros.
    let rules = "\n[[approval.rule]]\nname = \"demo\"\n\
                 auto_approve_below = \"6000.00\"\n\
                 trusted_suppliers = [\"FR44732829320\", \"GB123456789\"]\n\
                 steps = [ { approvers = [\"manager@example.test\"] } ]\n";
    std::fs::write(&pipeline, format!("{text}{rules}"))
}

/// The demo's exchange rates (fixtures/rates, in the ECB's layout, illustrative values): written
/// into the workspace and imported, as `facteur rates import` does, for the invoices in pounds
/// and dollars.
const DEMO_RATES: &str = include_str!("../../fixtures/rates/eurofxref-hist-demo.csv");

async fn rates(
    settings: &Settings,
    store: &dyn crate::store::Store,
    workspace: &std::path::Path,
) -> CmdResult {
    let dir = workspace.join("rates");
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let path = dir.join("eurofxref-hist-demo.csv");
    std::fs::write(&path, DEMO_RATES).map_err(anyhow::Error::from)?;
    let (what, _) = super::rates::import(store, DEMO_RATES.as_bytes(), settings.company.currency)
        .await
        .map_err(|e| match e {
            super::rates::ImportError::File(why) => anyhow::anyhow!("{}: {why}", path.display()),
            super::rates::ImportError::Store(e) => e.into(),
        })?;
    outln!(
        "exchange rates: {what}, imported from {} (illustrative values in the ECB's layout)\n",
        path.display()
    );
    Ok(())
}

/// A person checks the first invoice whose reading was in doubt against the paper and accepts
/// it: it goes on to approval (the demo's trusted stationer approves by itself) and posting.
async fn accept_one(
    settings: &Settings,
    store: std::sync::Arc<dyn crate::store::Store>,
) -> CmdResult {
    use crate::domain::{DocType, DocumentState};
    let waiting = store
        .list_documents(Some(DocumentState::NeedsReview), 50)
        .await
        .map_err(anyhow::Error::from)?;
    for d in waiting.iter().rev() {
        let doc = store.document(d.id).await.map_err(anyhow::Error::from)?;
        let invoice = doc
            .extraction
            .as_ref()
            .is_some_and(|x| x.invoice.doc_type == DocType::Invoice);
        if !invoice {
            continue;
        }
        let to = store
            .review_decide(
                d.id,
                DocumentState::NeedsReview,
                crate::store::review::Decision::Accept,
                "demo",
                "read against the paper original",
                crate::stages::BUILT,
            )
            .await
            .map_err(anyhow::Error::from)?;
        crate::worker::Worker::new(settings, store.clone())
            .drain()
            .await
            .map_err(anyhow::Error::from)?;
        let now = store.document(d.id).await.map_err(anyhow::Error::from)?;
        outln!(
            "\n── review: {} (document {}) accepted by a person → {to}, then {}",
            d.file_name,
            d.id,
            now.summary.state
        );
        break;
    }
    Ok(())
}

/// The ledger part of the flow: the invoices approved by themselves were posted (the one in
/// pounds at the demo's rate of its day); the demo pays each when due (the pounds at the rate of
/// the payment day, its exchange difference on 666/766), writes the FEC of their year and checks
/// the chain.
async fn ledger(
    settings: &Settings,
    store: &dyn crate::store::Store,
    workspace: &std::path::Path,
) -> CmdResult {
    let posted = store
        .list_documents(Some(crate::domain::DocumentState::Posted), 10)
        .await
        .map_err(anyhow::Error::from)?;
    let entries = store
        .ledger_entries(None, None)
        .await
        .map_err(anyhow::Error::from)?;
    let company = &settings.company;
    let mut year = None;
    for doc in posted.iter().rev() {
        let Some(entry) = entries.iter().find(|e| e.body.document == Some(doc.id)) else {
            continue;
        };
        outln!(
            "\n── ledger: {} (document {}) approved by itself and posted as {}",
            doc.file_name,
            doc.id,
            entry.entry_number()
        );
        for l in &entry.body.lines {
            let fx = l
                .foreign
                .as_ref()
                .map(|f| {
                    format!(
                        "   {} {} at {}",
                        crate::ledger::fec::amount(f.amount),
                        f.currency,
                        f.rate
                    )
                })
                .unwrap_or_default();
            outln!(
                "  {:<8} {:<16} {:>12} {:>12}{fx}",
                l.account.as_str(),
                l.auxiliary.as_ref().map(|a| a.code.as_str()).unwrap_or(""),
                crate::ledger::fec::amount(l.debit),
                crate::ledger::fec::amount(l.credit)
            );
        }
        let Some(open) = store
            .open_items_in_currency()
            .await
            .map_err(anyhow::Error::from)?
            .into_iter()
            .find(|o| o.document == doc.id)
        else {
            continue;
        };
        // Paid on its due date (the invoice's date without one).
        let due = store
            .document(doc.id)
            .await
            .map_err(anyhow::Error::from)?
            .extraction
            .and_then(|x| x.invoice.due_date);
        let paid_on = due.unwrap_or(entry.body.date).max(entry.body.date);
        let payment = store
            .pay(
                doc.id,
                open.amount,
                paid_on,
                Some(&format!("VIR-DEMO-{}", doc.id)),
                company.fiscal_year_start_month,
            )
            .await
            .map_err(anyhow::Error::from)?;
        let fx = match &payment.rate {
            Some(r) => {
                let d = payment.exchange_difference;
                let diff = if d > rust_decimal::Decimal::ZERO {
                    format!(", exchange loss {} (666)", crate::ledger::fec::amount(d))
                } else if d < rust_decimal::Decimal::ZERO {
                    format!(", exchange gain {} (766)", crate::ledger::fec::amount(-d))
                } else {
                    String::new()
                };
                format!(
                    " {} on {paid_on} at {}: {} {}{diff}",
                    payment.currency,
                    r.describe(company.currency),
                    crate::ledger::fec::amount(payment.company_amount),
                    company.currency
                )
            }
            None => format!(" {}", payment.currency),
        };
        outln!(
            "paid {}{fx} as {}{}",
            crate::ledger::fec::amount(open.amount),
            payment.entry.entry_number(),
            payment
                .matched
                .map(|c| format!(", lettered {c}: the document is paid"))
                .unwrap_or_default()
        );
        year = Some(payment.entry.fiscal_year);
    }
    let Some(year) = year else {
        return Ok(());
    };
    let path = super::ledger::write_fec(company, store, year, &workspace.join("exports")).await?;
    outln!("FEC of {year}: {}", path.display());
    match store.verify_chain().await.map_err(anyhow::Error::from)? {
        crate::store::ledger::ChainCheck::Holds { entries } => {
            outln!("ledger verify: the hash chain holds ({entries} entries)")
        }
        crate::store::ledger::ChainCheck::Broken { number, why, .. } => {
            outln!("ledger verify: broken at {number}: {why}")
        }
    }
    Ok(())
}

/// The approval requests the demo queued: sent when `[smtp]` is configured, else the first
/// one's links printed (open them with `facteur serve` running).
async fn approval_mail(
    settings: &Settings,
    store: &dyn crate::store::Store,
    config: &std::path::Path,
) -> CmdResult {
    let now = crate::domain::now_micros();
    let due = store
        .outbox_due(now, 100)
        .await
        .map_err(anyhow::Error::from)?;
    let Some(first) = due.first() else {
        return Ok(());
    };
    outln!("\n── approval: {} request(s) queued", due.len());
    if let Some(smtp) = &settings.smtp {
        let sender = crate::notify::SmtpSender::build(smtp, &settings.base_dir)?;
        let sent = crate::notify::send_due(store, &sender, now)
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "sent {sent} approval mail(s) through {}:{}",
            smtp.host,
            smtp.port()
        );
        return Ok(());
    }
    outln!(
        "no [smtp] configured; the first mail, to {}:",
        first.mail.recipient
    );
    outln!("  {}", first.mail.subject);
    for line in first
        .mail
        .body_text
        .lines()
        .filter(|l| l.contains("/approval/"))
    {
        outln!("  {line}");
    }
    outln!(
        "Open a link after starting the pages: facteur --config {} serve",
        config.display()
    );
    Ok(())
}

/// The supplier sends one invoice again, as a mail gateway forwards it: other bytes (a trailer
/// line after %%EOF), the same invoice. Duplicate detection holds it and says why.
async fn resend(
    settings: &Settings,
    store: std::sync::Arc<dyn crate::store::Store>,
    original: &std::path::Path,
    workspace: &std::path::Path,
) -> CmdResult {
    let mut bytes = std::fs::read(original).map_err(anyhow::Error::from)?;
    bytes.extend_from_slice(b"\n% forwarded by the mail gateway\n");
    let dir = workspace.join("resent");
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let name = original
        .file_stem()
        .map(|s| format!("{} (forwarded).pdf", s.to_string_lossy()))
        .unwrap_or_else(|| "forwarded.pdf".into());
    let copy = dir.join(name);
    std::fs::write(&copy, &bytes).map_err(anyhow::Error::from)?;
    outln!(
        "\n── The supplier sends {} again, forwarded by mail:",
        original.display()
    );
    let report = super::ingest::ingest(settings, store.clone(), &[copy], false).await?;
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let doc = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "document {} is {}: {}",
            doc.summary.id,
            doc.summary.state,
            crate::printable::escape(doc.summary.reason.as_deref().unwrap_or(""))
        );
    }
    Ok(())
}
