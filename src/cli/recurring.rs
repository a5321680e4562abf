//! `facteur recurring add|list|preview|run`: recurring invoices. `add` reads a schedule file
//! (customer, lines, monthly / quarterly / yearly on a day, start, end or count, `issue`), checks
//! it and saves it; `run` bills every period due by a date once (worker/recurring.rs); `facteur
//! run` does the same each pass.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::customers::refusal;
use super::{table, Cli, CmdResult, Failure};
use crate::receivables::recurring::ScheduleFile;
use crate::worker::recurring;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Save a schedule from a TOML file: name, customer, frequency (monthly|quarterly|yearly),
    /// day, start, end or count, issue (true: issued at once; else drafts), [[line]]s.
    Add { file: PathBuf },
    /// Every schedule, with its periods billed and its next date.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The next billing dates of each schedule, not billed yet.
    Preview {
        /// Dates per schedule.
        #[arg(long, default_value_t = 3)]
        count: usize,
        /// From this day [default: today].
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Bill every period due by DATE that has no invoice yet, each once.
    Run {
        /// [default: today]
        #[arg(long)]
        at: Option<NaiveDate>,
    },
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    let today = || chrono::Local::now().date_naive();
    match cmd {
        Command::Add { file } => {
            let bad = |e: String| Failure::Config(format!("{}: {e}", file.display()));
            let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
            let schedule: ScheduleFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
            schedule.check().map_err(bad)?;
            let customer = store.customer(&schedule.customer).await.map_err(refusal)?;
            let id = store
                .add_schedule(customer.id, &schedule)
                .await
                .map_err(refusal)?;
            let next = schedule.dates().next();
            outln!(
                "schedule {id} '{}' for {}: {} on day {}{}",
                schedule.name,
                customer.details.name,
                schedule.frequency.as_str(),
                schedule.day,
                next.map(|(d, p)| format!(", first {d} ({p})"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::List { json } => {
            let all = store.schedules().await.map_err(super::other)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&all).map_err(super::other)?
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|s| {
                    let next = s
                        .file
                        .dates()
                        .find(|(_, p)| !s.billed.iter().any(|(b, _)| b == p));
                    vec![
                        s.id.to_string(),
                        s.file.name.clone(),
                        s.file.customer.clone(),
                        format!("{} day {}", s.file.frequency.as_str(), s.file.day),
                        if s.file.issue { "issue" } else { "draft" }.to_string(),
                        s.billed.len().to_string(),
                        next.map(|(d, p)| format!("{d} ({p})"))
                            .unwrap_or_else(|| "ended".into()),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &["id", "name", "customer", "every", "mode", "billed", "next"],
                    &rows,
                    1,
                    100
                )
            );
            Ok(())
        }
        Command::Preview { count, from, json } => {
            let from = from.unwrap_or_else(today);
            let next = recurring::upcoming(store.as_ref(), &settings, from, *count)
                .await
                .map_err(super::other)?;
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&next).map_err(super::other)?
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = next
                .iter()
                .map(|o| {
                    vec![
                        o.date.to_string(),
                        o.period.clone(),
                        o.schedule.clone(),
                        format!("{} {}", o.gross, settings.company.currency),
                        if o.issue { "issue" } else { "draft" }.to_string(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &["date", "period", "schedule", "total", "mode"],
                    &rows,
                    2,
                    100
                )
            );
            Ok(())
        }
        Command::Run { at } => {
            let at = at.unwrap_or_else(today);
            let done = recurring::run(store.as_ref(), &settings, at)
                .await
                .map_err(super::other)?;
            for (name, period, sale, number) in &done.billed {
                match number {
                    Some(n) => outln!("  {name} {period}: issued {n} (sale {sale})"),
                    None => outln!("  {name} {period}: draft {sale}"),
                }
            }
            for (name, period, why) in &done.failed {
                outln!("  {name} {period}: not billed, {why}");
            }
            outln!(
                "{at}: {} period(s) billed, {} failed",
                done.billed.len(),
                done.failed.len()
            );
            if done.failed.is_empty() {
                Ok(())
            } else {
                Err(Failure::Partial)
            }
        }
    }
}
