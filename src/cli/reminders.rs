//! `facteur reminders preview|run`: the reminders (relances) due at a date, by each customer's
//! ladder (`[reminders]`), for the issued invoices the ledger says are still owed. `preview`
//! shows them (a table, or `--json`), `run` records and queues them (worker/reminders.rs has
//! the rules; `facteur run` does the same every `every_minutes`).

use chrono::NaiveDate;

use super::{table, Cli, CmdResult};
use crate::worker::reminders::{self, Action};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// What a run would send (and hold, and why), invoice by invoice.
    Preview {
        /// The day of the run [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Send the reminders due: each step once per invoice, the latest due only.
    Run {
        /// The day of the run [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    let today = || chrono::Local::now().date_naive();
    match cmd {
        Command::Preview { at, json } => {
            let at = at.unwrap_or_else(today);
            let plan = reminders::plan(store.as_ref(), &settings, at)
                .await
                .map_err(super::other)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&plan).map_err(super::other)?
                );
                return Ok(());
            }
            if plan.is_empty() {
                outln!("{at}: no reminder due / aucune relance à envoyer");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = plan
                .iter()
                .map(|p| {
                    vec![
                        p.number.clone(),
                        p.customer.clone(),
                        p.due.to_string(),
                        p.days_past_due.to_string(),
                        format!("{} {}", p.open, p.currency),
                        format!("{} {}", p.step_label, p.step.template.as_str()),
                        match &p.action {
                            Action::Send => format!("send to {}", p.to.as_deref().unwrap_or("")),
                            Action::Hold(why) => format!("hold: {why}"),
                        },
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &[
                        "invoice",
                        "customer",
                        "due",
                        "days late",
                        "open",
                        "step",
                        "action"
                    ],
                    &rows,
                    6,
                    100
                )
            );
            Ok(())
        }
        Command::Run { at } => {
            let at = at.unwrap_or_else(today);
            let report = reminders::run(store.as_ref(), &settings, at)
                .await
                .map_err(super::other)?;
            for (number, step, id) in &report.queued {
                outln!("  {number}: {step} queued ({id})");
            }
            for (number, why) in &report.skipped {
                outln!("  {number}: not sent, {why}");
            }
            outln!(
                "{at}: {} reminder(s) queued, {} not sent{}",
                report.queued.len(),
                report.skipped.len(),
                if settings.smtp.is_some() || report.queued.is_empty() {
                    ""
                } else {
                    " (no [smtp] configured: they wait in the outbox)"
                }
            );
            Ok(())
        }
    }
}
