//! Recurring schedules and the periods they billed (migrations/*/0016_reminders.sql). Billing a
//! period is one transaction: the (schedule, period) row first (the primary key makes a second
//! run wait for the first and then find it), then the draft, then, for a schedule that issues,
//! the issue itself (number, entry, PDF); a crash anywhere leaves nothing, so the rerun bills
//! the period once.

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;

use super::db::{sql, Row};
use super::receivables::{insert_sale, issue_in, load_sale, Finisher, Series};
use super::{SqlStore, StoreError};
use crate::domain::now_micros;
use crate::receivables::recurring::ScheduleFile;
use crate::receivables::sale::NewSale;
use crate::receivables::SalesInvoice;

/// A schedule in the store, with the periods it billed.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub id: i64,
    pub customer_id: i64,
    #[serde(flatten)]
    pub file: ScheduleFile,
    /// (period, sale id), in billing order.
    pub billed: Vec<(String, Option<i64>)>,
}

/// How a period's invoice is issued, for a schedule that issues.
pub struct IssueWith<'a> {
    pub date: NaiveDate,
    pub series: &'a Series,
    pub fiscal_start_month: u32,
    pub finish: &'a Finisher<'a>,
}

#[async_trait]
pub trait RecurringStore: Send + Sync {
    /// Saves a checked schedule for customer `customer_id`; `Conflict` when its name is taken.
    async fn add_schedule(&self, customer_id: i64, file: &ScheduleFile) -> Result<i64, StoreError>;

    /// Every schedule, by name.
    async fn schedules(&self) -> Result<Vec<Schedule>, StoreError>;

    /// Bills `period` of schedule `schedule` with `sale` (drafted, then issued with `issue`);
    /// `None` when the period was billed already (by this run's twin or an earlier one).
    async fn bill_period(
        &self,
        schedule: i64,
        period: &str,
        sale: &NewSale,
        issue: Option<&IssueWith<'_>>,
    ) -> Result<Option<SalesInvoice>, StoreError>;
}

fn schedule_from_row(r: &Row, billed: Vec<(String, Option<i64>)>) -> Result<Schedule, StoreError> {
    let id: i64 = r.get("id")?;
    let file: ScheduleFile = serde_json::from_str(&r.get::<String>("spec")?)
        .map_err(|e| StoreError::Corrupt(format!("recurring schedule {id}: {e}")))?;
    Ok(Schedule {
        id,
        customer_id: r.get("customer_id")?,
        file,
        billed,
    })
}

#[async_trait]
impl RecurringStore for SqlStore {
    async fn add_schedule(&self, customer_id: i64, file: &ScheduleFile) -> Result<i64, StoreError> {
        let spec = serde_json::to_string(file)
            .map_err(|e| StoreError::Invalid(format!("schedule to JSON: {e}")))?;
        let mut tx = self.db.begin_write("starting to add a schedule").await?;
        let taken: Option<i64> = sql("SELECT id FROM recurring_schedules WHERE name = $1")
            .bind(file.name.as_str())
            .scalar(&mut tx, "looking up a schedule's name")
            .await?;
        if let Some(id) = taken {
            return Err(StoreError::Conflict(format!(
                "a schedule named '{}' exists already ({id}): give this one another name",
                file.name
            )));
        }
        let id = sql(
            "INSERT INTO recurring_schedules (name, customer_id, spec, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(file.name.as_str())
        .bind(customer_id)
        .bind(spec)
        .bind(now_micros())
        .scalar(&mut tx, "adding a schedule")
        .await?
        .ok_or_else(|| StoreError::Corrupt("a schedule got no id".into()))?;
        tx.commit("committing a schedule").await?;
        Ok(id)
    }

    async fn schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        let rows = sql("SELECT id, customer_id, spec FROM recurring_schedules ORDER BY name")
            .fetch_all(&self.db, "listing schedules")
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let billed = sql(
                "SELECT period, sale_id FROM recurring_runs WHERE schedule_id = $1 \
                 ORDER BY billed_at, period",
            )
            .bind(r.get::<i64>("id")?)
            .fetch_all(&self.db, "reading the periods billed")
            .await?
            .iter()
            .map(|b| Ok((b.get("period")?, b.get("sale_id")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(schedule_from_row(r, billed)?);
        }
        Ok(out)
    }

    async fn bill_period(
        &self,
        schedule: i64,
        period: &str,
        sale: &NewSale,
        issue: Option<&IssueWith<'_>>,
    ) -> Result<Option<SalesInvoice>, StoreError> {
        let mut tx = self.db.begin_write("starting to bill a period").await?;
        let claimed = sql(
            "INSERT INTO recurring_runs (schedule_id, period, billed_at) \
             VALUES ($1, $2, $3) ON CONFLICT (schedule_id, period) DO NOTHING",
        )
        .bind(schedule)
        .bind(period)
        .bind(now_micros())
        .execute(&mut tx, "claiming a period")
        .await?;
        if claimed == 0 {
            tx.rollback("leaving a period billed already").await?;
            return Ok(None);
        }
        let id = insert_sale(&mut tx, sale).await?;
        let billed = match issue {
            Some(i) => {
                issue_in(
                    &mut tx,
                    id,
                    i.date,
                    i.series,
                    i.fiscal_start_month,
                    i.finish,
                )
                .await?
                .sale
            }
            None => load_sale(&mut tx, id).await?,
        };
        sql("UPDATE recurring_runs SET sale_id = $1 WHERE schedule_id = $2 AND period = $3")
            .bind(id)
            .bind(schedule)
            .bind(period)
            .execute(&mut tx, "linking a period to its invoice")
            .await?;
        tx.commit("committing a billed period").await?;
        Ok(Some(billed))
    }
}
