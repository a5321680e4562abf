//! Duplicate detection's side of the store: the keys of every checked invoice (indexed, so the
//! dedupe stage finds earlier invoices sharing one without a scan), the credits booked against an
//! invoice (D7), and the findings with their evidence and overrides.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::{sql, On, Row, Tx};
use super::documents::insert_event;
use super::unit::move_document;
use super::{SqlStore, StoreError};
use crate::dedupe::rules::{related, Candidate, Finding, Priority, Rule, Thresholds, Verdict};
use crate::dedupe::supplier::SupplierKeys;
use crate::domain::{now_micros, DocType, DocumentId, DocumentState};

/// A finding as lists and `--json` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateRecord {
    /// The earlier document.
    pub of: DocumentId,
    pub rule: Rule,
    /// `block` or `review`.
    pub verdict: &'static str,
    pub priority: Option<Priority>,
    pub evidence: String,
    pub overridden_by: Option<String>,
    pub override_reason: Option<String>,
}

/// What the dedupe stage commits with its job.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupeEffects {
    pub candidate: Candidate,
    pub findings: Vec<Finding>,
    /// Findings about later documents, which the verdict belongs to.
    pub handovers: Vec<Handover>,
    /// The documents the rules were run against, and the thresholds they used: the commit
    /// checks that nothing related was checked meanwhile.
    pub compared: Vec<DocumentId>,
    pub thresholds: Thresholds,
}

/// A later document that receives an earlier one's finding: it moves from `seen` to `to` (or
/// stays, when they are equal). Checked under the keys' locks: had it moved meanwhile, the stage
/// runs again.
#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    pub document: DocumentId,
    pub seen: DocumentState,
    pub to: DocumentState,
    pub findings: Vec<Finding>,
}

#[async_trait]
pub trait DuplicateStore: Send + Sync {
    /// Earlier checked documents sharing a key with `probe`: its invoice number (exact or OCR
    /// key), a preceding invoice's number, or its supplier within `window_days` of its date.
    async fn duplicate_candidates(
        &self,
        probe: &Candidate,
        window_days: i64,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// The supplier's most recent checked documents (for the recurring-biller test).
    async fn supplier_recent(
        &self,
        probe: &Candidate,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Gross of every credit note that names one of `keys` as its preceding invoice, with the key.
    async fn credits_against(&self, keys: &[String]) -> Result<Vec<(String, Decimal)>, StoreError>;

    /// What the rules found about `document` (it duplicates these).
    async fn duplicates_of(&self, document: DocumentId)
        -> Result<Vec<DuplicateRecord>, StoreError>;
}

const COLUMNS: &str = "document_id, doc_type, structured, number, exact_key, ocr_key, issue_date, \
     gross, currency, supplier_siren, supplier_vat, supplier_iban, supplier_name, supplier_country";

fn candidate_from_row(r: &Row) -> Result<Candidate, StoreError> {
    let doc_type = match r.get::<String>("doc_type")?.as_str() {
        "credit_note" => DocType::CreditNote,
        _ => DocType::Invoice,
    };
    let currency = r
        .get::<Option<String>>("currency")?
        .map(|c| {
            c.parse()
                .map_err(|e| StoreError::Corrupt(format!("currency: {e}")))
        })
        .transpose()?;
    Ok(Candidate {
        document: DocumentId(r.get("document_id")?),
        doc_type,
        structured: r.get("structured")?,
        number: r.get("number")?,
        exact_key: r.get("exact_key")?,
        ocr_key: r.get("ocr_key")?,
        issue_date: r.get("issue_date")?,
        gross: r.money("gross")?,
        currency,
        supplier: SupplierKeys {
            siren: r.get("supplier_siren")?,
            vat_id: r.get("supplier_vat")?,
            iban: r.get("supplier_iban")?,
            name: r.get("supplier_name")?,
            country: r.get("supplier_country")?,
        },
        preceding: Vec::new(),
    })
}

/// The supplier columns and values a probe can be looked up by.
fn supplier_arms(p: &Candidate) -> Vec<(&'static str, &str)> {
    let s = &p.supplier;
    [
        ("supplier_siren", s.siren.as_deref()),
        ("supplier_vat", s.vat_id.as_deref()),
        ("supplier_iban", s.iban.as_deref()),
        ("supplier_name", s.name.as_deref()),
    ]
    .into_iter()
    .filter_map(|(c, v)| Some((c, v?)))
    .collect()
}

/// Earlier checked documents sharing a key with `probe` (see `duplicate_candidates`), inside `tx`.
pub(crate) async fn candidates<'c>(
    on: impl Into<On<'c>>,
    probe: &Candidate,
    window_days: i64,
) -> Result<Vec<Candidate>, StoreError> {
    // One statement, one round trip: a UNION ALL of arms, each answered by its own index (rows
    // met by two arms are dropped here, cheaper than a server-side sort of every column).
    let mut arms: Vec<String> = Vec::new();
    let mut values: Vec<&str> = Vec::new();
    for (column, value) in number_arms(probe) {
        values.push(value);
        arms.push(format!(
            "SELECT * FROM (SELECT {COLUMNS} FROM dedupe_keys WHERE {column} = ${} LIMIT 200) n{}",
            values.len() + 2,
            arms.len()
        ));
    }
    let (from, to) = window(probe, window_days);
    if from.is_some() {
        for (column, value) in supplier_arms(probe) {
            values.push(value);
            arms.push(format!(
                "SELECT * FROM (SELECT {COLUMNS} FROM dedupe_keys WHERE {column} = ${} \
                 AND issue_date BETWEEN $1 AND $2 LIMIT 200) s{}",
                values.len() + 2,
                arms.len()
            ));
        }
    }
    if arms.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sql(arms.join(" UNION ALL ")).bind(from).bind(to);
    for v in values {
        q = q.bind(v);
    }
    let mut found: Vec<Candidate> = Vec::new();
    for r in q
        .fetch_all(on, "finding earlier invoices sharing a key")
        .await?
    {
        let c = candidate_from_row(&r)?;
        if c.document != probe.document && !found.iter().any(|f| f.document == c.document) {
            found.push(c);
        }
    }
    Ok(found)
}

/// The number columns and values a probe can be looked up by (its own number, and the invoices a
/// credit note corrects).
fn number_arms(p: &Candidate) -> Vec<(&'static str, &str)> {
    let mut keys: Vec<(&'static str, &str)> = Vec::new();
    if let Some(k) = p.exact_key.as_deref() {
        keys.push(("exact_key", k));
    }
    if let Some(k) = p.ocr_key.as_deref() {
        keys.push(("ocr_key", k));
    }
    for k in &p.preceding {
        keys.push(("exact_key", k));
    }
    keys
}

/// Two checks of documents that share a key must not run side by side, or neither would see the
/// other: the commit takes a lock per key (PostgreSQL advisory locks, in a fixed order so two
/// commits cannot deadlock; SQLite's single writer already serialises them) and looks again.
pub(crate) async fn lock_keys(tx: &mut Tx, probe: &Candidate) -> Result<(), StoreError> {
    if !tx.is_pg() {
        return Ok(());
    }
    let mut keys: Vec<String> = number_arms(probe)
        .into_iter()
        .chain(supplier_arms(probe))
        .map(|(c, v)| format!("dedupe:{c}:{v}"))
        .collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        sql("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(k)
            .fetch_optional(&mut *tx, "locking a duplicate key")
            .await?;
    }
    Ok(())
}

/// Saves a checked document's keys and findings in the stage's transaction, after checking under
/// the keys' locks that no related document (one a rule would tie to it) was checked since the
/// stage looked (then `Busy`: the stage runs again and sees it).
pub(crate) async fn save(tx: &mut Tx, e: &DedupeEffects) -> Result<(), StoreError> {
    let c = &e.candidate;
    lock_keys(tx, c).await?;
    let now_seen = candidates(&mut *tx, c, e.thresholds.window_days).await?;
    if let Some(new) = now_seen
        .iter()
        .find(|n| !e.compared.contains(&n.document) && related(c, n, &e.thresholds))
    {
        return Err(StoreError::Busy(format!(
            "document {} sharing a key with document {} was checked meanwhile",
            new.document, c.document
        )));
    }
    let s = &c.supplier;
    sql(format!(
        "INSERT INTO dedupe_keys ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (document_id) DO NOTHING"
    ))
    .bind(c.document.0)
    .bind(c.doc_type.as_str())
    .bind(c.structured)
    .bind(c.number.as_deref())
    .bind(c.exact_key.as_deref())
    .bind(c.ocr_key.as_deref())
    .bind(c.issue_date)
    .money(c.gross)
    .bind(c.currency.map(|c| c.to_string()))
    .bind(s.siren.as_deref())
    .bind(s.vat_id.as_deref())
    .bind(s.iban.as_deref())
    .bind(s.name.as_deref())
    .bind(s.country.as_deref())
    .execute(&mut *tx, "saving duplicate keys")
    .await?;
    for k in &c.preceding {
        sql(
            "INSERT INTO dedupe_preceding (document_id, exact_key) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(c.document.0)
        .bind(k.as_str())
        .execute(&mut *tx, "saving a preceding invoice")
        .await?;
    }
    let now = now_micros();
    insert_findings(tx, c.document, &e.findings, now).await?;
    for h in &e.handovers {
        hand_over(tx, c.document, h, now).await?;
    }
    Ok(())
}

/// Records `h`'s findings on the later document and moves it, guarded on the state the stage saw.
async fn hand_over(
    tx: &mut Tx,
    checked: DocumentId,
    h: &Handover,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let what: Vec<String> = h
        .findings
        .iter()
        .map(|f| format!("{:?}: {}", f.rule, f.evidence))
        .collect();
    let reason = format!(
        "duplicate of document {checked}, which arrived earlier and was checked later: {}",
        what.join("; ")
    );
    let moved = if h.to == h.seen {
        let state: Option<String> = sql("SELECT state FROM documents WHERE id = $1")
            .bind(h.document.0)
            .scalar(&mut *tx, "reading a later document's state")
            .await?;
        if state.as_deref() == Some(h.seen.as_str()) {
            insert_event(tx, h.document, Some(h.seen), h.seen, &reason, now).await
        } else {
            Err(StoreError::Stale(format!("document {} moved", h.document)))
        }
    } else {
        move_document(tx, h.document, h.seen, h.to, &reason, now).await
    };
    match moved {
        Err(StoreError::Stale(why)) => Err(StoreError::Busy(format!(
            "{why} while document {checked} handed it a duplicate finding"
        ))),
        other => other,
    }?;
    insert_findings(tx, h.document, &h.findings, now).await
}

async fn insert_findings(
    tx: &mut Tx,
    document: DocumentId,
    findings: &[Finding],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for f in findings {
        let (verdict, priority) = match f.verdict {
            Verdict::Block => ("block", None),
            Verdict::Review(p) => ("review", Some(p)),
        };
        sql(
            "INSERT INTO duplicate_findings (document_id, of_document, rule, verdict, priority, \
             evidence, found_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(document.0)
        .bind(f.of.0)
        .bind(format!("{:?}", f.rule))
        .bind(verdict)
        .bind(priority.map(|p| format!("{p:?}").to_lowercase()))
        .bind(f.evidence.as_str())
        .bind(now)
        .execute(&mut *tx, "saving a duplicate finding")
        .await?;
    }
    Ok(())
}

fn window(p: &Candidate, days: i64) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let d = p.issue_date;
    (
        d.map(|d| d - Duration::days(days)),
        d.map(|d| d + Duration::days(days)),
    )
}

fn parse_rule(s: &str) -> Result<Rule, StoreError> {
    Rule::ALL
        .into_iter()
        .find(|r| format!("{r:?}") == s)
        .ok_or_else(|| StoreError::Corrupt(format!("duplicate rule '{s}'")))
}

fn parse_priority(s: &str) -> Option<Priority> {
    match s {
        "high" => Some(Priority::High),
        "medium" => Some(Priority::Medium),
        "low" => Some(Priority::Low),
        _ => None,
    }
}

#[async_trait]
impl DuplicateStore for SqlStore {
    async fn duplicate_candidates(
        &self,
        probe: &Candidate,
        window_days: i64,
    ) -> Result<Vec<Candidate>, StoreError> {
        // One statement: it sees one snapshot without a transaction around it.
        candidates(&self.db, probe, window_days).await
    }

    async fn supplier_recent(
        &self,
        probe: &Candidate,
        limit: u32,
    ) -> Result<Vec<Candidate>, StoreError> {
        // One round trip: a UNION ALL of the supplier's keys, each arm its own index and limit.
        let arms = supplier_arms(probe);
        if arms.is_empty() {
            return Ok(Vec::new());
        }
        let text: Vec<String> = arms
            .iter()
            .enumerate()
            .map(|(i, (column, _))| {
                format!(
                    "SELECT * FROM (SELECT {COLUMNS}, {i} AS arm FROM dedupe_keys \
                     WHERE {column} = ${} ORDER BY issue_date DESC LIMIT $1) r{i}",
                    i + 2
                )
            })
            .collect();
        let mut q = sql(format!(
            "{} ORDER BY arm, issue_date DESC",
            text.join(" UNION ALL ")
        ))
        .bind(i64::from(limit));
        for (_, value) in &arms {
            q = q.bind(*value);
        }
        let mut found: Vec<Candidate> = Vec::new();
        for r in q
            .fetch_all(&self.db, "reading the supplier's recent invoices")
            .await?
        {
            let c = candidate_from_row(&r)?;
            if !found.iter().any(|f| f.document == c.document) {
                found.push(c);
            }
        }
        Ok(found)
    }

    async fn credits_against(&self, keys: &[String]) -> Result<Vec<(String, Decimal)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One query for every key, answered in `keys` order as one query per key would.
        let marks: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let mut q = sql(format!(
            "SELECT p.exact_key, k.gross FROM dedupe_preceding p \
             JOIN dedupe_keys k ON k.document_id = p.document_id \
             WHERE p.exact_key IN ({}) ORDER BY p.document_id",
            marks.join(", ")
        ));
        for k in keys {
            q = q.bind(k.as_str());
        }
        let mut rows = Vec::new();
        for r in q
            .fetch_all(&self.db, "reading credits against invoices")
            .await?
        {
            rows.push((
                r.get::<String>("exact_key")?,
                r.money("gross")?.unwrap_or_default(),
            ));
        }
        let mut out = Vec::new();
        for k in keys {
            out.extend(rows.iter().filter(|(e, _)| e == k).cloned());
        }
        Ok(out)
    }

    async fn duplicates_of(
        &self,
        document: DocumentId,
    ) -> Result<Vec<DuplicateRecord>, StoreError> {
        sql(
            "SELECT of_document, rule, verdict, priority, evidence, overridden_by, \
             override_reason FROM duplicate_findings WHERE document_id = $1 ORDER BY id",
        )
        .bind(document.0)
        .fetch_all(&self.db, "reading duplicate findings")
        .await?
        .iter()
        .map(|r| {
            let verdict: String = r.get("verdict")?;
            Ok(DuplicateRecord {
                of: DocumentId(r.get("of_document")?),
                rule: parse_rule(&r.get::<String>("rule")?)?,
                verdict: if verdict == "block" {
                    "block"
                } else {
                    "review"
                },
                priority: r
                    .get::<Option<String>>("priority")?
                    .as_deref()
                    .and_then(parse_priority),
                evidence: r.get("evidence")?,
                overridden_by: r.get("overridden_by")?,
                override_reason: r.get("override_reason")?,
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_reads_back_as_stored() {
        for r in Rule::ALL {
            assert_eq!(parse_rule(&format!("{r:?}")).unwrap(), r);
        }
    }
}
