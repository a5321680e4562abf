//! A signed-in approver's side of the approval requests: what waits for them (as approver or as
//! a delegate), and their decision on one request by its id. The decision goes through the very
//! transaction of an emailed link (`decide.rs`), through the request's newest link, so the
//! dashboard applies the same rules: the step's turn, segregation of duties, an expired request,
//! a changed invoice, a decision already recorded.

use super::super::db::{sql, Db, Tx};
use super::super::StoreError;
use super::decide::{decide, DecisionInput, DecisionOutcome};
use super::link::link;
use super::LinkView;
use crate::domain::Stage;

/// The newest link of each open request of `email` whose invoice waits for approval.
const WAITING: &str =
    "SELECT r.id, (SELECT t.hash FROM approval_tokens t WHERE t.request_id = r.id \
     ORDER BY t.expires_at DESC, t.created_at DESC LIMIT 1) AS hash \
     FROM approval_requests r JOIN documents d ON d.id = r.document_id \
     JOIN approval_workflows w ON w.document_id = r.document_id \
     WHERE LOWER(r.approver) = $1 AND r.decision IS NULL AND w.status = 'open' \
     AND d.state = 'pending_approval' ORDER BY r.sent_at, r.id";

/// What waits for `email`, oldest request first, as each link's page would show it.
pub(crate) async fn waiting(db: &Db, email: &str) -> Result<Vec<LinkView>, StoreError> {
    let rows = sql(WAITING)
        .bind(email.trim().to_ascii_lowercase())
        .fetch_all(db, "reading an approver's open requests")
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(hash) = r.get::<Option<String>>("hash")? else {
            continue;
        };
        if let Some(v) = link(db, &hash).await? {
            out.push(v);
        }
    }
    Ok(out)
}

/// `email`'s decision on request `request`: `Unknown` when the request is not theirs (or does
/// not exist), else what the link's decision would answer. The input's `token_hash` is ignored:
/// the request's newest link is used.
pub(crate) async fn decide_request(
    tx: &mut Tx,
    request: i64,
    email: &str,
    input: &DecisionInput,
    built: &[Stage],
) -> Result<DecisionOutcome, StoreError> {
    let hash: Option<String> = sql(
        "SELECT t.hash FROM approval_tokens t JOIN approval_requests r ON r.id = t.request_id \
         WHERE r.id = $1 AND LOWER(r.approver) = $2 \
         ORDER BY t.expires_at DESC, t.created_at DESC LIMIT 1",
    )
    .bind(request)
    .bind(email.trim().to_ascii_lowercase())
    .scalar(&mut *tx, "finding an approver's request")
    .await?;
    let Some(hash) = hash else {
        return Ok(DecisionOutcome::Unknown);
    };
    let input = DecisionInput {
        token_hash: hash,
        ..input.clone()
    };
    decide(tx, &input, built).await
}
