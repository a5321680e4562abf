//! The recurring billing run of `facteur recurring run` and of `facteur run`: every schedule's
//! billing dates up to a day that have no invoice yet, oldest first across schedules (issued
//! numbers follow the dates), each billed by `RecurringStore::bill_period` in one transaction
//! that a second run or a rerun after a crash finds and leaves alone. `upcoming` is what
//! `recurring preview` shows. The day is a parameter, so tests move the clock.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::receivables::sale::{DraftFile, NewSale};
use crate::receivables::{finish, Seller};
use crate::store::recurring::{IssueWith, Schedule};
use crate::store::{Store, StoreError};

/// One billing date of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub schedule: String,
    pub date: NaiveDate,
    pub period: String,
    pub gross: Decimal,
    pub issue: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Billed {
    /// (schedule, period, sale id, number when issued).
    pub billed: Vec<(String, String, i64, Option<String>)>,
    /// (schedule, period, why it failed): the period stays unbilled for the next run.
    pub failed: Vec<(String, String, String)>,
}

fn draft_of(s: &Schedule, period: &str, settings: &Settings) -> Result<NewSale, String> {
    let f = &s.file;
    NewSale::draft(
        s.customer_id,
        settings.company.currency,
        DraftFile {
            customer: f.customer.clone(),
            currency: None,
            note: f.note_for(period),
            vat_exemption: f.vat_exemption.clone(),
            lines: f.lines.clone(),
        },
    )
}

/// The next `count` billing dates of each schedule not billed yet, from `from` on.
pub async fn upcoming(
    store: &dyn Store,
    settings: &Settings,
    from: NaiveDate,
    count: usize,
) -> Result<Vec<Occurrence>, StoreError> {
    let mut out = Vec::new();
    for s in store.schedules().await? {
        let gross = draft_of(&s, "", settings)
            .map(|d| d.totals.gross)
            .unwrap_or_default();
        out.extend(
            s.file
                .dates()
                .filter(|(d, p)| *d >= from && !s.billed.iter().any(|(b, _)| b == p))
                .take(count)
                .map(|(date, period)| Occurrence {
                    schedule: s.file.name.clone(),
                    date,
                    period,
                    gross,
                    issue: s.file.issue,
                }),
        );
    }
    out.sort_by(|a, b| (a.date, &a.schedule).cmp(&(b.date, &b.schedule)));
    Ok(out)
}

/// Bills every period due by `at` that has no invoice yet (see the module's doc).
pub async fn run(
    store: &dyn Store,
    settings: &Settings,
    at: NaiveDate,
) -> Result<Billed, StoreError> {
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let series = settings.sales.series();
    let finisher = |i: &crate::receivables::Issuing| finish(seller, i);
    let mut due: Vec<(NaiveDate, String, Schedule)> = Vec::new();
    for s in store.schedules().await? {
        for (date, period) in s.file.dates().take_while(|(d, _)| *d <= at) {
            if !s.billed.iter().any(|(b, _)| *b == period) {
                due.push((date, period, s.clone()));
            }
        }
    }
    due.sort_by(|a, b| (a.0, &a.2.file.name).cmp(&(b.0, &b.2.file.name)));
    let mut report = Billed::default();
    for (date, period, s) in due {
        let name = s.file.name.clone();
        let sale = match draft_of(&s, &period, settings) {
            Ok(sale) => sale,
            Err(why) => {
                report.failed.push((name, period, why));
                continue;
            }
        };
        let issue = IssueWith {
            date,
            series: &series,
            fiscal_start_month: settings.company.fiscal_year_start_month,
            finish: &finisher,
        };
        let issue = s.file.issue.then_some(&issue);
        match store.bill_period(s.id, &period, &sale, issue).await {
            Ok(Some(b)) => report.billed.push((name, period, b.id, b.number)),
            Ok(None) => {}
            Err(StoreError::Invalid(why) | StoreError::Conflict(why)) => {
                report.failed.push((name, period, why))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// The named lease under which one worker at a time runs this pass.
pub const LEASE: &str = "scheduler:recurring";

/// The recurring pass of `facteur run`, with the reminders' interval.
pub async fn run_loop(
    store: Arc<dyn Store>,
    settings: Arc<Settings>,
    owner: String,
    shutdown: CancellationToken,
) {
    let (s, set) = (&store, &settings);
    super::daily_pass(
        store.clone(),
        &settings,
        LEASE,
        &owner,
        shutdown,
        |today| async move {
            match run(s.as_ref(), set, today).await {
                Ok(b) if b.billed.is_empty() && b.failed.is_empty() => {}
                Ok(b) => tracing::info!(
                    billed = b.billed.len(),
                    failed = b.failed.len(),
                    "recurring invoices billed"
                ),
                Err(e) => tracing::warn!(error = %e, "recurring run failed"),
            }
        },
    )
    .await
}
