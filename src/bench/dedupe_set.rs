//! A labelled duplicate set of our own, generated from a seed: distinct invoices of many suppliers
//! over a year (subscriptions billing the same amount every month, sequences of numbers, suppliers
//! sharing number formats, some known by name only) and copies of some of them as a mailbox
//! really gets them (forwarded again, the number laid out otherwise, read from a scan with
//! characters confused or the VAT id lost, the Factur-X twin of a PDF). Every document goes
//! through the rules in arrival order, against the earlier ones the store's look-up arms would
//! return (the same number key, the same OCR key, or the same supplier within the window).
//!
//! Recall: copies with a finding against their original (or another copy of it). False alarms:
//! distinct invoices with any finding. One seed is for development; the held-out seed is only run
//! for the figures, never looked at while changing rules.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::dedupe::candidate::is_recurring;
use crate::dedupe::keys::{exact_key, name_key, ocr_key};
use crate::dedupe::rules::{
    decide, vendor_master, Candidate, History, Priority, Thresholds, Verdict,
};
use crate::dedupe::supplier::SupplierKeys;
use crate::domain::{Currency, DocType, DocumentId};

/// The seed changes are made against.
pub const DEV_SEED: u64 = 20_261_130;
/// The seed only reported on.
pub const HELD_OUT_SEED: u64 = 77_003_419;

/// One generated document and what it really is.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub candidate: Candidate,
    /// The distinct invoice this document is (its own id for an original).
    pub truth: DocumentId,
}

/// What the rules made of a set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    pub originals: usize,
    pub copies: usize,
    /// Copies with a finding against the same invoice.
    pub caught: usize,
    /// Distinct invoices with any finding / with a finding above low priority.
    pub false_alarms: usize,
    pub false_alarms_above_low: usize,
    /// Copies blocked (D1/D2) rather than reviewed.
    pub blocked: usize,
}

impl Score {
    pub fn recall(&self) -> f64 {
        self.caught as f64 / self.copies.max(1) as f64
    }
    pub fn false_alarm_rate(&self) -> f64 {
        self.false_alarms as f64 / self.originals.max(1) as f64
    }
}

struct Supplier {
    keys: SupplierKeys,
    prefix: String,
    next: u64,
    /// Bills this amount every month, on the 28th.
    subscription: Option<Decimal>,
    /// Months billed so far.
    billed: u64,
}

fn suppliers(rng: &mut StdRng, n: usize) -> Vec<Supplier> {
    let prefixes = ["FA", "F", "INV", "", "FAC", "2026-", "N"];
    (0..n)
        .map(|i| {
            let by_id = rng.gen_bool(0.8);
            let siren = format!("{:09}", 300_000_000 + i * 7919);
            Supplier {
                keys: SupplierKeys {
                    siren: by_id.then(|| siren.clone()),
                    vat_id: by_id.then(|| format!("FR00{siren}")),
                    iban: rng
                        .gen_bool(0.6)
                        .then(|| format!("FR76{:023}", i * 104_729)),
                    // One supplier in twenty shares its name with another (two "Boulangerie
                    // Martin" in two towns): the name-only match must not make them one.
                    name: Some(name_key(&format!(
                        "Fournisseur {} SARL",
                        i - i % 20 * usize::from(i % 20 == 1)
                    ))),
                    country: Some("FR".into()),
                },
                prefix: prefixes[i % prefixes.len()].to_string(),
                next: rng.gen_range(1..5_000),
                subscription: rng
                    .gen_bool(0.15)
                    .then(|| Decimal::new(rng.gen_range(900..90_000), 2)),
                billed: 0,
            }
        })
        .collect()
}

fn candidate(
    id: i64,
    number: &str,
    date: NaiveDate,
    gross: Decimal,
    s: &SupplierKeys,
) -> Candidate {
    Candidate {
        document: DocumentId(id),
        doc_type: DocType::Invoice,
        structured: false,
        number: Some(number.to_string()),
        exact_key: Some(exact_key(number)),
        ocr_key: Some(ocr_key(number)),
        issue_date: Some(date),
        gross: Some(gross),
        currency: Some(Currency::EUR),
        supplier: s.clone(),
        preceding: Vec::new(),
    }
}

/// A copy of `c` as it would arrive again: one of the ways a mailbox gets the same invoice twice.
fn copy_of(rng: &mut StdRng, c: &Candidate, id: i64) -> Candidate {
    let mut d = c.clone();
    d.document = DocumentId(id);
    let number = c.number.clone().unwrap_or_default();
    let relaid = |n: &str| n.replace('-', " ").replace('/', "-");
    let confused = |n: &str| {
        n.chars()
            .map(|ch| match ch {
                '0' => 'O',
                '1' => 'I',
                '5' => 'S',
                '8' => 'B',
                other => other,
            })
            .collect::<String>()
    };
    let new_number = match rng.gen_range(0..6) {
        // Forwarded again, read the same.
        0 => number.clone(),
        // Printed again by the supplier's tool: separators and padding differ.
        1 => relaid(&number),
        // Read from a scan: letters for digits.
        2 => confused(&number),
        // Read from a scan: the VAT id lost, the name kept.
        3 => {
            d.supplier.siren = None;
            d.supplier.vat_id = None;
            d.supplier.iban = None;
            number.clone()
        }
        // The Factur-X twin of a PDF (both structured here: the e-invoice read twice).
        4 => {
            d.structured = true;
            number.clone()
        }
        // Sent again a few days later with a new issue date, same number and amount.
        _ => {
            d.issue_date = c
                .issue_date
                .map(|x| x + chrono::Duration::days(rng.gen_range(1..6)));
            number.clone()
        }
    };
    d.exact_key = Some(exact_key(&new_number));
    d.ocr_key = Some(ocr_key(&new_number));
    d.number = Some(new_number);
    d
}

/// Generates `originals` distinct invoices and copies of about `copy_share` of them, in arrival
/// order.
pub fn generate(seed: u64, originals: usize, copy_share: f64) -> Vec<Labelled> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sups = suppliers(&mut rng, (originals / 12).max(4));
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let mut docs: Vec<(NaiveDate, Labelled)> = Vec::new();
    let mut id = 0i64;
    for _ in 0..originals {
        id += 1;
        let si = rng.gen_range(0..sups.len());
        let s = &mut sups[si];
        let (date, gross) = match s.subscription {
            // A subscription bills on the same day each month.
            Some(amount) => {
                let months = s.billed;
                s.billed += 1;
                let (year, month) = (2026 + (months / 12) as i32, (months % 12) as u32 + 1);
                let day = NaiveDate::from_ymd_opt(year, month, 28).unwrap_or(start);
                (day, amount)
            }
            // One supplier in ten sells at a few fixed prices: the same amount again within
            // days, under a new number, is its normal business.
            None if si % 10 == 3 => (
                start + chrono::Duration::days(rng.gen_range(0..365)),
                Decimal::new([4_990, 12_000, 29_900][rng.gen_range(0..3)], 2),
            ),
            None => (
                start + chrono::Duration::days(rng.gen_range(0..365)),
                Decimal::new(rng.gen_range(1_000..500_000), 2),
            ),
        };
        let number = format!("{}{:05}", s.prefix, s.next);
        s.next += 1;
        let c = candidate(id, &number, date, gross, &s.keys);
        docs.push((
            date,
            Labelled {
                candidate: c,
                truth: DocumentId(id),
            },
        ));
    }
    let originals_only: Vec<Labelled> = docs.iter().map(|(_, l)| l.clone()).collect();
    for o in &originals_only {
        if rng.gen_bool(copy_share) {
            id += 1;
            let c = copy_of(&mut rng, &o.candidate, id);
            let arrives =
                c.issue_date.unwrap_or(start) + chrono::Duration::days(rng.gen_range(0..20));
            docs.push((
                arrives,
                Labelled {
                    candidate: c,
                    truth: o.truth,
                },
            ));
        }
    }
    docs.sort_by_key(|(d, l)| (*d, l.candidate.document));
    docs.into_iter().map(|(_, l)| l).collect()
}

/// What the store's look-up arms return for `probe` among `earlier`.
fn look_up<'a>(probe: &Candidate, earlier: &'a [Candidate], window: i64) -> Vec<&'a Candidate> {
    let s = &probe.supplier;
    earlier
        .iter()
        .filter(|c| {
            let number = (probe.exact_key.is_some() && c.exact_key == probe.exact_key)
                || (probe.ocr_key.is_some() && c.ocr_key == probe.ocr_key);
            let supplier = [
                (&s.siren, &c.supplier.siren),
                (&s.vat_id, &c.supplier.vat_id),
                (&s.iban, &c.supplier.iban),
                (&s.name, &c.supplier.name),
            ]
            .iter()
            .any(|(a, b)| a.is_some() && a == b);
            let close = match (probe.issue_date, c.issue_date) {
                (Some(a), Some(b)) => (a - b).num_days().abs() <= window,
                _ => false,
            };
            number || (supplier && close)
        })
        .collect()
}

/// Runs the rules over a set in arrival order.
pub fn score(set: &[Labelled], t: &Thresholds) -> Score {
    let truth: HashMap<DocumentId, DocumentId> = set
        .iter()
        .map(|l| (l.candidate.document, l.truth))
        .collect();
    let mut earlier: Vec<Candidate> = Vec::new();
    let mut s = Score::default();
    for l in set {
        let c = &l.candidate;
        let found = look_up(c, &earlier, t.window_days);
        let found: Vec<Candidate> = found.into_iter().cloned().collect();
        let recent: Vec<Candidate> = earlier
            .iter()
            .filter(|e| {
                e.supplier.same_entity(&c.supplier) != crate::dedupe::supplier::SameEntity::No
            })
            .rev()
            .take(24)
            .cloned()
            .collect();
        let history = History {
            recurring_biller: is_recurring(c, &recent, t.amount_tolerance),
            credited: Vec::new(),
        };
        let mut findings = decide(c, &found, &history, t);
        findings.extend(vendor_master(c, &recent));
        let is_copy = l.truth != c.document;
        if is_copy {
            s.copies += 1;
            if findings.iter().any(|f| truth.get(&f.of) == Some(&l.truth)) {
                s.caught += 1;
            }
            if findings.iter().any(|f| f.verdict == Verdict::Block) {
                s.blocked += 1;
            }
        } else {
            s.originals += 1;
            if !findings.is_empty() {
                s.false_alarms += 1;
            }
            if findings
                .iter()
                .any(|f| f.verdict != Verdict::Review(Priority::Low))
            {
                s.false_alarms_above_low += 1;
            }
        }
        earlier.push(c.clone());
    }
    s
}

/// `facteur bench dedupe` prints this table after the latency one.
pub fn run() {
    println!(
        "\nlabelled set (generated; copies as a mailbox gets them; rules over look-up arms)\n"
    );
    println!(
        "{:<10} {:>9} {:>7} {:>8} {:>8} {:>12} {:>15}",
        "set", "distinct", "copies", "recall", "blocked", "false alarm", "(above low)"
    );
    let t = Thresholds::default();
    for (name, seed) in [("dev", DEV_SEED), ("held-out", HELD_OUT_SEED)] {
        let set = generate(seed, 5_000, 0.2);
        let s = score(&set, &t);
        println!(
            "{name:<10} {:>9} {:>7} {:>7.2}% {:>8} {:>11.2}% {:>14.2}%",
            s.originals,
            s.copies,
            s.recall() * 100.0,
            s.blocked,
            s.false_alarm_rate() * 100.0,
            s.false_alarms_above_low as f64 / s.originals.max(1) as f64 * 100.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_catch_copies_and_spare_distinct_invoices_on_the_dev_set() {
        let set = generate(DEV_SEED, 2_000, 0.2);
        let s = score(&set, &Thresholds::default());
        eprintln!("dev set: {s:?}");
        assert!(s.copies > 300 && s.originals == 2_000, "{s:?}");
        assert!(s.recall() >= 0.99, "recall {:.4}: {s:?}", s.recall());
        // A floor, not the goal: issue 10 asks for 1 %. What is left (1.05 % measured) is D4
        // (same amount within 30 days, another number) on suppliers selling at fixed prices,
        // before they have billed that amount twice.
        assert!(
            s.false_alarm_rate() <= 0.015,
            "false alarms {:.4}: {s:?}",
            s.false_alarm_rate()
        );
    }

    #[test]
    fn the_set_is_the_same_for_a_seed() {
        let a = generate(DEV_SEED, 200, 0.2);
        let b = generate(DEV_SEED, 200, 0.2);
        assert_eq!(a.len(), b.len());
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.candidate == y.candidate && x.truth == y.truth));
    }
}
