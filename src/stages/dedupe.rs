//! The dedupe stage: a read document is checked against the earlier invoices that share one of
//! its keys (found through the store's indexes), by the rules of `dedupe::rules`. Its keys and the
//! findings commit with the job; the document moves to `duplicate` (blocked: D1/D2),
//! `duplicate_suspected` (a person looks) or on to `pending_approval`.

use crate::dedupe::candidate::is_recurring;
use crate::dedupe::rules::{
    decide, vendor_master, Candidate, Finding, History, Thresholds, Verdict,
};
use crate::domain::{DocumentId, DocumentState};
use crate::store::duplicates::DedupeEffects;
use crate::store::{Effects, Job, Transition};

use super::{next_after, StageContext, StageError};

/// Earlier invoices of the supplier looked at for the recurring-biller test.
const RECENT: u32 = 24;

#[tracing::instrument(skip_all, fields(document = %job.document))]
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    let store = &ctx.store;
    let Some(extraction) = store.document_extraction(job.document).await? else {
        return Err(StageError::Retryable(format!(
            "document {} has no extraction to check",
            job.document
        )));
    };
    let t = ctx.dedupe;
    let candidate = Candidate::of(job.document, &extraction);
    let earlier = store
        .duplicate_candidates(&candidate, t.window_days)
        .await?;
    let recent = store.supplier_recent(&candidate, RECENT).await?;
    let invoice_keys: Vec<String> = earlier.iter().filter_map(|c| c.exact_key.clone()).collect();
    let credits = store.credits_against(&invoice_keys).await?;
    let history = History {
        recurring_biller: is_recurring(&candidate, &recent, t.amount_tolerance),
        credited: earlier
            .iter()
            .filter_map(|c| {
                let key = c.exact_key.as_ref()?;
                let sum = credits
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, a)| *a)
                    .sum();
                Some((c.document, sum))
            })
            .collect(),
    };
    let mut findings = decide(&candidate, &earlier, &history, &t);
    if findings.iter().all(|f| f.verdict != Verdict::Block) {
        findings.extend(vendor_master(&candidate, &recent));
    }
    let compared = earlier.iter().map(|c| c.document).collect();
    Ok(verdict(candidate, findings, compared, t))
}

/// Pure: where a checked document goes, and why.
pub fn verdict(
    candidate: Candidate,
    findings: Vec<Finding>,
    compared: Vec<DocumentId>,
    thresholds: Thresholds,
) -> Transition {
    let blocked = findings.iter().any(|f| f.verdict == Verdict::Block);
    let (to, reason) = match findings.first() {
        None => (
            DocumentState::PendingApproval,
            format!(
                "no duplicate found ({} earlier invoice(s) share a key)",
                compared.len()
            ),
        ),
        Some(_) => {
            let what: Vec<String> = findings
                .iter()
                .map(|f| format!("{:?} of document {}: {}", f.rule, f.of, f.evidence))
                .collect();
            let to = if blocked {
                DocumentState::Duplicate
            } else {
                DocumentState::DuplicateSuspected
            };
            (to, what.join("; "))
        }
    };
    Transition {
        to,
        reason,
        next: next_after(to),
        effects: Effects::Dedupe(Box::new(DedupeEffects {
            candidate,
            findings,
            compared,
            thresholds,
        })),
    }
}
