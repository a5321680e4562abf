//! `facteur ledger verify|balance|entries|lock`, `facteur pay` and `facteur export
//! fec|csv|xero|quickbooks|datev`: the book as finance reads it. `verify` exits 0 when the hash chain holds and 1 naming the first broken entry.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{table, Cli, CmdResult, Failure};
use crate::ledger::account::{Chart, Lang};
use crate::ledger::export::{self, Format};
use crate::ledger::fec;
use crate::store::ledger::ChainCheck;
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recompute the hash chain; exit 1 naming the first broken entry.
    Verify,
    /// Trial balance: debit, credit and balance per account (and supplier/customer account).
    Balance {
        /// Up to this date (inclusive).
        #[arg(long)]
        to: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Journal entries in posting order.
    Entries {
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Close a fiscal year: post the next year's opening entry (balances carried forward, the
    /// result into 120/129) and lock the year.
    Close {
        /// The fiscal year, by the calendar year it starts in.
        #[arg(long)]
        year: i32,
        #[arg(long)]
        by: Option<String>,
    },
    /// Open a fiscal year with the balances of a trial balance in CSV
    /// (`account;auxiliary;name;debit;credit`): one opening entry (journal AN) on its first day.
    /// The same file again changes nothing; another opening of that year is refused.
    Open {
        #[arg(long)]
        file: PathBuf,
        /// The fiscal year's first day.
        #[arg(long)]
        date: NaiveDate,
    },
    /// Lock the period up to DATE (inclusive): nothing can be posted in it any more.
    Lock {
        date: NaiveDate,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// First entry date (inclusive).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last entry date (inclusive).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Folder to write the file into.
    #[arg(long)]
    pub out: PathBuf,
    /// Export entries already exported in this format too.
    #[arg(long)]
    pub again: bool,
    /// Xero only: the tax rate name on every line (VAT is on its own lines already).
    #[arg(long, default_value = "No VAT")]
    pub tax_rate: String,
}

#[derive(Debug, clap::Args)]
pub struct DatevArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// The accountant's DATEV number (Beraternummer, 1001–9999999).
    #[arg(long)]
    pub consultant: u32,
    /// The company's number at the accountant (Mandantennummer, 1–99999).
    #[arg(long)]
    pub client: u32,
    /// Account length (Sachkontenlänge, 4–8): account numbers are padded with zeros to it.
    #[arg(long, default_value_t = 8)]
    pub account_length: usize,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Generic journal CSV (a batch: each entry once unless --again).
    Csv(BatchArgs),
    /// Xero manual-journal import CSV (a batch).
    Xero(BatchArgs),
    /// QuickBooks Online journal import CSV (a batch).
    Quickbooks(BatchArgs),
    /// DATEV EXTF Buchungsstapel (v700, Windows-1252; a batch within one fiscal year).
    Datev(DatevArgs),
    /// The FEC of a fiscal year (article A47 A-1 LPF); prints the path of the file written.
    Fec {
        /// The fiscal year, by the calendar year it starts in.
        #[arg(long)]
        year: i32,
        /// Folder to write `<SIREN>FEC<AAAAMMJJ>.txt` into.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// The posted invoice (document id).
    pub document: i64,
    /// Amount paid, in the invoice's currency (`1481.40`).
    #[arg(long)]
    pub amount: rust_decimal::Decimal,
    /// Payment date (`2026-04-10`).
    #[arg(long)]
    pub date: NaiveDate,
    /// The bank's reference (kept as the payment's PieceRef).
    #[arg(long)]
    pub reference: Option<String>,
    /// For an invoice in another currency: the rate the bank applied, in units of that currency
    /// for 1 unit of the company's (`1.0842`) [default: the rates table's on --date].
    #[arg(long)]
    pub rate: Option<String>,
}

pub async fn pay(cli: &Cli, args: &PayArgs) -> CmdResult {
    let (settings, store) = open(cli).await?;
    let id = crate::domain::DocumentId(args.document);
    let rate = args
        .rate
        .as_deref()
        .map(crate::ledger::fx::parse_rate)
        .transpose()
        .map_err(Failure::Config)?;
    let p = store
        .pay_with(
            id,
            args.amount,
            args.date,
            &crate::store::ledger::PayOptions {
                reference: args.reference.as_deref(),
                fiscal_start_month: settings.company.fiscal_year_start_month,
                rate,
            },
        )
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(why) | crate::store::StoreError::Conflict(why) => {
                Failure::Config(why)
            }
            e => other(e),
        })?;
    let what = if p.replayed {
        "already booked"
    } else {
        "booked"
    };
    let company = settings.company.currency;
    let dp = p.currency.minor_unit_digits();
    let fx = match &p.rate {
        None => String::new(),
        Some(r) => {
            let diff = match p.exchange_difference {
                d if d > rust_decimal::Decimal::ZERO => {
                    format!("; exchange loss {} {company} (666)", fec::amount(d))
                }
                d if d < rust_decimal::Decimal::ZERO => {
                    format!("; exchange gain {} {company} (766)", fec::amount(-d))
                }
                _ => String::new(),
            };
            format!(
                " at {}: {} {company}{diff}",
                r.describe(company),
                fec::amount(p.company_amount)
            )
        }
    };
    let cur = if p.rate.is_some() {
        format!(" {}", p.currency)
    } else {
        String::new()
    };
    outln!(
        "document {id}: payment of {}{cur} {what} as {}{fx} ({} open before, {} after)",
        fec::amount_in(args.amount, dp),
        p.entry.entry_number(),
        fec::amount_in(p.open_before, dp),
        fec::amount_in(p.open_after, dp)
    );
    if p.vat_released > rust_decimal::Decimal::ZERO {
        outln!(
            "VAT on receipts now deductible: {} {company} (445668 to 44566)",
            fec::amount(p.vat_released)
        );
    }
    if let Some(code) = p.matched {
        outln!("paid in full: matching code {code}");
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct PayRunArgs {
    /// Execution date of the transfers (and of the payments booked).
    #[arg(long)]
    pub date: NaiveDate,
    /// Pay what is due on or before this date [default: the execution date].
    #[arg(long)]
    pub due_by: Option<NaiveDate>,
    /// Folder to write the pain.001 file into.
    #[arg(long)]
    pub out: PathBuf,
}

/// `facteur pay-run`: every posted invoice due by then, in euros, with a supplier IBAN and no
/// finding a person has not cleared, is paid by SEPA transfer: the payments are booked (bank
/// journal, lettered) and the pain.001.001.03 order for the bank is written. What is held or
/// cannot be paid is listed with why.
pub async fn pay_run(cli: &Cli, args: &PayRunArgs) -> CmdResult {
    use crate::ledger::sepa::{self, Debtor, Transfer};
    let (settings, store) = open(cli).await?;
    let company = &settings.company;
    let Some(iban) = company.iban.clone() else {
        return Err(Failure::Config(
            "a payment run debits the company's account: add iban = \"FR76…\" (and bic) under [company] in facteur.toml".into(),
        ));
    };
    let due_by = args.due_by.unwrap_or(args.date);
    let now = crate::domain::now_micros();
    let run_id = format!("RUN-{}", now.format("%Y%m%d%H%M%S"));
    let mut transfers = Vec::new();
    for (doc, open_amount) in store.open_items().await.map_err(other)? {
        let d = store.document(doc).await.map_err(other)?;
        let Some(x) = d.extraction else { continue };
        let inv = &x.invoice;
        let skip = |why: String| outln!("document {doc}: not paid: {why}");
        if inv
            .due_date
            .or(inv.issue_date)
            .is_some_and(|due| due > due_by)
        {
            continue;
        }
        let Some(to) = inv.seller.iban.clone() else {
            skip("the invoice shows no IBAN".into());
            continue;
        };
        if inv.currency.unwrap_or(company.currency) != crate::domain::Currency::EUR {
            skip("SEPA transfers are in euros".into());
            continue;
        }
        let reference = inv
            .number
            .clone()
            .unwrap_or_else(|| format!("DOC{}", doc.0));
        match store
            .pay(
                doc,
                open_amount,
                args.date,
                Some(&run_id),
                company.fiscal_year_start_month,
            )
            .await
        {
            Ok(_) => transfers.push(Transfer {
                document: doc,
                creditor: inv.seller.name.clone().unwrap_or_default(),
                iban: to,
                amount: open_amount,
                reference,
            }),
            Err(crate::store::StoreError::Invalid(why)) => skip(why),
            Err(e) => return Err(other(e)),
        }
    }
    if transfers.is_empty() {
        outln!("nothing to pay by {due_by}");
        return Ok(());
    }
    let debtor = Debtor {
        name: company.name.clone(),
        iban,
        bic: company.bic.clone(),
    };
    let xml = sepa::write(&run_id, now, args.date, &debtor, &transfers).map_err(other)?;
    std::fs::create_dir_all(&args.out).map_err(other)?;
    let path = args.out.join(format!("pain001-{run_id}.xml"));
    std::fs::write(&path, xml).map_err(other)?;
    let total: rust_decimal::Decimal = transfers.iter().map(|t| t.amount).sum();
    outln!(
        "{} transfer(s), {} EUR, booked as paid on {}; order for the bank: {}",
        transfers.len(),
        fec::amount(total),
        args.date,
        path.display()
    );
    Ok(())
}

pub(super) use super::open_workspace as open;

pub(super) fn other(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Other(e.into())
}

/// The first and last day of fiscal year `year`.
fn fiscal_bounds(year: i32, start_month: u32) -> Result<(NaiveDate, NaiveDate), Failure> {
    fec::fiscal_bounds(year, start_month)
        .ok_or_else(|| Failure::Config(format!("{year} is not a fiscal year")))
}

pub(super) fn who(by: &Option<String>) -> String {
    by.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = open(cli).await?;
    match cmd {
        Command::Close { year, by } => {
            let company = &settings.company;
            let (start, end) = fiscal_bounds(*year, company.fiscal_year_start_month)?;
            let entries: Vec<_> = store
                .ledger_entries(Some(start), Some(end))
                .await
                .map_err(other)?;
            let opens = end.succ_opt().unwrap_or(end);
            if let Some(opening) =
                crate::ledger::close::opening_entry(&entries, opens, company.currency)
                    .map_err(|e| Failure::Config(e.to_string()))?
            {
                let posted = store
                    .post_entry(&opening, company.fiscal_year_start_month)
                    .await
                    .map_err(other)?;
                outln!(
                    "opening entry {} of {opens}: {} lines",
                    posted.entry_number(),
                    posted.body.lines.len()
                );
            }
            let by = who(by);
            store.lock_period(end, &by).await.map_err(other)?;
            outln!("fiscal year {year} closed: locked up to {end} (by {by})");
            Ok(())
        }
        Command::Verify => match store.verify_chain().await.map_err(other)? {
            ChainCheck::Holds { entries } => {
                outln!("ledger chain holds: {entries} entries verified");
                Ok(())
            }
            ChainCheck::Broken { id, number, why } => {
                outln!("ledger chain broken at entry {id} ({number}): {why}");
                Err(Failure::Partial)
            }
        },
        Command::Balance { to, json } => {
            let rows = store.trial_balance(*to).await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&rows).map_err(other)?);
                return Ok(());
            }
            let chart = Chart::pcg();
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|b| {
                    vec![
                        b.account.clone(),
                        b.auxiliary.clone().unwrap_or_default(),
                        chart.label(&b.account, Lang::Fr),
                        fec::amount(b.debit),
                        fec::amount(b.credit),
                        fec::amount(b.net()),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &["ACCOUNT", "AUX", "LABEL", "DEBIT", "CREDIT", "BALANCE"],
                    &body,
                    2,
                    60
                )
            );
            let total: rust_decimal::Decimal = rows.iter().map(|b| b.net()).sum();
            outln!("total balance: {}", fec::amount(total));
            Ok(())
        }
        Command::Entries { from, to, json } => {
            let entries = store.ledger_entries(*from, *to).await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&entries).map_err(other)?);
                return Ok(());
            }
            let mut body = Vec::new();
            let foreign = entries
                .iter()
                .any(|e| e.body.lines.iter().any(|l| l.foreign.is_some()));
            for e in &entries {
                for l in &e.body.lines {
                    let mut row = vec![
                        e.entry_number(),
                        e.body.date.to_string(),
                        l.account.to_string(),
                        l.auxiliary
                            .as_ref()
                            .map(|a| a.code.clone())
                            .unwrap_or_default(),
                        crate::printable::escape(&l.label).into_owned(),
                        fec::amount(l.debit),
                        fec::amount(l.credit),
                    ];
                    if foreign {
                        row.push(
                            l.foreign
                                .as_ref()
                                .map(|f| {
                                    format!(
                                        "{} {} @ {}",
                                        fec::amount_in(f.amount, f.currency.minor_unit_digits()),
                                        f.currency,
                                        f.rate
                                    )
                                })
                                .unwrap_or_default(),
                        );
                    }
                    body.push(row);
                }
            }
            let mut header = vec![
                "ENTRY", "DATE", "ACCOUNT", "AUX", "LABEL", "DEBIT", "CREDIT",
            ];
            if foreign {
                header.push("IN CURRENCY @ RATE");
            }
            let width = if foreign { 110 } else { 50 };
            out!("{}", table::render(&header, &body, 4, width));
            Ok(())
        }
        Command::Open { file, date } => open_year(&settings, store.as_ref(), file, *date).await,
        Command::Lock { date, by } => {
            let by = who(by);
            store.lock_period(*date, &by).await.map_err(other)?;
            outln!("ledger locked up to {date} (by {by})");
            Ok(())
        }
    }
}

/// `ledger open`: the opening entry of the year starting on `date`, from a trial balance.
async fn open_year(
    settings: &crate::config::Settings,
    store: &dyn Store,
    file: &std::path::Path,
    date: NaiveDate,
) -> CmdResult {
    use crate::ledger::opening;
    let company = &settings.company;
    let year = crate::store::ledger::fiscal_year(date, company.fiscal_year_start_month);
    let (start, _) = fiscal_bounds(year, company.fiscal_year_start_month)?;
    if start != date {
        return Err(Failure::Config(format!(
            "{date} is not the first day of a fiscal year (fiscal year {year} starts on {start})"
        )));
    }
    let where_ = |e: String| Failure::Config(format!("{}: {e}", file.display()));
    let size = std::fs::metadata(file)
        .map_err(|e| where_(e.to_string()))?
        .len();
    if size > crate::ledger::bank::MAX_BYTES as u64 {
        return Err(where_(format!(
            "{size} bytes is too large for a trial balance"
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| where_(e.to_string()))?;
    let balances = opening::parse(&bytes, &Chart::pcg()).map_err(|e| where_(e.to_string()))?;
    let entry =
        opening::entry(&balances, date, company.currency).map_err(|e| where_(e.to_string()))?;
    let earlier = store
        .fiscal_year_entries(year)
        .await
        .map_err(other)?
        .into_iter()
        .find(|e| e.body.journal == crate::ledger::Journal::Opening);
    match store
        .post_entry(&entry, company.fiscal_year_start_month)
        .await
    {
        Ok(posted) if earlier.is_some() => {
            outln!(
                "fiscal year {year} was opened with this trial balance already: {}",
                posted.entry_number()
            );
            Ok(())
        }
        Ok(posted) => {
            outln!(
                "fiscal year {year} opened: {} on {date}, {} lines",
                posted.entry_number(),
                posted.body.lines.len()
            );
            Ok(())
        }
        Err(crate::store::StoreError::Conflict(_)) => Err(Failure::Config(format!(
            "fiscal year {year} has an opening entry already ({}), and this trial balance says \
             otherwise: a year opens once (post corrections in the OD journal)",
            earlier.map(|e| e.entry_number()).unwrap_or_default()
        ))),
        Err(crate::store::StoreError::Invalid(why)) => Err(Failure::Config(why)),
        Err(e) => Err(other(e)),
    }
}

/// Writes one batch: the file under a temporary name, the batch recorded, then the final name,
/// so a failure leaves neither a file without its record nor entries marked but not written.
async fn batch(store: &dyn Store, format: Format, a: &BatchArgs) -> CmdResult {
    batch_of(store, format.as_str(), a, |entries| {
        export::write(format, entries, &Chart::pcg(), &a.tax_rate).map_err(other)
    })
    .await
}

/// One batch of format `f`, its bytes made by `write` from the entries not exported yet.
async fn batch_of(
    store: &dyn Store,
    f: &str,
    a: &BatchArgs,
    write: impl FnOnce(&[crate::ledger::PostedEntry]) -> Result<Vec<u8>, Failure>,
) -> CmdResult {
    let entries = store
        .entries_to_export(f, a.from, a.to, a.again)
        .await
        .map_err(other)?;
    if entries.is_empty() {
        outln!("nothing to export to {f} in that period (already exported: add --again)");
        return Ok(());
    }
    let bytes = write(&entries)?;
    std::fs::create_dir_all(&a.out).map_err(other)?;
    let span = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_else(|| "all".into())
    };
    let stamp = crate::domain::now_micros().format("%Y%m%dT%H%M%S%6f");
    // DATEV's import looks for files named EXTF_….
    let prefix = if f == "datev" {
        "EXTF_Buchungsstapel_"
    } else {
        ""
    };
    let path = a.out.join(format!(
        "{prefix}facteur-{f}-{}-{}-{stamp}.csv",
        span(a.from),
        span(a.to)
    ));
    let partial = path.with_extension("csv.partial");
    std::fs::write(&partial, &bytes).map_err(other)?;
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let recorded = store
        .record_export(f, a.from, a.to, &ids, &path.display().to_string(), a.again)
        .await;
    if let Err(e) = recorded {
        let _ = std::fs::remove_file(&partial);
        return Err(other(e));
    }
    std::fs::rename(&partial, &path).map_err(other)?;
    outln!("{}", path.display());
    Ok(())
}

/// Writes the FEC of fiscal `year` into `out` and returns its path.
pub(crate) async fn write_fec(
    company: &crate::config::CompanySettings,
    store: &dyn Store,
    year: i32,
    out: &std::path::Path,
) -> Result<PathBuf, Failure> {
    let Some(siren) = &company.siren else {
        return Err(Failure::Config(
            "the FEC is named after the company's SIREN: add siren = \"…\" under [company] in facteur.toml".into(),
        ));
    };
    let (_, end) = fiscal_bounds(year, company.fiscal_year_start_month)?;
    let entries = store.fiscal_year_entries(year).await.map_err(other)?;
    std::fs::create_dir_all(out).map_err(other)?;
    let path = out.join(fec::file_name(siren.as_str(), end));
    std::fs::write(&path, fec::write(&entries, &Chart::pcg())).map_err(other)?;
    Ok(path)
}

pub async fn export(cli: &Cli, cmd: &ExportCommand) -> CmdResult {
    let (settings, store) = open(cli).await?;
    match cmd {
        ExportCommand::Csv(a) => batch(store.as_ref(), Format::Csv, a).await,
        ExportCommand::Xero(a) => batch(store.as_ref(), Format::Xero, a).await,
        ExportCommand::Quickbooks(a) => batch(store.as_ref(), Format::QuickBooks, a).await,
        ExportCommand::Datev(d) => {
            let company = &settings.company;
            let (Some(from), Some(to)) = (d.batch.from, d.batch.to) else {
                return Err(Failure::Config(
                    "a DATEV batch is one period of one fiscal year: give --from and --to".into(),
                ));
            };
            let year = crate::store::ledger::fiscal_year(from, company.fiscal_year_start_month);
            let (start, _) = fiscal_bounds(year, company.fiscal_year_start_month)?;
            let header = crate::ledger::datev::Header {
                consultant: d.consultant,
                client: d.client,
                fiscal_year_start: start,
                account_length: d.account_length,
                from,
                to,
                currency: company.currency.to_string(),
                created: crate::domain::now_micros(),
            };
            header.check().map_err(Failure::Config)?;
            batch_of(store.as_ref(), "datev", &d.batch, |entries| {
                Ok(crate::ledger::datev::write(entries, &header))
            })
            .await
        }
        ExportCommand::Fec { year, out } => {
            let path = write_fec(&settings.company, store.as_ref(), *year, out).await?;
            outln!("{}", path.display());
            Ok(())
        }
    }
}
