//! `facteur review list|show|accept|reject|not-duplicate`: the queue of documents that wait for a
//! person (a reading not trusted, a suspected or blocked duplicate) and the decisions on them.
//! Every decision needs a reason and is recorded with who made it, in the document's history.

use serde::Serialize;

use super::{documents, table, Cli, CmdResult, Failure};
use crate::domain::correction::prepare;
use crate::domain::DocumentId;
use crate::store::duplicates::DuplicateRecord;
use crate::store::review::Decision;
use crate::store::{DocumentSummary, StoreError};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// What waits for a person, oldest first, with why.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One document with its fields, confidences and the duplicate evidence.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// The reading is right, or the duplicate suspicion unfounded: the document goes on.
    Accept(DecisionArgs),
    /// Not to be paid.
    Reject(DecisionArgs),
    /// Overrides the duplicate findings (a block too): the document goes on to approval.
    NotDuplicate(DecisionArgs),
    /// Corrects fields (`total_gross=1481.40 issue_date=2026-03-12 …`); the reading is validated
    /// again and goes back through the duplicate checks.
    Correct {
        id: i64,
        /// `field=value` pairs: invoice_number, issue_date, due_date, currency, total_net,
        /// total_tax, total_gross, supplier_name, supplier_vat_id, supplier_iban, supplier_siret.
        #[arg(required = true)]
        fields: Vec<String>,
        /// Who corrects [default: $USER].
        #[arg(long)]
        by: Option<String>,
        /// Remember the corrected supplier_name for this supplier's next invoices (recognised
        /// by the VAT id, SIRET or IBAN on the page).
        #[arg(long)]
        remember: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    pub id: i64,
    /// Why (kept in the document's history and on the overridden findings).
    #[arg(long)]
    pub reason: String,
    /// Who decides [default: $USER].
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Serialize)]
struct Waiting {
    #[serde(flatten)]
    summary: DocumentSummary,
    duplicates: Vec<DuplicateRecord>,
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    let fail = |e: StoreError| match e {
        StoreError::NotFound(what) => Failure::Config(format!("{what}: see `facteur review list`")),
        StoreError::Invalid(why) | StoreError::Stale(why) => Failure::Config(why),
        e => Failure::Other(e.into()),
    };
    let (args, decision) = match cmd {
        Command::List { limit, json } => {
            let docs = store.review_queue(*limit).await.map_err(fail)?;
            if *json {
                let mut waiting = Vec::new();
                for summary in docs {
                    let duplicates = store.duplicates_of(summary.id).await.map_err(fail)?;
                    waiting.push(Waiting {
                        summary,
                        duplicates,
                    });
                }
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&waiting).map_err(anyhow::Error::from)?
                );
            } else if docs.is_empty() {
                outln!("nothing waits for review");
            } else {
                out!("{}", queue_table(&docs));
            }
            return Ok(());
        }
        Command::Show { id, json } => {
            let show = documents::Command::Show {
                id: *id,
                json: *json,
            };
            return documents::run(cli, &show).await;
        }
        Command::Correct {
            id,
            fields,
            by,
            remember,
        } => {
            return correct(
                store.as_ref(),
                DocumentId(*id),
                fields,
                *remember,
                by.clone(),
                settings.read.review_threshold,
            )
            .await
            .map_err(fail);
        }
        Command::Accept(a) => (a, Decision::Accept),
        Command::Reject(a) => (a, Decision::Reject),
        Command::NotDuplicate(a) => (a, Decision::NotDuplicate),
    };
    let id = DocumentId(args.id);
    let seen = store.document(id).await.map_err(fail)?.summary.state;
    let by = who(args.by.clone());
    let to = store
        .review_decide(id, seen, decision, &by, &args.reason, crate::stages::BUILT)
        .await
        .map_err(fail)?;
    outln!(
        "document {id}: {seen} → {to} ({} by {by})",
        decision.as_str()
    );
    Ok(())
}

/// Who decides: `--by`, else `$USER`.
fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

/// `review correct`: parse, apply, validate, then save and re-check in one store call.
async fn correct(
    store: &dyn crate::store::Store,
    id: DocumentId,
    fields: &[String],
    remember: bool,
    by: Option<String>,
    threshold: f32,
) -> Result<(), StoreError> {
    let invalid = StoreError::Invalid;
    let doc = store.document(id).await?;
    let Some(x) = doc.extraction else {
        return Err(invalid(format!("document {id} has no reading to correct")));
    };
    let (corrected, hints) = prepare(x, fields, remember, threshold).map_err(|e| {
        invalid(format!(
            "{e}{}",
            if e.starts_with("still not sure") {
                format!(" (or `review accept {id} --reason …`)")
            } else {
                String::new()
            }
        ))
    })?;
    let what = fields.join(", ");
    let by = who(by);
    let to = store
        .review_correct(
            id,
            doc.summary.state,
            &corrected,
            &hints,
            &by,
            &what,
            crate::stages::BUILT,
        )
        .await?;
    outln!(
        "document {id}: {} → {to} (corrected by {by}: {}); duplicate checks run again",
        doc.summary.state,
        crate::printable::escape(&what)
    );
    for h in &hints {
        outln!(
            "remembered: {} = {} for the supplier with {} {}",
            h.field.as_str(),
            crate::printable::escape(&h.value),
            h.key.kind(),
            h.key.value()
        );
    }
    Ok(())
}

fn queue_table(docs: &[DocumentSummary]) -> String {
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.state.to_string(),
                d.invoice_number.clone().unwrap_or_default(),
                d.supplier_name.clone().unwrap_or_default(),
                d.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::render(&["ID", "STATE", "NUMBER", "SUPPLIER", "WHY"], &rows, 2, 100)
}
