//! `facteur documents list|show`: what facteur holds, its state and why. Everything that came
//! from outside (file names, subjects, senders, reasons quoting them) is printed escaped.

use super::{table, Cli, CmdResult, Failure};
use crate::domain::{DocumentId, DocumentState};
use crate::printable::escape as esc;
use crate::store::{DocumentSummary, StoreError};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Newest first.
    List {
        /// Only documents in this state (received, read, needs_review, failed, …).
        #[arg(long)]
        state: Option<DocumentState>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Fields, state history with reasons, arrivals and jobs of one document.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (_, store) = super::open_workspace(cli).await?;
    match cmd {
        Command::List { state, limit, json } => {
            let docs = store
                .list_documents(*state, *limit)
                .await
                .map_err(|e| Failure::Other(e.into()))?;
            if *json {
                let mut rows = Vec::new();
                for d in &docs {
                    let mut v = serde_json::to_value(d).map_err(anyhow::Error::from)?;
                    let dups = store
                        .duplicates_of(d.id)
                        .await
                        .map_err(|e| Failure::Other(e.into()))?;
                    v["duplicates"] = serde_json::to_value(dups).map_err(anyhow::Error::from)?;
                    rows.push(v);
                }
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&rows).map_err(anyhow::Error::from)?
                );
            } else if docs.is_empty() {
                outln!(
                    "no documents{}",
                    state.map_or(String::new(), |s| format!(" in state {s}"))
                );
            } else {
                out!("{}", list_table(&docs));
            }
        }
        Command::Show { id, json } => {
            let doc = match store.document(DocumentId(*id)).await {
                Ok(d) => d,
                Err(StoreError::NotFound(what)) => {
                    return Err(Failure::Config(format!(
                        "{what}: see `facteur documents list`"
                    )))
                }
                Err(e) => return Err(Failure::Other(e.into())),
            };
            let mails = store
                .mail_messages_of_document(doc.summary.id)
                .await
                .map_err(|e| Failure::Other(e.into()))?;
            let approvals = store
                .approval_audit(doc.summary.id)
                .await
                .map_err(|e| Failure::Other(e.into()))?;
            if *json {
                let mut v = serde_json::to_value(&doc).map_err(anyhow::Error::from)?;
                v["mail_messages"] = serde_json::to_value(&mails).map_err(anyhow::Error::from)?;
                v["approvals"] = serde_json::to_value(&approvals).map_err(anyhow::Error::from)?;
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(anyhow::Error::from)?
                );
                return Ok(());
            }
            let s = &doc.summary;
            outln!("document {} — {}", s.id, esc(&s.file_name));
            outln!(
                "state:    {}{}",
                s.state,
                s.reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({})", esc(r)))
            );
            outln!(
                "origin:   {} via {}",
                esc(&doc.origin.describe()),
                esc(&s.source)
            );
            outln!("bytes:    {} (sha256 {})", doc.size, doc.content_hash);
            outln!(
                "received: {}",
                s.received_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
            if let Some(x) = &doc.extraction {
                outln!();
                out!("{}", super::extract::describe(x));
            }
            outln!("\nhistory:");
            for e in &doc.events {
                let from = e.from_state.map_or("—".to_string(), |f| f.to_string());
                outln!(
                    "  {}  {from} → {}  {}",
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.to_state,
                    esc(&e.reason)
                );
            }
            if !doc.duplicates.is_empty() {
                outln!("\nduplicates:");
                for d in &doc.duplicates {
                    outln!(
                        "  {:?} {}{} of document {}: {}",
                        d.rule,
                        d.verdict,
                        d.priority.map_or(String::new(), |p| format!(
                            " ({})",
                            format!("{p:?}").to_lowercase()
                        )),
                        d.of,
                        esc(&d.evidence)
                    );
                }
            }
            if !approvals.is_empty() {
                outln!("\napprovals:");
                for a in &approvals {
                    outln!(
                        "  {}  {} {}{}{}  from {} ({})",
                        a.at.format("%Y-%m-%d %H:%M:%S"),
                        esc(&a.actor),
                        a.decision,
                        a.on_behalf_of
                            .as_ref()
                            .map_or(String::new(), |o| format!(" for {}", esc(o))),
                        a.comment
                            .as_ref()
                            .map_or(String::new(), |c| format!(": {}", esc(c))),
                        esc(a.ip.as_deref().unwrap_or("-")),
                        esc(a.user_agent.as_deref().unwrap_or("-"))
                    );
                }
            }
            if doc.arrivals.len() > 1 {
                outln!("\narrivals ({}):", doc.arrivals.len());
                for a in &doc.arrivals {
                    outln!(
                        "  {}  {}  {}",
                        a.at.format("%Y-%m-%d %H:%M:%S"),
                        esc(&a.source),
                        esc(&a.origin.describe())
                    );
                }
            }
            if !mails.is_empty() {
                outln!("\nfrom mail:");
                for m in &mails {
                    outln!(
                        "  {}/{} uid {} — from {} — “{}”{}",
                        m.account,
                        m.folder,
                        m.uid,
                        esc(m.sender.as_deref().unwrap_or("?")),
                        esc(m.subject.as_deref().unwrap_or("")),
                        m.eml_sha256
                            .as_ref()
                            .map_or(String::new(), |h| format!(" (message kept: sha256 {h})"))
                    );
                }
            }
            outln!("\njobs:");
            for j in &doc.jobs {
                outln!(
                    "  #{} {} {} (attempts {}){}",
                    j.id,
                    j.stage,
                    j.status,
                    j.attempts,
                    j.last_error
                        .as_ref()
                        .map_or(String::new(), |e| format!(" last error: {}", esc(e)))
                );
            }
        }
    }
    Ok(())
}

pub fn list_table(docs: &[DocumentSummary]) -> String {
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.state.to_string(),
                d.file_name.clone(),
                d.invoice_number.clone().unwrap_or_default(),
                d.issue_date.map(|x| x.to_string()).unwrap_or_default(),
                d.total_gross
                    .map(|g| format!("{g} {}", d.currency.clone().unwrap_or_default()))
                    .unwrap_or_default(),
                d.supplier_name.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::render(
        &["ID", "STATE", "FILE", "NUMBER", "DATE", "TOTAL", "SUPPLIER"],
        &rows,
        2,
        100,
    )
}

impl clap::ValueEnum for DocumentState {
    fn value_variants<'a>() -> &'a [Self] {
        &DocumentState::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}
