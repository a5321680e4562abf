//! The post stage: an approved supplier invoice becomes a purchases-journal entry (Dr expense and
//! deductible VAT per rate, Cr the supplier's auxiliary account) and the document moves to
//! `posted`, both in the job's transaction. Its idempotency key is the document, so a retried or
//! repeated posting can never book it twice. An invoice the ledger cannot take (totals that do
//! not add up, a currency without a rate) fails alone, with the reason.

use crate::config::CompanySettings;
use crate::domain::DocumentState;
use crate::ledger::ap::purchase_entry;
use crate::store::ledger::Posting;
use crate::store::{Effects, Job, Transition};

use super::{next_after, StageContext, StageError};

#[tracing::instrument(skip_all, fields(document = %job.document))]
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    let Some(x) = ctx.store.document_extraction(job.document).await? else {
        return Err(StageError::Retryable(format!(
            "document {} has no extraction to post",
            job.document
        )));
    };
    Ok(decide(job, &x.invoice, &ctx.company))
}

/// Pure: the entry an approved invoice posts, or why it cannot.
pub fn decide(job: &Job, inv: &crate::domain::Invoice, company: &CompanySettings) -> Transition {
    let date = inv
        .issue_date
        .unwrap_or_else(|| crate::domain::now_micros().date_naive());
    match purchase_entry(job.document, inv, company, date) {
        Ok(entry) => Transition {
            to: DocumentState::Posted,
            reason: format!(
                "posted to the purchases journal ({} lines, key {})",
                entry.body().lines.len(),
                entry.key()
            ),
            next: next_after(DocumentState::Posted),
            effects: Effects::Post(Box::new(Posting {
                entry,
                fiscal_start_month: company.fiscal_year_start_month,
            })),
        },
        Err(e) => Transition {
            to: DocumentState::Failed,
            reason: format!("cannot be posted: {e}"),
            next: None,
            effects: Effects::None,
        },
    }
}
