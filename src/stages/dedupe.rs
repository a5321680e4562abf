//! The dedupe stage: a read document is checked against the other invoices that share one of
//! its keys (found through the store's indexes), by the rules of `dedupe::rules`. Its keys and the
//! findings commit with the job; the document moves to `duplicate` (blocked: D1/D2),
//! `duplicate_suspected` (a person looks) or on to `pending_approval`. A reading in doubt is
//! checked too and stays in `needs_review`, its findings shown to the reviewer.
//!
//! The verdict belongs to the document that arrived later. Usually that is the one being checked;
//! when it is not (an earlier document checked late: after a correction, or overtaken in the
//! queue), the finding is handed on to the later document, which leaves `pending_approval` for
//! the review queue, unless it is already approved: then the one checked now carries it.

use crate::dedupe::candidate::is_recurring;
use crate::dedupe::rules::{
    decide, vendor_master, Candidate, Finding, History, Thresholds, Verdict,
};
use crate::domain::{DocumentId, DocumentState};
use crate::store::duplicates::{DedupeEffects, Handover};
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
    // Document ids follow arrival order.
    let (before, after): (Vec<Candidate>, Vec<Candidate>) = earlier
        .iter()
        .cloned()
        .partition(|c| c.document.0 < job.document.0);
    let mut findings = decide(&candidate, &before, &history, &t);
    let mut handovers = Vec::new();
    for later in &after {
        let theirs = decide(
            later,
            std::slice::from_ref(&candidate),
            &History::default(),
            &t,
        );
        if theirs.is_empty() {
            continue;
        }
        let seen = store.document_head(later.document).await?.summary.state;
        match handover(later.document, seen, theirs) {
            Some(h) => handovers.push(h),
            // Too late to stop the later one: this document carries the finding.
            None if past_review(seen) => findings.extend(decide(
                &candidate,
                std::slice::from_ref(later),
                &History::default(),
                &t,
            )),
            None => {}
        }
    }
    if findings.iter().all(|f| f.verdict != Verdict::Block) {
        findings.extend(vendor_master(&candidate, &recent));
    }
    let compared = earlier.iter().map(|c| c.document).collect();
    Ok(verdict(
        job.for_state,
        candidate,
        findings,
        handovers,
        compared,
        t,
    ))
}

/// Approved and beyond: a person already let the later document through.
fn past_review(state: DocumentState) -> bool {
    use DocumentState::*;
    matches!(state, Approved | Posted | Exported | Paid)
}

/// What a later document in `seen` receives of an earlier one's check: a move to the review
/// queue from `pending_approval`, the findings alone where it already waits for a person, and
/// nothing where its own check is still to come (it will see the earlier one) or it is settled.
pub fn handover(
    document: DocumentId,
    seen: DocumentState,
    findings: Vec<Finding>,
) -> Option<Handover> {
    use DocumentState::*;
    let to = match seen {
        PendingApproval if findings.iter().any(|f| f.verdict == Verdict::Block) => Duplicate,
        PendingApproval => DuplicateSuspected,
        NeedsReview | DuplicateSuspected | Duplicate => seen,
        _ => return None,
    };
    Some(Handover {
        document,
        seen,
        to,
        findings,
    })
}

/// Pure: where a checked document in `from` goes, and why.
pub fn verdict(
    from: DocumentState,
    candidate: Candidate,
    findings: Vec<Finding>,
    handovers: Vec<Handover>,
    compared: Vec<DocumentId>,
    thresholds: Thresholds,
) -> Transition {
    let blocked = findings.iter().any(|f| f.verdict == Verdict::Block);
    let (to, mut reason) = match findings.first() {
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
    for h in &handovers {
        reason.push_str(&format!(
            "; document {} arrived later and was flagged ({})",
            h.document, h.to
        ));
    }
    // A reading in doubt stays with its reviewer; the findings wait beside it.
    let to = if from == DocumentState::NeedsReview {
        reason = format!("checked while waiting for review: {reason}");
        from
    } else {
        to
    };
    Transition {
        to,
        reason,
        next: if to == from { None } else { next_after(to) },
        effects: Effects::Dedupe(Box::new(DedupeEffects {
            candidate,
            findings,
            handovers,
            compared,
            thresholds,
        })),
    }
}
