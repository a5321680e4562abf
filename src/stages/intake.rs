//! Intake: the gate between sources and the store. Checks what can be checked without parsing
//! (size, emptiness, the file type from its first bytes) and commits the bytes as a document.
//!
//! A rejection is final for those bytes (the source files them under `failed/` with the reason); a
//! store error is transient (the source keeps the file or mail and tries again later).

use serde::Deserialize;

use crate::domain::RawDocument;
use crate::read;
use crate::store::{IntakeOutcome, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The bytes will never make a document; the reason is for people.
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `[intake]`: what the gate lets in. It lives with the gate, so sources (which call the gate)
/// need not import the config module, which imports their config types.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// Largest document accepted, in MiB; bigger files are refused before being read into memory.
    #[serde(default = "default_max_document_mb")]
    pub max_document_mb: u64,
}

fn default_max_document_mb() -> u64 {
    100
}

impl Default for IntakeSettings {
    fn default() -> Self {
        IntakeSettings {
            max_document_mb: default_max_document_mb(),
        }
    }
}

impl IntakeSettings {
    pub fn max_document_bytes(&self) -> u64 {
        self.max_document_mb.saturating_mul(1024 * 1024)
    }
}

/// Size rules, checked before a byte is read (a 2 GB file never reaches memory).
pub fn check_size(bytes_len: u64, settings: &IntakeSettings) -> Result<(), String> {
    if bytes_len == 0 {
        return Err("empty file (0 bytes): nothing to read".into());
    }
    if bytes_len > settings.max_document_bytes() {
        return Err(format!(
            "too large: {:.1} MiB is over the {} MiB limit (intake.max_document_mb)",
            bytes_len as f64 / 1_048_576.0,
            settings.max_document_mb
        ));
    }
    Ok(())
}

/// Type rule: the first bytes must be a kind facteur reads (the name is not trusted).
pub fn check_type(head: &[u8]) -> Result<(), String> {
    if read::sniff(head).is_none() {
        return Err(
            "unsupported file type: facteur reads PDF, XML (Factur-X, UBL, CII), PNG, JPEG and TIFF; \
             the first bytes of this file are none of those"
                .into(),
        );
    }
    Ok(())
}

/// Checks and commits one document (a new one, or a re-arrival of known bytes).
#[tracing::instrument(skip_all, fields(name = %raw.name, source = raw.origin.source(), size = raw.bytes.len()))]
pub async fn accept(
    store: &dyn Store,
    raw: &RawDocument,
    settings: &IntakeSettings,
) -> Result<IntakeOutcome, IntakeError> {
    check_size(raw.bytes.len() as u64, settings).map_err(IntakeError::Rejected)?;
    check_type(&raw.bytes).map_err(IntakeError::Rejected)?;
    let outcome = store.intake(raw).await?;
    match outcome {
        IntakeOutcome::Created(id) => tracing::info!(document = %id, "new document"),
        IntakeOutcome::Rearrived(id) => tracing::info!(document = %id, "known bytes arrived again"),
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_large_and_unknown() {
        let s = IntakeSettings { max_document_mb: 1 };
        assert!(check_size(0, &s).unwrap_err().contains("empty"));
        assert!(check_size(2 * 1024 * 1024, &s)
            .unwrap_err()
            .contains("too large"));
        assert!(check_size(10, &s).is_ok());
        assert!(check_type(b"PK\x03\x04docx")
            .unwrap_err()
            .contains("unsupported"));
        assert!(check_type(b"%PDF-1.7").is_ok());
    }
}
