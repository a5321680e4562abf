//! Each rule firing and not firing, on hand-made candidates (the store and stage tests use real
//! documents).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::keys::{exact_key, ocr_key};
use super::rules::*;
use super::supplier::SupplierKeys;
use crate::domain::{Currency, DocType, DocumentId, Party, VatId};

fn supplier(vat: &str) -> SupplierKeys {
    SupplierKeys::of(&Party {
        name: Some("Acme Fournitures SARL".into()),
        vat_id: Some(VatId::parse(vat).unwrap()),
        ..Party::default()
    })
}

fn inv(id: i64, number: &str, date: (i32, u32, u32), gross: &str, vat: &str) -> Candidate {
    Candidate {
        document: DocumentId(id),
        doc_type: DocType::Invoice,
        structured: false,
        number: Some(number.into()),
        exact_key: Some(exact_key(number)),
        ocr_key: Some(ocr_key(number)),
        issue_date: NaiveDate::from_ymd_opt(date.0, date.1, date.2),
        gross: Some(gross.parse::<Decimal>().unwrap()),
        currency: Some(Currency::EUR),
        supplier: supplier(vat),
        preceding: Vec::new(),
    }
}

const ACME: &str = "FR44732829320";
const OTHER: &str = "FR40303265045";

/// The one finding of `new` against `old`, if any.
fn one(new: &Candidate, old: &Candidate, h: &History) -> Option<(Rule, Verdict)> {
    let found = decide(new, std::slice::from_ref(old), h, &Thresholds::default());
    assert!(found.len() <= 1, "{found:?}");
    found.first().map(|f| (f.rule, f.verdict))
}

#[test]
fn d2_same_number_same_supplier_same_year_blocks() {
    let old = inv(1, "FA-2026/0042", (2026, 3, 1), "100.00", ACME);
    let new = inv(2, "fa 2026 42", (2026, 3, 20), "100.00", ACME);
    assert_eq!(
        one(&new, &old, &History::default()),
        Some((Rule::D2, Verdict::Block))
    );
    // The same number the next fiscal year is the supplier's new series, not a duplicate.
    let next_year = inv(3, "FA-2026/0042", (2027, 3, 1), "250.00", ACME);
    assert_eq!(one(&next_year, &old, &History::default()), None);
    // Two suppliers with one invoice number: not duplicates.
    let other = inv(4, "FA-2026/0042", (2026, 3, 1), "100.00", OTHER);
    assert_eq!(one(&other, &old, &History::default()), None);
}

#[test]
fn d3_ocr_confusable_numbers_with_the_same_gross() {
    let old = inv(1, "INV-1042", (2026, 3, 1), "1481.40", ACME);
    let new = inv(2, "INV-1O42", (2026, 3, 1), "1481.40", ACME);
    assert_eq!(
        one(&new, &old, &History::default()),
        Some((Rule::D3, Verdict::Review(Priority::High)))
    );
    let misread = inv(5, "INV-1047", (2026, 3, 1), "1481.40", ACME);
    assert_eq!(
        one(&misread, &old, &History::default()),
        Some((Rule::D3, Verdict::Review(Priority::High))),
        "one character misread, same day and gross"
    );
    let other_amount = inv(3, "INV-1O42", (2026, 3, 1), "1481.50", ACME);
    assert_ne!(
        one(&other_amount, &old, &History::default()).map(|f| f.0),
        Some(Rule::D3)
    );
}

#[test]
fn d4_same_amount_close_dates_unless_a_recurring_biller() {
    let old = inv(1, "2026-118", (2026, 2, 1), "49.90", ACME);
    let new = inv(2, "2026-877", (2026, 2, 20), "49.90", ACME);
    assert_eq!(
        one(&new, &old, &History::default()),
        Some((Rule::D4, Verdict::Review(Priority::Medium)))
    );
    let recurring = History {
        recurring_biller: true,
        ..History::default()
    };
    assert_eq!(one(&new, &old, &recurring), None);
    let far = inv(3, "2026-877", (2026, 4, 20), "49.90", ACME);
    assert_eq!(one(&far, &old, &History::default()), None);
}

#[test]
fn monthly_invoices_of_one_amount_are_at_most_a_low_review() {
    let jan = inv(1, "M-2026-01", (2026, 1, 31), "300.00", ACME);
    let feb = inv(2, "M-2026-02", (2026, 2, 28), "300.00", ACME);
    let recurring = History {
        recurring_biller: true,
        ..History::default()
    };
    // Known as recurring or not yet (the second month), never more than a low review.
    for history in [History::default(), recurring] {
        let found = one(&feb, &jan, &history);
        assert!(
            matches!(found, None | Some((_, Verdict::Review(Priority::Low)))),
            "{found:?}"
        );
    }
    // A copy dated a few days later is no next period.
    let copy = inv(3, "M-2026-09", (2026, 2, 3), "300.00", ACME);
    assert_eq!(
        one(&copy, &jan, &History::default()),
        Some((Rule::D4, Verdict::Review(Priority::Medium)))
    );
}

#[test]
fn d5_needs_a_similar_number_and_a_near_amount() {
    let old = inv(1, "A-55012", (2026, 5, 2), "1000.00", ACME);
    let new = inv(2, "A-55021", (2026, 5, 9), "1005.00", ACME);
    assert_eq!(
        one(&new, &old, &History::default()),
        Some((Rule::D5, Verdict::Review(Priority::Low)))
    );
    let unlike = inv(3, "ZX-9", (2026, 5, 9), "1005.00", ACME);
    assert_eq!(one(&unlike, &old, &History::default()), None);
}

#[test]
fn d1_the_same_e_invoice_twice() {
    let mut old = inv(1, "471102", (2026, 3, 5), "529.87", ACME);
    let mut new = old.clone();
    new.document = DocumentId(2);
    old.structured = true;
    new.structured = true;
    assert_eq!(
        one(&new, &old, &History::default()),
        Some((Rule::D1, Verdict::Block))
    );
}

#[test]
fn d7_credits_beyond_the_invoice_and_d8_numbers_of_credit_notes() {
    let invoice = inv(1, "F-100", (2026, 3, 1), "100.00", ACME);
    let mut credit = inv(2, "AV-7", (2026, 3, 10), "60.00", ACME);
    credit.doc_type = DocType::CreditNote;
    credit.preceding = vec![exact_key("F-100")];
    let h = History {
        credited: vec![(DocumentId(1), "50.00".parse().unwrap())],
        ..History::default()
    };
    assert_eq!(
        one(&credit, &invoice, &h),
        Some((Rule::D7, Verdict::Review(Priority::High)))
    );
    assert_eq!(
        one(&credit, &invoice, &History::default()),
        None,
        "60 of 100: fine"
    );
    let mut cn = inv(3, "X-77", (2026, 3, 1), "10.00", ACME);
    cn.doc_type = DocType::CreditNote;
    let clash = inv(4, "X-77", (2026, 3, 2), "99.00", ACME);
    assert_eq!(
        one(&clash, &cn, &History::default()),
        Some((Rule::D8, Verdict::Review(Priority::Medium)))
    );
}

#[test]
fn the_same_supplier_by_name_only_is_reviewed_never_blocked() {
    let by_name = |id, number: &str| {
        let mut c = inv(id, number, (2026, 3, 1), "100.00", ACME);
        c.supplier = SupplierKeys::of(&Party {
            name: Some(
                if id == 1 {
                    "Dupont S.A.R.L."
                } else {
                    "DUPONT SARL"
                }
                .into(),
            ),
            siret: None,
            ..Party::default()
        });
        c
    };
    let found = one(
        &by_name(2, "F-12"),
        &by_name(1, "F-12"),
        &History::default(),
    );
    assert_eq!(
        found,
        Some((Rule::D2, Verdict::Review(Priority::High))),
        "the same number from a supplier known by name only: reviewed, not blocked"
    );
}

fn with_iban(mut c: Candidate, iban: &str) -> Candidate {
    c.supplier.iban = Some(iban.into());
    c
}

#[test]
fn d6_a_new_bank_account_or_one_shared_by_two_suppliers() {
    const USUAL: &str = "FR7630006000011234567890189";
    const NEW: &str = "FR7610107001011234567890129";
    let jan = with_iban(inv(1, "F-1", (2026, 1, 5), "10.00", ACME), USUAL);
    let feb = with_iban(inv(2, "F-2", (2026, 2, 5), "10.00", ACME), USUAL);
    let changed = with_iban(inv(3, "F-3", (2026, 3, 5), "10.00", ACME), NEW);
    let f = vendor_master(&changed, &[jan.clone(), feb.clone()]).expect("new IBAN");
    assert_eq!(
        (f.rule, f.verdict),
        (Rule::D6, Verdict::Review(Priority::High))
    );
    let usual = with_iban(inv(4, "F-4", (2026, 4, 5), "10.00", ACME), USUAL);
    assert_eq!(vendor_master(&usual, &[jan.clone(), feb]), None);
    assert_eq!(
        vendor_master(&changed, &[]),
        None,
        "a first invoice has nothing to differ from"
    );
    let other = with_iban(inv(5, "X-1", (2026, 4, 5), "99.00", OTHER), USUAL);
    let f = vendor_master(&other, &[jan]).expect("shared IBAN");
    assert!(f.evidence.contains("another supplier"), "{}", f.evidence);
}

#[test]
fn sequence_neighbours_of_one_supplier_on_one_day_are_not_suspects() {
    // 200 invoices of one supplier on one day, numbered in sequence, amounts close together.
    let a = inv(1, "F-2026-01000", (2026, 3, 12), "120.00", ACME);
    let b = inv(2, "F-2026-01001", (2026, 3, 12), "121.64", ACME);
    assert_eq!(one(&b, &a, &History::default()), None);
    // But a dropped prefix or two swapped digits are.
    let c = inv(3, "2026-01000", (2026, 3, 14), "120.50", ACME);
    assert_eq!(
        one(&c, &a, &History::default()),
        Some((Rule::D5, Verdict::Review(Priority::Low)))
    );
    let d = inv(4, "F-2026-01090", (2026, 3, 14), "120.50", ACME);
    let e = inv(5, "F-2026-01009", (2026, 3, 15), "120.60", ACME);
    assert_eq!(
        one(&e, &d, &History::default()),
        Some((Rule::D5, Verdict::Review(Priority::Low)))
    );
}
