//! Ledger invariants under random sequences (proptest) of supplier invoices, credit notes,
//! payments, reversals and retries with the same key, on both backends, and under 8 concurrent
//! posters on PostgreSQL: the trial balance is always zero, each supplier's auxiliary balance is
//! what was posted to it and not reversed, replays change nothing, entry numbers have no gaps,
//! the hash chain verifies. Cases: `FACTEUR_PROPTEST_CASES` (default 24 on SQLite, 6 on
//! PostgreSQL, each a fresh database); set it to 200 for a long run.
//!
//! The sequences also hold invoices with documents, posted as the post stage posts them
//! (`ap::purchase_entry_at`) and paid by `pay_with`: in euros, dollars or pounds, at the rate
//! printed on them or the table's (random per case and day), paid in quarters or whole at the
//! bank's rate or the table's, one supplier with VAT on receipts. For those: each supplier's
//! auxiliary balance equals its open items (and each open item what the test paid off the
//! invoice, in its own currency), a settled invoice is `paid` with nothing owed in either
//! currency and no VAT waiting, VAT waits in proportion to what is unpaid and each bank entry
//! moves as much to 44566 as it takes off 445668, and a repeated payment changes nothing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use facteur::config::CompanySettings;
use facteur::domain::{Currency, DocumentId, DocumentState, Invoice, VatBreakdown, VatId};
use facteur::ledger::ap::{purchase_entry_at, SupplierRef, VatOnReceipts};
use facteur::ledger::entry::{Auxiliary, EntryBody, Journal, Line, NewEntry};
use facteur::ledger::fx::{Rate, RateSource};
use facteur::ledger::{AccountNumber, PostedEntry};
use facteur::store::ledger::{ChainCheck, PayOptions};
use facteur::store::{Store, StoreError};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Op {
    Invoice {
        supplier: u8,
        cents: i64,
        day: u32,
    },
    CreditNote {
        supplier: u8,
        cents: i64,
        day: u32,
    },
    Payment {
        supplier: u8,
        cents: i64,
        day: u32,
    },
    Reverse {
        pick: usize,
    },
    Retry {
        pick: usize,
    },
    /// An approved invoice (a document): supplier 0 French with VAT on receipts, 1 German,
    /// 2 British; in EUR, USD or GBP (`currency` 0, 1, 2); a foreign one at the rate printed on
    /// it (thousandths) or the table's of its day.
    DocInvoice {
        supplier: u8,
        currency: u8,
        cents: i64,
        day: u32,
        printed: Option<u32>,
    },
    /// Pays `quarters`/4 of what a document still owes (4: all of it), at the bank's rate
    /// (thousandths) or the table's of the day.
    DocPay {
        pick: usize,
        quarters: u8,
        day: u32,
        rate: Option<u32>,
    },
    /// A payment made earlier, asked again.
    DocPayRetry {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let amount = 1i64..5_000_000;
    let rate = proptest::option::of(600u32..1600);
    prop_oneof![
        3 => (0u8..3, amount.clone(), 1u32..28).prop_map(|(supplier, cents, day)| Op::Invoice { supplier, cents, day }),
        1 => (0u8..3, amount.clone(), 1u32..28).prop_map(|(supplier, cents, day)| Op::CreditNote { supplier, cents, day }),
        2 => (0u8..3, amount.clone(), 1u32..28).prop_map(|(supplier, cents, day)| Op::Payment { supplier, cents, day }),
        1 => any::<usize>().prop_map(|pick| Op::Reverse { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Retry { pick }),
        3 => (0u8..3, 0u8..3, 100i64..5_000_000, 1u32..28, rate.clone()).prop_map(
            |(supplier, currency, cents, day, printed)| Op::DocInvoice { supplier, currency, cents, day, printed }),
        // Half of the payments pay off what is left, the others a quarter to three quarters.
        5 => (any::<usize>(), prop_oneof![1u8..4, Just(4u8)], 1u32..29, rate).prop_map(
            |(pick, quarters, day, rate)| Op::DocPay { pick, quarters, day, rate }),
        1 => any::<usize>().prop_map(|pick| Op::DocPayRetry { pick }),
    ]
}

fn acc(n: &str) -> AccountNumber {
    AccountNumber::parse(n).unwrap()
}

fn aux(s: u8) -> Auxiliary {
    Auxiliary::of('F', &format!("SUP{s}"), &format!("Supplier {s}"))
}

fn body(journal: Journal, day: u32, label: &str, lines: Vec<Line>) -> EntryBody {
    let d = NaiveDate::from_ymd_opt(2026, 5, day).unwrap();
    EntryBody {
        journal,
        date: d,
        label: label.into(),
        piece_ref: label.into(),
        piece_date: d,
        currency: Currency::EUR,
        document: None,
        reverses: None,
        lines,
    }
}

/// The entry an operation posts (None for a reversal or retry with nothing to act on).
fn entry_of(i: usize, op: &Op, reversible: &[PostedEntry]) -> Option<NewEntry> {
    let key = format!("op-{i}");
    let money = |c: i64| Decimal::new(c, 2);
    let purchase = |s: u8, c: i64, day: u32, label: &str| {
        let net = money(c);
        let tax = (net * Decimal::new(2, 1)).round_dp(2);
        body(
            Journal::Purchases,
            day,
            label,
            vec![
                Line::debit(acc("606"), label, net),
                Line::debit(acc("44566"), label, tax),
                Line::credit(acc("401"), label, net + tax).with_auxiliary(aux(s)),
            ],
        )
    };
    match *op {
        Op::Invoice {
            supplier,
            cents,
            day,
        } => NewEntry::new(purchase(supplier, cents, day, &key), &key).ok(),
        Op::CreditNote {
            supplier,
            cents,
            day,
        } => {
            let mut b = purchase(supplier, cents, day, &key);
            b.lines = b.lines.iter().map(Line::swapped).collect();
            NewEntry::new(b, &key).ok()
        }
        Op::Payment {
            supplier,
            cents,
            day,
        } => NewEntry::new(
            body(
                Journal::Bank,
                day,
                &key,
                vec![
                    Line::debit(acc("401"), &key, money(cents)).with_auxiliary(aux(supplier)),
                    Line::credit(acc("512"), &key, money(cents)),
                ],
            ),
            &key,
        )
        .ok(),
        Op::Reverse { pick } => {
            let target = reversible.get(pick % reversible.len().max(1))?;
            NewEntry::reversal(target, NaiveDate::from_ymd_opt(2026, 5, 28).unwrap()).ok()
        }
        _ => None,
    }
}

fn may(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, day).unwrap()
}

/// The three suppliers of invoices with documents; the first one's VAT waits for payment.
const SUPPLIERS: [(&str, &str); 3] = [
    ("FR44732829320", "ACME Services SARL"),
    ("DE123456788", "Beispiel GmbH"),
    ("GB123456789", "Northwind Ltd"),
];

fn company() -> CompanySettings {
    CompanySettings {
        vat_on_receipts: VatOnReceipts {
            suppliers: vec![SupplierRef::parse(SUPPLIERS[0].0).unwrap()],
            accounts: Vec::new(),
        },
        ..CompanySettings::default()
    }
}

fn currency_of(c: u8) -> Currency {
    [Currency::EUR, Currency::USD, Currency::GBP][usize::from(c % 3)]
}

/// The table's rate of `c` on `day`: the case's base, moving a little every day.
fn table_rate(bases: (u32, u32), c: Currency, day: u32) -> Decimal {
    let base = if c == Currency::USD { bases.0 } else { bases.1 };
    Decimal::new(i64::from(base + (day * 37) % 61), 3)
}

/// What the cases of one run exercised (printed with their number).
#[derive(Default)]
struct Seen([std::sync::atomic::AtomicU64; 7]);

const SEEN: [&str; 7] = [
    "invoices in dollars or pounds",
    "of which at a printed rate",
    "payments in dollars or pounds",
    "with an exchange difference",
    "payments making VAT on receipts deductible",
    "invoices paid off",
    "repeated payments",
];

impl Seen {
    fn saw(&self, what: usize) {
        self.0[what].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn report(&self) -> String {
        SEEN.iter()
            .zip(&self.0)
            .map(|(name, n)| format!("{} {name}", n.load(std::sync::atomic::Ordering::Relaxed)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An invoice with a document, as the test knows it.
#[derive(Debug, Clone)]
struct Doc {
    id: DocumentId,
    supplier: usize,
    currency: Currency,
    entry: PostedEntry,
    /// Gross in its currency, and what the test paid off it (net of reversed payments).
    gross: Decimal,
    paid: Decimal,
    /// The invoice entry was reversed (before any payment).
    reversed: bool,
    /// Its payments: (amount, day, rate asked, the payment entry, reversed).
    payments: Vec<(Decimal, u32, Option<Decimal>, PostedEntry, bool)>,
}

impl Doc {
    fn open(&self) -> Decimal {
        if self.reversed {
            Decimal::ZERO
        } else {
            self.gross - self.paid
        }
    }
}

/// Posts an approved invoice with a document as the post stage would.
async fn doc_invoice(
    db: &TestDb,
    store: &dyn Store,
    n: usize,
    (supplier, currency, cents, day, printed): (usize, Currency, i64, u32, Option<u32>),
    bases: (u32, u32),
) -> Result<(NewEntry, Doc), TestCaseError> {
    let id = store
        .intake(&crate::store::raw(
            format!("%PDF invoice {n}").as_bytes(),
            &format!("inv-{n}.pdf"),
        ))
        .await
        .unwrap()
        .document();
    try_exec(
        db,
        &format!("UPDATE documents SET state = 'posted' WHERE id = {}", id.0),
    )
    .await
    .unwrap();
    let net = Decimal::new(cents, 2);
    let tax = (net * Decimal::new(2, 1)).round_dp(2);
    let mut inv = Invoice {
        number: Some(format!("INV-{n}")),
        issue_date: Some(may(day)),
        currency: Some(currency),
        total_net: Some(net),
        total_tax: Some(tax),
        total_gross: Some(net + tax),
        vat_breakdown: vec![VatBreakdown {
            category: Some("S".into()),
            rate: Some(Decimal::new(20, 0)),
            taxable_amount: net,
            tax_amount: tax,
            exemption_reason: None,
        }],
        ..Invoice::default()
    };
    inv.seller.vat_id = Some(VatId::parse(SUPPLIERS[supplier].0).unwrap());
    inv.seller.name = Some(SUPPLIERS[supplier].1.into());
    let rate = (currency != Currency::EUR).then(|| {
        let (per_unit, source) = match printed {
            Some(p) => (Decimal::new(i64::from(p), 3), RateSource::Invoice),
            None => (table_rate(bases, currency, day), RateSource::Ecb),
        };
        Rate::new(currency, may(day), per_unit, source).unwrap()
    });
    let entry = purchase_entry_at(id, &inv, &company(), may(day), rate.as_ref()).unwrap();
    let posted = store.post_entry(&entry, 1).await.unwrap();
    prop_assert_eq!(posted.body.document, Some(id));
    Ok((
        entry,
        Doc {
            id,
            supplier,
            currency,
            entry: posted,
            gross: net + tax,
            paid: Decimal::ZERO,
            reversed: false,
            payments: Vec::new(),
        },
    ))
}

async fn run_case(
    db: &TestDb,
    bases: (u32, u32),
    ops: &[Op],
    seen: &Seen,
) -> Result<(), TestCaseError> {
    let store = db.store().await;
    let mut rates = Vec::new();
    for day in 1..=28 {
        for c in [Currency::USD, Currency::GBP] {
            let r = Rate::new(c, may(day), table_rate(bases, c, day), RateSource::Ecb).unwrap();
            rates.push(r);
        }
    }
    store.set_rates(&rates).await.unwrap();
    // Entries the test posted itself (retried by Retry), and every entry in the book.
    let mut posted: Vec<(NewEntry, PostedEntry)> = Vec::new();
    let mut book: Vec<PostedEntry> = Vec::new();
    let mut docs: Vec<Doc> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Retry { pick } => {
                if posted.is_empty() {
                    continue;
                }
                let (entry, first) = &posted[pick % posted.len()];
                let again = store.post_entry(entry, 1).await.unwrap();
                // The same entry (its matching codes may have come since: they are given when
                // an invoice is paid off, and are not part of what was posted).
                prop_assert_eq!(
                    (again.id, &again.hash, &again.body),
                    (first.id, &first.hash, &first.body),
                    "a retry returns the first posting"
                );
                continue;
            }
            Op::DocInvoice {
                supplier,
                currency,
                cents,
                day,
                printed,
            } => {
                let args = (
                    usize::from(supplier % 3),
                    currency_of(currency),
                    cents,
                    day,
                    printed,
                );
                if args.1 != Currency::EUR {
                    seen.saw(0);
                    if printed.is_some() {
                        seen.saw(1);
                    }
                }
                let (entry, doc) = doc_invoice(db, store.as_ref(), i, args, bases).await?;
                posted.push((entry, doc.entry.clone()));
                book.push(doc.entry.clone());
                docs.push(doc);
                continue;
            }
            Op::DocPay {
                pick,
                quarters,
                day,
                rate,
            } => {
                let open: Vec<usize> = (0..docs.len())
                    .filter(|d| docs[*d].open() > Decimal::ZERO)
                    .collect();
                let Some(&d) = open.get(pick % open.len().max(1)) else {
                    continue;
                };
                let doc = &docs[d];
                let dp = doc.currency.minor_unit_digits();
                let amount = if quarters >= 4 {
                    doc.open()
                } else {
                    (doc.open() * Decimal::from(quarters) / Decimal::from(4))
                        .round_dp_with_strategy(dp, RoundingStrategy::ToZero)
                };
                if amount <= Decimal::ZERO {
                    continue;
                }
                // The bank's rate, for an invoice in another currency only.
                let rate = rate
                    .filter(|_| doc.currency != Currency::EUR)
                    .map(|r| Decimal::new(i64::from(r), 3));
                let paid = store
                    .pay_with(
                        doc.id,
                        amount,
                        may(day),
                        &PayOptions {
                            reference: Some(&format!("VIR-{i}")),
                            fiscal_start_month: 1,
                            rate,
                        },
                    )
                    .await;
                let p = match paid {
                    Ok(p) => p,
                    // A part worth less than a cent of what is owed is refused, nothing posted.
                    Err(StoreError::Invalid(why)) if why.contains("less than a cent") => continue,
                    Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                };
                prop_assert!(!p.replayed);
                if p.rate.is_some() {
                    seen.saw(2);
                }
                if !p.exchange_difference.is_zero() {
                    seen.saw(3);
                }
                if p.vat_released > Decimal::ZERO {
                    seen.saw(4);
                }
                if p.matched.is_some() {
                    seen.saw(5);
                }
                prop_assert_eq!(p.open_before, doc.open());
                prop_assert_eq!(p.open_after, doc.open() - amount);
                prop_assert_eq!(p.currency, doc.currency);
                let doc = &mut docs[d];
                doc.paid += amount;
                doc.payments
                    .push((amount, day, rate, p.entry.clone(), false));
                book.push(p.entry);
                continue;
            }
            Op::DocPayRetry { pick } => {
                let made: Vec<(usize, usize)> = docs
                    .iter()
                    .enumerate()
                    .flat_map(|(d, doc)| (0..doc.payments.len()).map(move |k| (d, k)))
                    .collect();
                let Some(&(d, k)) = made.get(pick % made.len().max(1)) else {
                    continue;
                };
                let doc = &docs[d];
                let (amount, day, rate, first, _) = &doc.payments[k];
                // Its reference is the op's: find it from the entry.
                let again = store
                    .pay_with(
                        doc.id,
                        *amount,
                        may(*day),
                        &PayOptions {
                            reference: Some(&first.body.piece_ref),
                            fiscal_start_month: 1,
                            rate: *rate,
                        },
                    )
                    .await
                    .unwrap();
                prop_assert!(again.replayed, "a repeated payment is the first one");
                seen.saw(6);
                prop_assert_eq!(again.entry.id, first.id);
                prop_assert_eq!(&again.entry.body, &first.body);
                continue;
            }
            _ => {}
        }
        let Some(entry) = entry_of(i, op, &reversible(&book, &docs)) else {
            continue;
        };
        let p = store.post_entry(&entry, 1).await.unwrap();
        // What the reversal cancels, the test's model forgets.
        if let Some(target) = p.body.reverses {
            for doc in docs.iter_mut() {
                if doc.entry.id == target {
                    doc.reversed = true;
                }
                for pay in doc.payments.iter_mut().filter(|x| x.3.id == target) {
                    pay.4 = true;
                    doc.paid -= pay.0;
                }
            }
        }
        posted.push((entry, p.clone()));
        book.push(p);
    }
    check(store.as_ref(), &book).await?;
    check_documents(store.as_ref(), &docs).await
}

/// What a Reverse may pick: entries without a document, invoices not paid at all, and part
/// payments of invoices not yet settled (a settled invoice is `paid`; a reversal does not move
/// it back, and its payment's reversal is left out here).
fn reversible(book: &[PostedEntry], docs: &[Doc]) -> Vec<PostedEntry> {
    book.iter()
        .filter(|p| p.body.reverses.is_none())
        .filter(|p| !book.iter().any(|q| q.body.reverses == Some(p.id)))
        .filter(|p| {
            let Some(doc) = docs.iter().find(|d| Some(d.id) == p.body.document) else {
                return true;
            };
            if doc.entry.id == p.id {
                return doc.payments.iter().all(|x| x.4);
            }
            doc.open() > Decimal::ZERO
        })
        .cloned()
        .collect()
}

/// The invariants, against what the test itself posted.
async fn check(store: &dyn Store, posted: &[PostedEntry]) -> Result<(), TestCaseError> {
    let entries = store.ledger_entries(None, None).await.unwrap();
    prop_assert_eq!(entries.len(), posted.len(), "nothing lost, nothing twice");
    let balance = store.trial_balance(None).await.unwrap();
    let total: Decimal = balance.iter().map(|b| b.net()).sum();
    prop_assert_eq!(total, Decimal::ZERO, "the trial balance is zero");
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for e in posted {
        for l in &e.body.lines {
            if let Some(a) = &l.auxiliary {
                *expected.entry(a.code.clone()).or_default() += l.debit - l.credit;
            }
        }
    }
    for b in balance.iter().filter(|b| b.auxiliary.is_some()) {
        let want = expected
            .get(b.auxiliary.as_ref().unwrap())
            .copied()
            .unwrap_or_default();
        prop_assert_eq!(b.net(), want, "auxiliary {:?}", b.auxiliary);
    }
    let mut numbers: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
    for e in &entries {
        numbers
            .entry((e.body.journal.code().to_string(), e.fiscal_year))
            .or_default()
            .push(e.number);
    }
    for (journal, mut n) in numbers {
        n.sort_unstable();
        let want: Vec<i64> = (1..=n.len() as i64).collect();
        prop_assert_eq!(n, want, "numbers of {:?} have no gap", journal);
    }
    // A reversal and its entry cancel out, foreign amounts too.
    for p in posted.iter().filter(|p| p.body.reverses.is_some()) {
        let target = entries
            .iter()
            .find(|e| Some(e.id) == p.body.reverses)
            .unwrap();
        let sum = |e: &PostedEntry| -> Decimal { e.body.lines.iter().map(|l| l.debit).sum() };
        prop_assert_eq!(sum(p), sum(target));
        let swapped: Vec<Line> = target.body.lines.iter().map(Line::swapped).collect();
        prop_assert_eq!(&p.body.lines, &swapped);
    }
    // Each bank entry makes as much VAT deductible as it takes off the waiting account.
    for e in entries.iter().filter(|e| e.body.journal == Journal::Bank) {
        let on = |account: &str| -> Decimal {
            e.body
                .lines
                .iter()
                .filter(|l| l.account.as_str() == account)
                .map(|l| l.debit - l.credit)
                .sum()
        };
        prop_assert_eq!(on("44566") + on("445668"), Decimal::ZERO);
    }
    prop_assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainCheck::Holds {
            entries: entries.len() as u64
        }
    );
    Ok(())
}

/// The invariants of invoices with documents: open items, both currencies, VAT on receipts.
async fn check_documents(store: &dyn Store, docs: &[Doc]) -> Result<(), TestCaseError> {
    let open = store.open_items_in_currency().await.unwrap();
    let company_open = store.open_items().await.unwrap();
    let balance = store.trial_balance(None).await.unwrap();
    let entries = store.ledger_entries(None, None).await.unwrap();
    // Each supplier's auxiliary balance equals its open items.
    for (supplier, (vat_id, _)) in SUPPLIERS.iter().enumerate() {
        let code = format!("F{vat_id}");
        let aux: Decimal = balance
            .iter()
            .filter(|b| b.auxiliary.as_deref() == Some(code.as_str()))
            .map(|b| b.net())
            .sum();
        let items: Decimal = open
            .iter()
            .filter(|o| {
                docs.iter()
                    .any(|d| d.id == o.document && d.supplier == supplier)
            })
            .map(|o| o.company_amount)
            .sum();
        prop_assert_eq!(
            -aux,
            items,
            "supplier {}'s account and its open items",
            vat_id
        );
    }
    for doc in docs {
        let item = open.iter().find(|o| o.document == doc.id);
        let waiting: Decimal = entries
            .iter()
            .filter(|e| e.body.document == Some(doc.id))
            .flat_map(|e| e.body.lines.iter())
            .filter(|l| l.account.as_str() == "445668")
            .map(|l| l.debit - l.credit)
            .sum();
        let posted_vat: Decimal = doc
            .entry
            .body
            .lines
            .iter()
            .filter(|l| l.account.as_str() == "445668")
            .map(|l| l.debit)
            .sum();
        prop_assert_eq!(
            posted_vat.is_zero(),
            doc.supplier != 0,
            "VAT on receipts: supplier 0"
        );
        match item {
            Some(o) => {
                prop_assert_eq!(
                    o.amount,
                    doc.open(),
                    "document {} owes what was not paid",
                    doc.id
                );
                prop_assert_eq!(o.currency, doc.currency);
                prop_assert!(o.company_amount > Decimal::ZERO, "owed in both currencies");
                let c = company_open.iter().find(|(d, _)| *d == doc.id).map(|x| x.1);
                prop_assert_eq!(c, Some(o.company_amount));
                // VAT waits in proportion to what is unpaid: none paid, all of it waits.
                prop_assert!(waiting >= Decimal::ZERO && waiting <= posted_vat);
                if doc.paid.is_zero() {
                    prop_assert_eq!(waiting, posted_vat);
                }
            }
            None => {
                prop_assert_eq!(doc.open(), Decimal::ZERO, "document {} is settled", doc.id);
                prop_assert!(!company_open.iter().any(|(d, _)| *d == doc.id));
                prop_assert_eq!(waiting, Decimal::ZERO, "no VAT waits on a settled invoice");
                if !doc.reversed {
                    let state = store.document(doc.id).await.unwrap().summary.state;
                    prop_assert_eq!(state, DocumentState::Paid);
                }
            }
        }
        // Its lines in the invoice's currency add up to what it owes in it.
        if doc.currency != Currency::EUR {
            let foreign: Decimal = entries
                .iter()
                .filter(|e| e.body.document == Some(doc.id))
                .flat_map(|e| e.body.lines.iter())
                .filter(|l| l.account.as_str() == "401")
                .map(|l| {
                    let f = l
                        .foreign
                        .as_ref()
                        .expect("a foreign invoice's lines say so");
                    if l.credit > Decimal::ZERO {
                        f.amount
                    } else {
                        -f.amount
                    }
                })
                .sum();
            prop_assert_eq!(foreign, doc.open());
        }
    }
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("FACTEUR_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default)
}

fn property(backend: Backend, default_cases: u32) {
    let config = ProptestConfig {
        cases: cases(default_cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let ran = std::sync::atomic::AtomicU32::new(0);
    let seen = Seen::default();
    let case = (
        (800u32..1300, 700u32..1000),
        proptest::collection::vec(op(), 1..20),
    );
    let result = runner.run(&case, |(bases, ops)| {
        ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let db = TestDb::new(backend).await;
            run_case(&db, bases, &ops, &seen).await
        })
    });
    eprintln!(
        "ledger properties on {backend:?}: {} cases ({})",
        ran.load(std::sync::atomic::Ordering::Relaxed),
        seen.report()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn ledger_invariants_hold_on_sqlite() {
    property(Backend::Sqlite, 24);
}

#[test]
fn ledger_invariants_hold_on_postgres() {
    property(Backend::Postgres, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn eight_concurrent_posters_on_postgres_keep_the_invariants() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let mut tasks = Vec::new();
    for poster in 0..8u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..12usize {
                let op = if n % 3 == 2 {
                    Op::Payment {
                        supplier: poster % 3,
                        cents: 1_000 + n as i64,
                        day: 10,
                    }
                } else {
                    Op::Invoice {
                        supplier: poster % 3,
                        cents: 10_000 + n as i64,
                        day: 1 + n as u32,
                    }
                };
                let entry = entry_of(usize::from(poster) * 100 + n, &op, &[]).unwrap();
                let p = store.post_entry(&entry, 1).await.unwrap();
                // Every fourth posting is retried at once, as a client that lost the answer.
                if n % 4 == 0 {
                    assert_eq!(store.post_entry(&entry, 1).await.unwrap(), p);
                }
                mine.push((entry, p));
            }
            mine
        }));
    }
    let mut posted = Vec::new();
    for t in tasks {
        posted.extend(t.await.unwrap());
    }
    posted.sort_by_key(|(_, p)| p.id);
    let posted: Vec<PostedEntry> = posted.into_iter().map(|(_, p)| p).collect();
    let r = check(store.as_ref(), &posted).await;
    assert!(r.is_ok(), "{r:?}");
}
