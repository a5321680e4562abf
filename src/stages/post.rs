//! The post stage: an approved supplier invoice becomes a purchases-journal entry (Dr expense and
//! deductible VAT per rate, Cr the supplier's auxiliary account) and the document moves to
//! `posted`, both in the job's transaction. Its idempotency key is the document, so a retried or
//! repeated posting can never book it twice. An invoice in another currency is converted at the
//! rate printed on it (recorded with `facteur rates set … --document`), else the rates table's on
//! its issue date; without one it stays `approved`, saying so, until a rate is imported or set.
//! An invoice the ledger cannot take (totals that do not add up) fails alone, with the reason.
//! The strong duplicate rules run once more first, against what is already booked.

use crate::config::CompanySettings;
use crate::dedupe::rules::Candidate;
use crate::domain::{DocumentId, DocumentState};
use crate::ledger::ap::purchase_entry_at;
use crate::ledger::fx::Rate;
use crate::store::duplicates::DedupeEffects;
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
    if let Some(held) = recheck(ctx, job, &x).await? {
        return Ok(held);
    }
    let inv = &x.invoice;
    let company = &ctx.company;
    let currency = inv.currency.unwrap_or(company.currency);
    let mut t = if currency == company.currency {
        decide(job, inv, company, None)
    } else {
        // The rate printed on the invoice, else the table's on its issue date.
        let on = inv
            .issue_date
            .unwrap_or_else(|| crate::domain::now_micros().date_naive());
        let printed = ctx
            .store
            .printed_rate(job.document)
            .await?
            .filter(|r| r.currency == currency);
        let rate = match printed {
            Some(r) => Some(r),
            None => ctx.store.rate_on(currency, on).await?,
        };
        match rate {
            Some(r) => decide(job, inv, company, Some(&r)),
            None => return Ok(waiting_for_rate(job, currency, company.currency, on)),
        }
    };
    if let Effects::Post(p) = &mut t.effects {
        // The supplier's master record keeps its auxiliary account stable across invoices
        // that show different identifiers (store/suppliers.rs).
        let derived = crate::ledger::ap::supplier_account(inv);
        let keys = crate::store::suppliers::SupplierKeys::of(&inv.seller);
        if let Some(s) = ctx.store.supplier_for(&keys, &derived.code).await? {
            p.entry = with_supplier(&p.entry, s.auxiliary());
        }
    }
    Ok(t)
}

/// `entry` with its supplier lines on `aux`.
fn with_supplier(
    entry: &crate::ledger::NewEntry,
    aux: crate::ledger::entry::Auxiliary,
) -> crate::ledger::NewEntry {
    let mut body = entry.body().clone();
    for l in body.lines.iter_mut().filter(|l| l.auxiliary.is_some()) {
        l.auxiliary = Some(aux.clone());
    }
    // Only the auxiliary account changed: the entry stays balanced.
    crate::ledger::NewEntry::new(body, entry.key()).unwrap_or_else(|_| entry.clone())
}

/// An invoice in another currency without a rate stays `approved`, saying what would post it.
/// Importing or setting a rate queues its posting again (`facteur rates`), as does the next
/// start of `facteur run`.
pub fn waiting_for_rate(
    job: &Job,
    currency: crate::domain::Currency,
    company: crate::domain::Currency,
    on: chrono::NaiveDate,
) -> Transition {
    let days = crate::ledger::fx::MAX_STALENESS_DAYS;
    Transition {
        to: DocumentState::Approved,
        reason: format!(
            "not posted: the invoice is in {currency} and no rate is printed on it or in the \
             rates table on {on} or the {days} days before; import the ECB's rates (facteur \
             rates import eurofxref-hist.csv) or set one (facteur rates set {currency} RATE \
             --date {on}, RATE in {currency} for 1 {company}; add --document {} for the rate \
             printed on this invoice), and it is posted then",
            job.document
        ),
        next: None,
        effects: Effects::None,
    }
}

/// The duplicate rules once more before the ledger: an invoice that is a copy of one already
/// posted or paid (and that no person declared distinct) goes back to the review queue instead
/// of being booked twice. Only the strong rules (blocks, high-priority reviews) hold it here: the
/// weak ones were a person's to weigh at intake.
async fn recheck(
    ctx: &StageContext,
    job: &Job,
    x: &crate::domain::Extraction,
) -> Result<Option<Transition>, StageError> {
    use crate::dedupe::rules::{decide as rules, History, Priority, Verdict};
    let store = &ctx.store;
    let candidate = Candidate::of(job.document, x);
    let earlier = store
        .duplicate_candidates(&candidate, ctx.dedupe.window_days)
        .await?;
    let cleared: Vec<DocumentId> = store
        .duplicates_of(job.document)
        .await?
        .into_iter()
        .filter(|d| d.overridden_by.is_some())
        .map(|d| d.of)
        .collect();
    let looked: Vec<DocumentId> = earlier
        .iter()
        .map(|c| c.document)
        .filter(|d| !cleared.contains(d))
        .collect();
    // One query for every candidate's state: a supplier's earlier invoices share its keys, so
    // they grow with the ledger.
    let states = store.document_states(&looked).await?;
    let booked: Vec<Candidate> = earlier
        .iter()
        .filter(|c| {
            states.iter().any(|(d, s)| {
                *d == c.document
                    && matches!(
                        s,
                        DocumentState::Posted | DocumentState::Exported | DocumentState::Paid
                    )
            })
        })
        .cloned()
        .collect();
    let findings: Vec<_> = rules(&candidate, &booked, &History::default(), &ctx.dedupe)
        .into_iter()
        .filter(|f| matches!(f.verdict, Verdict::Block | Verdict::Review(Priority::High)))
        .collect();
    if findings.is_empty() {
        return Ok(None);
    }
    let what: Vec<String> = findings
        .iter()
        .map(|f| format!("{:?} of document {}: {}", f.rule, f.of, f.evidence))
        .collect();
    Ok(Some(Transition {
        to: DocumentState::DuplicateSuspected,
        reason: format!("held before posting: {}", what.join("; ")),
        next: None,
        effects: Effects::Dedupe(Box::new(DedupeEffects {
            candidate,
            findings,
            handovers: Vec::new(),
            compared: earlier.iter().map(|c| c.document).collect(),
            thresholds: ctx.dedupe,
        })),
    }))
}

/// Pure: the entry an approved invoice posts (an invoice in another currency at `rate`), or why
/// it cannot.
pub fn decide(
    job: &Job,
    inv: &crate::domain::Invoice,
    company: &CompanySettings,
    rate: Option<&Rate>,
) -> Transition {
    let date = inv
        .issue_date
        .unwrap_or_else(|| crate::domain::now_micros().date_naive());
    match purchase_entry_at(job.document, inv, company, date, rate) {
        Ok(entry) => Transition {
            to: DocumentState::Posted,
            reason: format!(
                "posted to the purchases journal ({} lines, key {}){}",
                entry.body().lines.len(),
                entry.key(),
                rate.map(|r| format!(" at {}", r.describe(company.currency)))
                    .unwrap_or_default()
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
