//! The reminder run (relances) of `facteur reminders preview|run` and of `facteur run`: reads
//! the issued invoices still owed at a date from the ledger (`CollectionStore::receivables`),
//! asks each customer's ladder which step is due (`receivables::reminders`), and records each
//! reminder with its mail in one transaction (`record_reminder`), which checks once more that
//! the invoice is owed and not disputed and refuses a step sent already. `plan` is what
//! `preview` shows; `run` sends. Both take the day as a parameter, so tests move the clock.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::receivables::reminders::Step;
use crate::receivables::templates::{self, Facts};
use crate::receivables::Seller;
use crate::store::collection::{NewReminder, Receivable, Reminded};
use crate::store::{Store, StoreError};

/// What a run would do with one invoice that has a step due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "why")]
pub enum Action {
    /// The reminder goes out.
    Send,
    /// It does not, and why (in dispute, no mailbox).
    Hold(String),
}

/// One invoice with a step due at the run's date.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub sale: i64,
    pub number: String,
    pub customer: String,
    pub category: String,
    /// Where the reminder goes (the reminder contact, else the invoice mailbox).
    pub to: Option<String>,
    pub due: NaiveDate,
    /// Negative before the due date.
    pub days_past_due: i64,
    pub open: Decimal,
    pub currency: String,
    pub step: Step,
    pub step_label: String,
    pub action: Action,
}

/// What `run` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Reminders recorded with their mail queued: (invoice number, step label, Message-ID).
    pub queued: Vec<(String, String, String)>,
    /// Due but not sent, and why (held, or found sent or paid when recording).
    pub skipped: Vec<(String, String)>,
}

fn planned(settings: &Settings, r: &Receivable, at: NaiveDate) -> Option<Planned> {
    let due = r.sale.due_date?;
    let ladder = settings.reminders.ladder(&r.customer.details.category);
    let step = ladder.due_step(due, at, &r.reminded)?;
    let to = r.customer.details.reminder_to().map(str::to_string);
    let action = match (&r.dispute, &to) {
        (Some(d), _) => Action::Hold(format!("in dispute: {}", d.reason)),
        (None, None) => Action::Hold(
            "the customer has no mailbox: `facteur customers add` … --reminder-email".into(),
        ),
        (None, Some(_)) => Action::Send,
    };
    Some(Planned {
        sale: r.sale.id,
        number: r.sale.number.clone().unwrap_or_default(),
        customer: r.customer.details.name.clone(),
        category: r.customer.details.category.to_string(),
        to,
        due,
        days_past_due: (at - due).num_days(),
        open: r.open,
        currency: r.sale.currency.to_string(),
        step,
        step_label: step.label(),
        action,
    })
}

/// What a run at `at` would send (and hold), invoice by invoice.
pub async fn plan(
    store: &dyn Store,
    settings: &Settings,
    at: NaiveDate,
) -> Result<Vec<Planned>, StoreError> {
    Ok(store
        .receivables(at)
        .await?
        .iter()
        .filter_map(|r| planned(settings, r, at))
        .collect())
}

/// Sends the reminders due at `at`: each recorded once, with its mail, in one transaction.
pub async fn run(
    store: &dyn Store,
    settings: &Settings,
    at: NaiveDate,
) -> Result<RunReport, StoreError> {
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let mut report = RunReport::default();
    for r in store.receivables(at).await? {
        let Some(p) = planned(settings, &r, at) else {
            continue;
        };
        let to = match (&p.action, &p.to) {
            (Action::Send, Some(to)) => to.clone(),
            (Action::Hold(why), _) => {
                report.skipped.push((p.number.clone(), why.clone()));
                continue;
            }
            (Action::Send, None) => {
                report.skipped.push((p.number.clone(), "no mailbox".into()));
                continue;
            }
        };
        let facts = Facts::of(seller, &r.sale, &r.customer, r.open, p.days_past_due)
            .map_err(StoreError::Invalid)?;
        let mail =
            templates::mail(p.step.template, &facts, &to, None).map_err(StoreError::Invalid)?;
        let reminder = NewReminder {
            sale: r.sale.id,
            step_days: p.step.days,
            template: p.step.template,
            run_date: at,
        };
        match store.record_reminder(&reminder, &mail).await? {
            Reminded::Queued(id) => report.queued.push((p.number, p.step_label, id)),
            Reminded::Skipped(why) => report.skipped.push((p.number, why)),
        }
    }
    Ok(report)
}

/// The named lease under which one worker at a time runs this pass.
pub const LEASE: &str = "scheduler:reminders";

/// The reminder pass of `facteur run`: `run` for today every `[reminders] every_minutes`.
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
                Ok(r) if r.queued.is_empty() => {}
                Ok(r) => tracing::info!(
                    reminders = r.queued.len(),
                    held = r.skipped.len(),
                    "customer reminders queued"
                ),
                Err(e) => tracing::warn!(error = %e, "reminder run failed"),
            }
        },
    )
    .await
}
