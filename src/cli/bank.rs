//! `facteur bank import|lines|match`: bank statements in, each line matched to the supplier
//! invoice it pays and booked through the ledger's ordinary payment (`pay`: Dr 401 / Cr 512,
//! lettrage when settled), or linked to the payment already booked (a payment run); money in
//! is matched to the customer invoice it pays and booked Dr 512 / Cr 411 (`receive_payment`);
//! what facteur cannot match for sure waits for a person (ledger/bank/matching.rs has the rules).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::ledger::{open, other, who};
use super::{table, Cli, CmdResult, Failure};
use crate::config::Settings;
use crate::domain::DocumentId;
use crate::ledger::account::pcg;
use crate::ledger::bank::matching::{decide, decide_receipt, Decision, OpenInvoice, Receipt};
use crate::ledger::fec;
use crate::store::bank::{BankLine, StatementFile};
use crate::store::{Store, StoreError};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import a statement (CAMT.053 XML, or the CSV `date;amount;reference;counterparty;iban`):
    /// each line is recorded once, matched to the invoice it pays and booked when the match is
    /// sure; the rest waits for a person.
    Import {
        file: PathBuf,
        /// The ledger's bank account the statement is for.
        #[arg(long, default_value = pcg::BANK)]
        account: String,
    },
    /// Statement lines, with the invoice each pays and the payment that books it.
    Lines {
        /// Only the lines no payment books yet.
        #[arg(long)]
        unmatched: bool,
        #[arg(long)]
        json: bool,
    },
    /// Match a waiting line to the invoice it pays, by hand, and book the payment.
    Match {
        /// The statement line (its id in `bank lines`).
        line: i64,
        /// The posted supplier invoice it pays (document id).
        #[arg(long, required_unless_present = "sale", conflicts_with = "sale")]
        document: Option<i64>,
        /// The issued customer invoice it pays (sale id, `facteur sales list`): money in.
        #[arg(long)]
        sale: Option<i64>,
        #[arg(long)]
        by: Option<String>,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = open(cli).await?;
    match cmd {
        Command::Import { file, account } => import(&settings, store.as_ref(), file, account).await,
        Command::Lines { unmatched, json } => {
            let lines = store.bank_lines(*unmatched).await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&lines).map_err(other)?);
                return Ok(());
            }
            let body: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    vec![
                        l.id.to_string(),
                        l.line.booking_date.to_string(),
                        fec::amount(l.line.amount),
                        l.line.reference.clone(),
                        l.line.counterparty.clone().unwrap_or_default(),
                        match (l.document, l.sale) {
                            (Some(d), _) => d.to_string(),
                            (None, Some(s)) => format!("sale {s}"),
                            (None, None) => String::new(),
                        },
                        match (l.entry, &l.note) {
                            (Some(e), _) => format!("booked (entry {e})"),
                            (None, Some(n)) => n.clone(),
                            (None, None) => "waiting".into(),
                        },
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &[
                        "LINE",
                        "DATE",
                        "AMOUNT",
                        "REFERENCE",
                        "COUNTERPARTY",
                        "DOC",
                        "STATUS"
                    ],
                    &body,
                    3,
                    100
                )
            );
            Ok(())
        }
        Command::Match {
            line,
            sale: Some(sale),
            by,
            ..
        } => {
            let p = store
                .receive_payment(
                    *line,
                    *sale,
                    &who(by),
                    settings.company.fiscal_year_start_month,
                )
                .await
                .map_err(refused)?;
            outln!(
                "statement line {line} pays invoice {}: booked as {}, {} still open",
                p.number,
                p.entry.entry_number(),
                p.open_after
            );
            Ok(())
        }
        Command::Match {
            line, document, by, ..
        } => {
            let Some(document) = document else {
                return Err(Failure::Config(
                    "say which invoice the line pays: --document ID (supplier) or --sale ID (customer)".into(),
                ));
            };
            let l = store.bank_line(*line).await.map_err(refused)?;
            if let Some(e) = l.entry {
                return Err(Failure::Config(format!(
                    "statement line {line} is booked already (entry {e})"
                )));
            }
            if l.line.amount >= rust_decimal::Decimal::ZERO {
                return Err(Failure::Config(format!(
                    "statement line {line} is money in: only payments out are matched to supplier invoices; a customer's payment is matched with --sale ID"
                )));
            }
            let doc = DocumentId(*document);
            store
                .claim_bank_line(l.id, doc, &who(by))
                .await
                .map_err(refused)?;
            match settle(&settings, store.as_ref(), &l, doc).await? {
                Ok(number) => {
                    outln!("statement line {line} pays document {doc}: booked as {number}");
                    Ok(())
                }
                Err(why) => Err(Failure::Config(format!(
                    "statement line {line} waits: {why}"
                ))),
            }
        }
    }
}

fn refused(e: StoreError) -> Failure {
    match e {
        StoreError::NotFound(_) | StoreError::Conflict(_) | StoreError::Invalid(_) => {
            Failure::Config(e.to_string())
        }
        e => other(e),
    }
}

/// The payment's PieceRef: the bank's reference of the line, else the line's id.
fn payment_ref(l: &BankLine) -> String {
    l.line
        .bank_ref
        .clone()
        .unwrap_or_else(|| format!("RELEVE-{}", l.id))
}

/// Books line `l` as the payment of `doc` and links it: the entry number, or why it waits
/// (noted on the line). Booked on 512, which is where `pay` books.
async fn settle(
    settings: &Settings,
    store: &dyn Store,
    l: &BankLine,
    doc: DocumentId,
) -> Result<Result<String, String>, Failure> {
    let paid = store
        .pay(
            doc,
            -l.line.amount,
            l.line.booking_date,
            Some(&payment_ref(l)),
            settings.company.fiscal_year_start_month,
        )
        .await;
    match paid {
        Ok(p) => {
            store
                .link_bank_line(l.id, p.entry.id)
                .await
                .map_err(other)?;
            Ok(Ok(p.entry.entry_number()))
        }
        Err(StoreError::Invalid(why) | StoreError::NotFound(why)) => {
            store.note_bank_line(l.id, &why).await.map_err(other)?;
            Ok(Err(why))
        }
        Err(e) => Err(other(e)),
    }
}

/// `bank import FILE` (the demo imports its statement the same way).
pub(super) async fn import(
    settings: &Settings,
    store: &dyn Store,
    file: &std::path::Path,
    account: &str,
) -> CmdResult {
    let account = crate::ledger::AccountNumber::parse(account).map_err(Failure::Config)?;
    if account.as_str() != pcg::BANK {
        return Err(Failure::Config(format!(
            "--account {account}: payments are booked on {} only for now (`pay` has no bank \
             account yet); import this account's statements once it has",
            pcg::BANK
        )));
    }
    let meta =
        std::fs::metadata(file).map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
    if meta.len() > crate::ledger::bank::MAX_BYTES as u64 {
        return Err(Failure::Config(format!(
            "{}: {}",
            file.display(),
            crate::ledger::bank::BankError::TooLarge(meta.len() as usize)
        )));
    }
    let bytes =
        std::fs::read(file).map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
    let company = &settings.company;
    let statement = crate::ledger::bank::parse(&bytes, company.currency)
        .map_err(|e| Failure::Config(format!("{}: {e}", file.display())))?;
    if let (Some(ours), Some(theirs)) = (&company.iban, &statement.iban) {
        if ours.as_str() != theirs {
            return Err(Failure::Config(format!(
                "{}: a statement of account {theirs}, and the company's account ([company] iban) is {}",
                file.display(),
                ours.as_str()
            )));
        }
    }
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha = hex::encode(Sha256::digest(&bytes));
    let rec = store
        .record_statement(
            &StatementFile {
                account: account.as_str(),
                format: statement.format,
                source: &source,
                sha256: &sha,
                iban: statement.iban.as_deref(),
            },
            &statement.lines,
        )
        .await
        .map_err(other)?;
    outln!(
        "{source}: {}, {} line(s): {} new, {} already imported",
        statement.format,
        statement.lines.len(),
        rec.new,
        rec.known
    );
    for s in &statement.skipped {
        outln!("  skipped {s}");
    }
    reconcile(settings, store, account.as_str()).await
}

/// Matches every waiting line of `account` (new ones and those that waited before: an invoice
/// may have been posted since).
async fn reconcile(settings: &Settings, store: &dyn Store, account: &str) -> CmdResult {
    let mut invoices: Vec<OpenInvoice> = store.open_invoices().await.map_err(other)?;
    for i in &mut invoices {
        i.iban = store
            .document(i.document)
            .await
            .map_err(other)?
            .extraction
            .and_then(|x| x.invoice.seller.iban)
            .map(|b| b.as_str().to_string());
    }
    let mut booked = store.unlinked_payments().await.map_err(other)?;
    let mut sales = store.open_sales().await.map_err(other)?;
    let (mut paid, mut linked, mut waiting) = (0, 0, 0);
    let currency = settings.company.currency;
    for l in store.bank_lines(true).await.map_err(other)? {
        if l.account != account {
            continue;
        }
        if l.line.amount > rust_decimal::Decimal::ZERO && l.document.is_none() {
            let why = match decide_receipt(&l.line, currency, &sales) {
                Receipt::Pay { sale, rule } => {
                    let by = format!("facteur: {rule}");
                    let fiscal = settings.company.fiscal_year_start_month;
                    match store.receive_payment(l.id, sale, &by, fiscal).await {
                        Ok(p) => {
                            sales
                                .iter_mut()
                                .filter(|s| s.sale == sale)
                                .for_each(|s| s.open = p.open_after);
                            sales.retain(|s| s.open > rust_decimal::Decimal::ZERO);
                            outln!(
                                "  line {}: pays invoice {} ({rule}): booked as {}, {} still open",
                                l.id,
                                p.number,
                                p.entry.entry_number(),
                                p.open_after
                            );
                            paid += 1;
                            continue;
                        }
                        Err(
                            StoreError::Invalid(why)
                            | StoreError::Conflict(why)
                            | StoreError::NotFound(why),
                        ) => format!("money in: {why}"),
                        Err(e) => return Err(other(e)),
                    }
                }
                Receipt::Wait(why) => why,
            };
            store.note_bank_line(l.id, &why).await.map_err(other)?;
            outln!("  line {} waits: {why}", l.id);
            waiting += 1;
            continue;
        }
        let decision = match l.document {
            // Claimed by an earlier run or a person, not booked yet: book it now.
            Some(document) => Decision::Pay {
                document,
                rule: "claimed earlier",
            },
            None => decide(&l.line, currency, &invoices, &booked),
        };
        match decision {
            Decision::Booked { entry, document } => {
                store
                    .claim_bank_line(l.id, document, "facteur: payment already booked")
                    .await
                    .map_err(other)?;
                store.link_bank_line(l.id, entry).await.map_err(other)?;
                booked.retain(|b| b.entry != entry);
                outln!(
                    "  line {}: already booked (entry {entry}), document {document}",
                    l.id
                );
                linked += 1;
            }
            Decision::Pay { document, rule } => {
                if l.document.is_none() {
                    store
                        .claim_bank_line(l.id, document, &format!("facteur: {rule}"))
                        .await
                        .map_err(other)?;
                }
                match settle(settings, store, &l, document).await? {
                    Ok(number) => {
                        let amount = -l.line.amount;
                        invoices
                            .iter_mut()
                            .filter(|i| i.document == document)
                            .for_each(|i| i.open -= amount);
                        invoices.retain(|i| i.open > rust_decimal::Decimal::ZERO);
                        outln!(
                            "  line {}: pays document {document} ({rule}): booked as {number}",
                            l.id
                        );
                        paid += 1;
                    }
                    Err(why) => {
                        outln!("  line {} waits: {why}", l.id);
                        waiting += 1;
                    }
                }
            }
            Decision::Wait(why) => {
                store.note_bank_line(l.id, &why).await.map_err(other)?;
                outln!("  line {} waits: {why}", l.id);
                waiting += 1;
            }
        }
    }
    outln!(
        "{paid} paid, {linked} linked to payments already booked, {waiting} waiting for a person{}",
        if waiting > 0 {
            " (facteur bank lines --unmatched; facteur bank match LINE --document ID)"
        } else {
            ""
        }
    );
    Ok(())
}
