//! What an approval link shows before anything is decided: the request behind the token, the
//! invoice's summary, whether it changed since the mail, the decision already recorded. Read
//! only: the page a scanner fetches changes nothing.

use super::super::db::{sql, Db};
use super::super::documents::{parse_state, DocumentSummary};
use super::super::StoreError;
use super::decide::{found, FIND};
use super::{current, LinkView};
use crate::approval::Lang;
use crate::domain::ContentHash;

/// What a link's page shows.
pub(crate) async fn link(db: &Db, hash: &str) -> Result<Option<LinkView>, StoreError> {
    let Some(row) = sql(FIND)
        .bind(hash)
        .fetch_optional(db, "looking up an approval link")
        .await?
    else {
        return Ok(None);
    };
    let f = found(&row)?;
    let lang = Lang::parse(&row.get::<String>("lang")?);
    let mut tx = db.begin_read("reading an approval link").await?;
    let (_, version) = current(&mut tx, f.doc).await?;
    let d = sql(
        "SELECT d.id, d.file_name, d.source, d.state, d.reason, d.received_at, d.invoice_number, \
         d.issue_date, d.supplier_name, d.currency, d.total_gross, d.due_date, d.content_hash, \
         w.rule, (SELECT COUNT(*) FROM approval_steps s WHERE s.document_id = d.id) AS steps \
         FROM documents d LEFT JOIN approval_workflows w ON w.document_id = d.id WHERE d.id = $1",
    )
    .bind(f.doc.0)
    .fetch_optional(&mut tx, "reading an approval's document")
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("workflow of document {}", f.doc)))?;
    let warnings = sql(
        "SELECT rule, of_document, evidence FROM duplicate_findings WHERE document_id = $1 \
         ORDER BY id",
    )
    .bind(f.doc.0)
    .fetch_all(&mut tx, "reading duplicate warnings")
    .await?
    .iter()
    .map(|r| {
        Ok(format!(
            "{} (document {}): {}",
            r.get::<String>("rule")?,
            r.get::<i64>("of_document")?,
            r.get::<String>("evidence")?
        ))
    })
    .collect::<Result<Vec<String>, StoreError>>()?;
    tx.rollback("ending a read").await?;
    let hash: String = d.get("content_hash")?;
    Ok(Some(LinkView {
        request_id: f.request,
        summary: DocumentSummary {
            id: f.doc,
            file_name: d.get("file_name")?,
            source: d.get("source")?,
            state: parse_state(&d.get::<String>("state")?)?,
            reason: d.get("reason")?,
            received_at: d.get("received_at")?,
            invoice_number: d.get("invoice_number")?,
            issue_date: d.get("issue_date")?,
            supplier_name: d.get("supplier_name")?,
            currency: d.get("currency")?,
            total_gross: d.money("total_gross")?,
        },
        due_date: d.get("due_date")?,
        content_hash: ContentHash::parse(&hash)
            .ok_or_else(|| StoreError::Corrupt(format!("content hash '{hash}'")))?,
        step: f.step,
        steps: d.get::<i64>("steps")?.max(0) as u32,
        rule: d.get::<Option<String>>("rule")?.unwrap_or_default(),
        approver: f.approver,
        on_behalf_of: f.on_behalf_of,
        lang,
        expires_at: f.expires_at,
        changed: version.as_deref() != Some(f.version.as_str()),
        decided: f.decided,
        warnings,
    }))
}
