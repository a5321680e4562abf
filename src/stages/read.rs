//! The read stage: the document's bytes go through the sandboxed reader; the extraction is saved
//! and the document moves to `read`, `needs_review` (required fields missing or unsure, as
//! structured doubts) or `failed` (unreadable, with the reason). A reader that crashed or hung is
//! retried once; twice fails the document for good (the queue counts it). What people taught
//! about the supplier in earlier corrections (supplier hints) is applied before the decision, and
//! the IBAN read is checked against the accounts the supplier was known by before.

use crate::domain::hint::apply;
use crate::domain::{DocumentState, Doubt, Extraction};
use crate::read::ReadError;
use crate::store::{Effects, Job, Transition};

use super::{next_after, StageContext, StageError};

#[tracing::instrument(skip_all, fields(document = %job.document, attempt = job.attempts))]
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    let bytes = ctx.store.document_bytes(job.document).await?;
    match ctx.sandbox.read(bytes, ctx.read_options.clone()).await {
        Ok(extraction) => {
            crate::metrics::read(extraction.method);
            let hints = ctx.store.supplier_hints(&extraction.invoice.seller).await?;
            let mut extraction = apply(extraction, &hints);
            let known = ctx
                .store
                .known_ibans(&extraction.invoice.seller, job.document)
                .await?;
            crate::read::fields::crosscheck::iban_history(&mut extraction, &known);
            let mut t = decide(extraction, ctx.review_threshold);
            addressed_to_us(&mut t, &ctx.company);
            Ok(t)
        }
        Err(e) if reader_died(&e) => Err(StageError::ReaderDied(e.to_string())),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable document");
            Ok(Transition {
                to: DocumentState::Failed,
                reason: e.to_string(),
                effects: Effects::None,
                next: None,
            })
        }
    }
}

/// A reading of an invoice addressed to another company waits for a person, never goes on to
/// approval and posting.
fn addressed_to_us(t: &mut Transition, company: &crate::config::CompanySettings) {
    let Effects::Read(x) = &t.effects else {
        return;
    };
    if t.to != DocumentState::Read {
        return;
    }
    if let Some(why) = crate::ledger::company::not_addressed_to_us(&x.invoice.buyer, company) {
        t.to = DocumentState::NeedsReview;
        t.reason = format!("{}, needs review: {why}", t.reason);
        t.next = next_after(t.to);
    }
}

/// The reader process died or hung (as opposed to a document it could read and refused).
fn reader_died(e: &ReadError) -> bool {
    e.killed_the_reader()
}

/// Pure: where a read document goes, and why.
pub fn decide(extraction: Extraction, threshold: f32) -> Transition {
    let doubts: Vec<Doubt> = extraction.doubts(threshold);
    let method = extraction.method.as_str();
    let (to, reason) = if doubts.is_empty() {
        let confidence = extraction.overall_confidence();
        (
            DocumentState::Read,
            format!("read ({method}, confidence {confidence:.2})"),
        )
    } else {
        let mut why: Vec<String> = doubts.iter().map(ToString::to_string).collect();
        why.extend(extraction.warnings.iter().cloned());
        (
            DocumentState::NeedsReview,
            format!("read ({method}), needs review: {}", why.join("; ")),
        )
    };
    Transition {
        to,
        reason,
        next: next_after(to),
        effects: Effects::Read(Box::new(extraction)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Field, Invoice, Method};

    #[test]
    fn missing_or_unsure_required_fields_go_to_review() {
        let mut x = Extraction::certain(Invoice::default(), Method::Text);
        x.confidence.insert(Field::InvoiceNumber, 0.95);
        let t = decide(x.clone(), 0.8);
        assert_eq!(t.to, DocumentState::NeedsReview);
        assert!(t.reason.contains("issue date not found"), "{}", t.reason);
        x.confidence.insert(Field::IssueDate, 0.9);
        x.confidence.insert(Field::TotalGross, 0.85);
        let t = decide(x.clone(), 0.8);
        assert_eq!(t.to, DocumentState::Read);
        assert!(!t.reason.contains("duplicate detection"), "{}", t.reason);
        x.confidence.insert(Field::TotalGross, 0.5);
        assert_eq!(
            x.doubts(0.8),
            vec![Doubt::Uncertain {
                field: Field::TotalGross,
                confidence: 0.5
            }]
        );
        assert!(decide(x, 0.8).reason.contains("total gross uncertain"));
    }

    #[test]
    fn only_a_reader_that_died_or_hung_counts_as_its_death() {
        assert!(reader_died(&ReadError::Crashed("SIGSEGV".into())));
        assert!(reader_died(&ReadError::Timeout("600 s".into())));
        assert!(!reader_died(&ReadError::Limit("too many pages".into())));
        assert!(!reader_died(&ReadError::BadPdf("truncated".into())));
    }

    #[test]
    fn a_warning_that_reads_like_a_doubt_does_not_send_to_review() {
        // Review is decided from structured doubts: a template warning whose text happens to say
        // "not found" must not pull an otherwise certain reading into review.
        let mut x = Extraction::certain(Invoice::default(), Method::Text);
        for f in Field::REQUIRED {
            x.confidence.insert(f, 0.97);
        }
        x.warnings
            .push("template 'acme': purchase_order pattern not found, uncertain".into());
        assert_eq!(decide(x, 0.8).to, DocumentState::Read);
    }
}
