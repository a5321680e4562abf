//! The duplicate rules D1–D5, D7 and D8 of issue 10 as one pure function: a new invoice against
//! the earlier ones that share one of its keys (the store finds those through indexes). Every
//! finding names its rule, the earlier document and the evidence, in words a reviewer can check.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::keys::edit_distance_within;
use super::supplier::{SameEntity, SupplierKeys};
use crate::domain::{Currency, DocType, DocumentId};

/// What the rules know of one invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub document: DocumentId,
    pub doc_type: DocType,
    /// Read from structured e-invoice data (XML), so its number, date and seller are certain.
    pub structured: bool,
    pub number: Option<String>,
    pub exact_key: Option<String>,
    pub ocr_key: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub gross: Option<Decimal>,
    pub currency: Option<Currency>,
    pub supplier: SupplierKeys,
    /// Exact keys of the invoices a credit note corrects.
    pub preceding: Vec<String>,
}

/// The thresholds; every one is configurable (`[dedupe]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Two grosses are equal within this (D3, D4).
    pub amount_tolerance: Decimal,
    /// D4/D5: issue dates at most this many days apart.
    pub window_days: i64,
    /// D5: grosses within this fraction of each other.
    pub near_amount: Decimal,
    /// First month (1–12) of the fiscal year, for D2.
    pub fiscal_year_start_month: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            amount_tolerance: Decimal::new(1, 2),
            window_days: 30,
            near_amount: Decimal::new(1, 2),
            fiscal_year_start_month: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rule {
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::D1,
        Rule::D2,
        Rule::D3,
        Rule::D4,
        Rule::D5,
        Rule::D6,
        Rule::D7,
        Rule::D8,
    ];
}

/// How sure a review finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "priority", rename_all = "snake_case")]
pub enum Verdict {
    /// Held until a person overrides it with a reason.
    Block,
    /// A person looks at it.
    Review(Priority),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    /// The earlier document it duplicates (or relates to, for D7/D8).
    pub of: DocumentId,
    pub verdict: Verdict,
    pub evidence: String,
}

/// What the caller knows beyond the two invoices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The supplier is a known recurring biller (same amount, regular dates, distinct numbers):
    /// D4 stays silent for it.
    pub recurring_biller: bool,
    /// For a credit note: credits already booked against each preceding invoice, by document.
    pub credited: Vec<(DocumentId, Decimal)>,
}

fn fiscal_year(d: NaiveDate, start_month: u32) -> i32 {
    if d.month() >= start_month.clamp(1, 12) {
        d.year()
    } else {
        d.year() - 1
    }
}

fn amounts_equal(a: &Candidate, b: &Candidate, t: &Thresholds) -> bool {
    match (a.gross, b.gross) {
        (Some(x), Some(y)) => a.currency == b.currency && (x - y).abs() <= t.amount_tolerance,
        _ => false,
    }
}

fn amounts_near(a: &Candidate, b: &Candidate, t: &Thresholds) -> bool {
    match (a.gross, b.gross) {
        (Some(x), Some(y)) if a.currency == b.currency => {
            (x - y).abs() <= x.abs().max(y.abs()) * t.near_amount
        }
        _ => false,
    }
}

fn days_apart(a: &Candidate, b: &Candidate) -> Option<i64> {
    Some((a.issue_date? - b.issue_date?).num_days().abs())
}

/// Similar invoice numbers for D5: one contains the other (a prefix or suffix dropped, `1042` in
/// `INV-1042`), two neighbours swapped, or one character added, dropped or changed, except one
/// digit for another in the same place: that is how a supplier's *next* number differs
/// (`F-01000`, `F-01001`), and sequence neighbours are the rule, not a sign of a copy.
fn similar_numbers(a: &str, b: &str) -> bool {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if x == y {
        return true;
    }
    let (short, long) = if x.len() <= y.len() { (a, b) } else { (b, a) };
    if short.chars().count() >= 4 && long.contains(short) {
        return true;
    }
    if x.len() == y.len() {
        let diff: Vec<usize> = (0..x.len()).filter(|&i| x[i] != y[i]).collect();
        return match diff.as_slice() {
            [i] => !(x[*i].is_ascii_digit() && y[*i].is_ascii_digit()),
            [i, j] => *j == i + 1 && x[*i] == y[*j] && x[*j] == y[*i],
            _ => false,
        };
    }
    edit_distance_within(a, b, 1) <= 1
}

/// Dated one calendar month apart: the same day of the month, or both the last day of theirs.
fn one_month_apart(a: &Candidate, b: &Candidate) -> bool {
    let (Some(x), Some(y)) = (a.issue_date, b.issue_date) else {
        return false;
    };
    let (early, late) = if x <= y { (x, y) } else { (y, x) };
    let months = (late.year() - early.year()) * 12 + late.month() as i32 - early.month() as i32;
    let month_end = |d: NaiveDate| d.succ_opt().is_none_or(|n| n.month() != d.month());
    months == 1 && (early.day() == late.day() || (month_end(early) && month_end(late)))
}

/// Similar numbers for D3: the same OCR key, or one edit apart on keys of 5 characters or more.
/// The one-edit clause stands for a misread of the *same* invoice, so it also asks for the same
/// issue date (or one unread): a supplier's next number in a sequence (`M-2026-01`, `M-2026-02`)
/// is one edit away too, but is dated another day.
fn confusable(a: &Candidate, b: &Candidate) -> bool {
    let same_day = match (a.issue_date, b.issue_date) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    match (&a.ocr_key, &b.ocr_key) {
        (Some(x), Some(y)) => {
            x == y || (same_day && x.chars().count() >= 5 && edit_distance_within(x, y, 1) <= 1)
        }
        _ => false,
    }
}

/// Checks `new` against `earlier` invoices (and credit notes) of the same company.
pub fn decide(
    new: &Candidate,
    earlier: &[Candidate],
    history: &History,
    t: &Thresholds,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for old in earlier.iter().filter(|o| o.document != new.document) {
        if let Some(f) = pair(new, old, history, t) {
            found.push(f);
        }
    }
    found.extend(credit_note(new, earlier, history));
    // The strongest finding per earlier document is enough for a person.
    found.sort_by_key(|f| (f.of, std::cmp::Reverse(strength(f.verdict)), f.rule));
    found.dedup_by_key(|f| f.of);
    found
}

fn strength(v: Verdict) -> u8 {
    match v {
        Verdict::Block => 4,
        Verdict::Review(Priority::High) => 3,
        Verdict::Review(Priority::Medium) => 2,
        Verdict::Review(Priority::Low) => 1,
    }
}

/// Whether `other` would change the verdict on `new`: a rule ties them, or `other` is a credit
/// note against `new` (or the reverse). Used to re-check at commit time, under lock, that nothing
/// relevant was checked while the rules ran.
pub fn related(new: &Candidate, other: &Candidate, t: &Thresholds) -> bool {
    let credit_link = |a: &Candidate, b: &Candidate| {
        a.doc_type == DocType::CreditNote
            && b.exact_key
                .as_ref()
                .is_some_and(|k| a.preceding.contains(k))
    };
    pair(new, other, &History::default(), t).is_some()
        || credit_link(new, other)
        || credit_link(other, new)
}

/// The strongest rule that ties `new` to one earlier document, if any.
fn pair(new: &Candidate, old: &Candidate, history: &History, t: &Thresholds) -> Option<Finding> {
    let finding = |rule, verdict, evidence: String| Finding {
        rule,
        of: old.document,
        verdict,
        evidence,
    };
    let entity = new.supplier.same_entity(&old.supplier);
    let number = new.number.as_deref().unwrap_or("?");
    let old_number = old.number.as_deref().unwrap_or("?");
    if new.doc_type != old.doc_type {
        // D8: an invoice whose number is a credit note's of the same supplier.
        let d8 = new.doc_type == DocType::Invoice
            && entity != SameEntity::No
            && new.exact_key.is_some()
            && new.exact_key == old.exact_key;
        return d8.then(|| {
            finding(
                Rule::D8,
                Verdict::Review(Priority::Medium),
                format!("invoice number {number} is the number of credit note {old_number} of the same supplier"),
            )
        });
    }
    let same_key = new.exact_key.is_some() && new.exact_key == old.exact_key;
    if new.structured
        && old.structured
        && same_key
        && new.issue_date == old.issue_date
        && new.supplier.vat_id.is_some()
        && new.supplier.vat_id == old.supplier.vat_id
    {
        return Some(finding(
            Rule::D1,
            Verdict::Block,
            format!(
                "the same e-invoice: number {number}, date {}, seller {}",
                new.issue_date.map_or("?".into(), |d| d.to_string()),
                new.supplier.vat_id.as_deref().unwrap_or("?"),
            ),
        ));
    }
    if entity == SameEntity::No {
        return None;
    }
    let fy = |c: &Candidate| {
        c.issue_date
            .map(|d| fiscal_year(d, t.fiscal_year_start_month))
    };
    let by = match entity {
        SameEntity::ById => "the same supplier (registration id, VAT id or IBAN)",
        _ => "the same supplier name",
    };
    // A block needs a registration id; a supplier known by its name only gets the same rule as a
    // high-priority review.
    let strong = |rule| match entity {
        SameEntity::ById => (rule, Verdict::Block),
        _ => (rule, Verdict::Review(Priority::High)),
    };
    if same_key && fy(new).is_some() && fy(new) == fy(old) {
        let (rule, verdict) = strong(Rule::D2);
        return Some(finding(
            rule,
            verdict,
            format!("{by}, invoice number {number} = {old_number}, same fiscal year"),
        ));
    }
    let equal = amounts_equal(new, old, t);
    if equal && (same_key || confusable(new, old)) {
        return Some(finding(Rule::D3, Verdict::Review(Priority::High), format!(
            "{by}, numbers {number} and {old_number} differ only by characters a scan confuses, same gross {}",
            new.gross.unwrap_or_default()
        )));
    }
    let close = days_apart(new, old).is_some_and(|d| d <= t.window_days);
    if entity == SameEntity::ById && equal && close && !same_key && !history.recurring_biller {
        // The same amount one calendar month later is most likely the next period of a
        // subscription: still worth a glance, at the lowest priority.
        let (priority, period) = if one_month_apart(new, old) {
            (Priority::Low, ", one calendar month apart (a next period?)")
        } else {
            (Priority::Medium, "")
        };
        return Some(finding(
            Rule::D4,
            Verdict::Review(priority),
            format!(
                "{by}, same gross {}, dated {} and {}{period}, numbers {number} and {old_number}",
                new.gross.unwrap_or_default(),
                new.issue_date.map_or("?".into(), |d| d.to_string()),
                old.issue_date.map_or("?".into(), |d| d.to_string()),
            ),
        ));
    }
    let similar = match (&new.ocr_key, &old.ocr_key) {
        (Some(a), Some(b)) => similar_numbers(a, b),
        _ => false,
    };
    if close && amounts_near(new, old, t) && (similar || same_key) {
        return Some(finding(
            Rule::D5,
            Verdict::Review(Priority::Low),
            format!(
            "{by}, gross {} near {}, dates within {} days, numbers {number} and {old_number} alike",
            new.gross.unwrap_or_default(),
            old.gross.unwrap_or_default(),
            days_apart(new, old).unwrap_or_default()
        ),
        ));
    }
    None
}

/// D6, the vendor-master alerts, against the supplier's recent invoices and those paid to the same
/// IBAN: the IBAN is used by another legal entity (two supplier records, one bank account), or the
/// supplier has always been paid elsewhere (a changed bank account is how invoice fraud starts).
pub fn vendor_master(new: &Candidate, recent: &[Candidate]) -> Option<Finding> {
    let iban = new.supplier.iban.as_deref()?;
    let others = || recent.iter().filter(|c| c.document != new.document);
    // Another entity (a different SIREN or VAT id) paid to this IBAN.
    let shared = others().find(|c| {
        c.supplier.iban.as_deref() == Some(iban)
            && [
                (&c.supplier.siren, &new.supplier.siren),
                (&c.supplier.vat_id, &new.supplier.vat_id),
            ]
            .iter()
            .any(|(a, b)| a.is_some() && b.is_some() && a != b)
    });
    if let Some(c) = shared {
        return Some(Finding {
            rule: Rule::D6,
            of: c.document,
            verdict: Verdict::Review(Priority::High),
            evidence: format!(
                "IBAN {iban} is also the bank account of another supplier ({})",
                c.supplier
                    .vat_id
                    .as_deref()
                    .or(c.supplier.siren.as_deref())
                    .unwrap_or("?")
            ),
        });
    }
    // The same entity by registration id, always paid to other accounts so far.
    let same: Vec<&Candidate> = others()
        .filter(|c| {
            [
                (&c.supplier.siren, &new.supplier.siren),
                (&c.supplier.vat_id, &new.supplier.vat_id),
            ]
            .iter()
            .any(|(a, b)| a.is_some() && a == b)
        })
        .collect();
    let paid_elsewhere = !same.is_empty()
        && same
            .iter()
            .all(|c| c.supplier.iban.as_deref().is_some_and(|i| i != iban));
    paid_elsewhere.then(|| Finding {
        rule: Rule::D6,
        of: same[0].document,
        verdict: Verdict::Review(Priority::High),
        evidence: format!(
            "IBAN {iban} was never used by this supplier: its {} earlier invoice(s) were paid to {}",
            same.len(),
            same[0].supplier.iban.as_deref().unwrap_or("?")
        ),
    })
}

/// D7: a credit note whose preceding invoice exists, and whose credits would exceed it.
fn credit_note(new: &Candidate, earlier: &[Candidate], history: &History) -> Vec<Finding> {
    if new.doc_type != DocType::CreditNote {
        return Vec::new();
    }
    let mut found = Vec::new();
    for old in earlier.iter().filter(|o| {
        o.doc_type == DocType::Invoice
            && o.exact_key
                .as_ref()
                .is_some_and(|k| new.preceding.contains(k))
            && new.supplier.same_entity(&o.supplier) != SameEntity::No
    }) {
        let credited = history
            .credited
            .iter()
            .filter(|(d, _)| *d == old.document)
            .map(|(_, a)| *a)
            .sum::<Decimal>();
        let total = credited + new.gross.unwrap_or_default();
        if let Some(invoiced) = old.gross.filter(|g| total > *g) {
            found.push(Finding {
                rule: Rule::D7,
                of: old.document,
                verdict: Verdict::Review(Priority::High),
                evidence: format!(
                    "credits against invoice {} would reach {total}, more than its {invoiced}",
                    old.number.as_deref().unwrap_or("?")
                ),
            });
        }
    }
    found
}
