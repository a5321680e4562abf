//! The read stage: the document's bytes go through the sandboxed reader; the extraction is saved
//! and the document moves to `read`, `needs_review` (low confidence, with the reasons) or `failed`
//! (unreadable, with the reason). A crashed reader is retried; a bad document fails alone.

use crate::domain::{DocumentState, Extraction};
use crate::read::ReadError;
use crate::store::{Job, Transition};

use super::{StageContext, StageError};

/// Fields a posting needs; a document missing one goes to review.
const REQUIRED: &[&str] = &["invoice_number", "issue_date", "total_gross"];

#[tracing::instrument(skip_all, fields(document = %job.document, attempt = job.attempts))]
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    let bytes = ctx.store.document_bytes(job.document).await?;
    match ctx.sandbox.read(bytes, ctx.read_options.clone()).await {
        Ok(extraction) => Ok(decide(extraction, ctx.review_threshold)),
        Err(e @ ReadError::Crashed(_)) => Err(StageError::Retryable(e.to_string())),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable document");
            Ok(Transition {
                to: DocumentState::Failed,
                reason: e.to_string(),
                extraction: None,
                next: None,
            })
        }
    }
}

/// Pure: where a read document goes, and why.
pub fn decide(extraction: Extraction, threshold: f32) -> Transition {
    let mut doubts: Vec<String> = REQUIRED
        .iter()
        .filter_map(|f| {
            let c = extraction.confidence.get(*f).copied().unwrap_or(0.0);
            if c == 0.0 {
                Some(format!("{} not found", f.replace('_', " ")))
            } else if c < threshold {
                Some(format!("{} uncertain ({c:.2})", f.replace('_', " ")))
            } else {
                None
            }
        })
        .collect();
    doubts.extend(extraction.warnings.iter().cloned());
    let method = extraction.method.as_str();
    let confidence = extraction.overall_confidence();
    let (to, reason) = if doubts
        .iter()
        .any(|d| d.contains("not found") || d.contains("uncertain"))
    {
        (
            DocumentState::NeedsReview,
            format!("read ({method}), needs review: {}", doubts.join("; ")),
        )
    } else {
        (
            DocumentState::Read,
            format!(
                "read ({method}, confidence {confidence:.2}); waiting for duplicate detection, \
                 which this version does not have yet"
            ),
        )
    };
    Transition {
        to,
        reason,
        extraction: Some(extraction),
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Invoice, Method};

    #[test]
    fn missing_fields_go_to_review() {
        let mut x = Extraction::certain(Invoice::default(), Method::Text);
        x.confidence.insert("invoice_number".into(), 0.95);
        let t = decide(x.clone(), 0.8);
        assert_eq!(t.to, DocumentState::NeedsReview);
        assert!(t.reason.contains("issue date not found"), "{}", t.reason);
        x.confidence.insert("issue_date".into(), 0.9);
        x.confidence.insert("total_gross".into(), 0.85);
        assert_eq!(decide(x.clone(), 0.8).to, DocumentState::Read);
        x.confidence.insert("total_gross".into(), 0.5);
        assert!(decide(x, 0.8).reason.contains("total gross uncertain"));
    }
}
