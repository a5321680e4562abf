//! Ledger invariants under random sequences (proptest) of supplier invoices, credit notes,
//! payments, reversals and retries with the same key, on both backends, and under 8 concurrent
//! posters on PostgreSQL: the trial balance is always zero, each supplier's auxiliary balance is
//! what was posted to it and not reversed, replays change nothing, entry numbers have no gaps,
//! the hash chain verifies. Cases: `FACTEUR_PROPTEST_CASES` (default 24 on SQLite, 6 on
//! PostgreSQL, each a fresh database); scripts/torture runs many more.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use facteur::domain::Currency;
use facteur::ledger::entry::{Auxiliary, EntryBody, Journal, Line, NewEntry};
use facteur::ledger::{AccountNumber, PostedEntry};
use facteur::store::ledger::ChainCheck;
use facteur::store::Store;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Op {
    Invoice { supplier: u8, cents: i64, day: u32 },
    CreditNote { supplier: u8, cents: i64, day: u32 },
    Payment { supplier: u8, cents: i64, day: u32 },
    Reverse { pick: usize },
    Retry { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let amount = 1i64..5_000_000;
    prop_oneof![
        3 => (0u8..3, amount.clone(), 1u32..28).prop_map(|(supplier, cents, day)| Op::Invoice { supplier, cents, day }),
        1 => (0u8..3, amount.clone(), 1u32..28).prop_map(|(supplier, cents, day)| Op::CreditNote { supplier, cents, day }),
        2 => (0u8..3, amount, 1u32..28).prop_map(|(supplier, cents, day)| Op::Payment { supplier, cents, day }),
        1 => any::<usize>().prop_map(|pick| Op::Reverse { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Retry { pick }),
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
fn entry_of(i: usize, op: &Op, posted: &[(NewEntry, PostedEntry)]) -> Option<NewEntry> {
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
            let reversible: Vec<&PostedEntry> = posted
                .iter()
                .map(|(_, p)| p)
                .filter(|p| p.body.reverses.is_none())
                .filter(|p| !posted.iter().any(|(_, q)| q.body.reverses == Some(p.id)))
                .collect();
            let target = reversible.get(pick % reversible.len().max(1))?;
            NewEntry::reversal(target, NaiveDate::from_ymd_opt(2026, 5, 28).unwrap()).ok()
        }
        Op::Retry { .. } => None,
    }
}

async fn run_case(db: &TestDb, ops: &[Op]) -> Result<(), TestCaseError> {
    let store = db.store().await;
    let mut posted: Vec<(NewEntry, PostedEntry)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::Retry { pick } = op {
            if posted.is_empty() {
                continue;
            }
            let (entry, first) = &posted[pick % posted.len()];
            let again = store.post_entry(entry, 1).await.unwrap();
            prop_assert_eq!(&again, first, "a retry returns the first posting");
            continue;
        }
        let Some(entry) = entry_of(i, op, &posted) else {
            continue;
        };
        let p = store.post_entry(&entry, 1).await.unwrap();
        posted.push((entry, p));
    }
    check(store.as_ref(), &posted).await
}

/// The invariants, against what the test itself posted.
async fn check(store: &dyn Store, posted: &[(NewEntry, PostedEntry)]) -> Result<(), TestCaseError> {
    let entries = store.ledger_entries(None, None).await.unwrap();
    prop_assert_eq!(entries.len(), posted.len(), "nothing lost, nothing twice");
    let balance = store.trial_balance(None).await.unwrap();
    let total: Decimal = balance.iter().map(|b| b.net()).sum();
    prop_assert_eq!(total, Decimal::ZERO, "the trial balance is zero");
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    for (e, _) in posted {
        for l in &e.body().lines {
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
    // A reversal and its entry cancel out.
    for (_, p) in posted.iter().filter(|(_, p)| p.body.reverses.is_some()) {
        let target = entries
            .iter()
            .find(|e| Some(e.id) == p.body.reverses)
            .unwrap();
        let sum = |e: &PostedEntry| -> Decimal { e.body.lines.iter().map(|l| l.debit).sum() };
        prop_assert_eq!(sum(p), sum(target));
    }
    prop_assert_eq!(
        store.verify_chain().await.unwrap(),
        ChainCheck::Holds {
            entries: entries.len() as u64
        }
    );
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
    let result = runner.run(&proptest::collection::vec(op(), 1..16), |ops| {
        ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let db = TestDb::new(backend).await;
            run_case(&db, &ops).await
        })
    });
    eprintln!(
        "ledger properties on {backend:?}: {} cases",
        ran.load(std::sync::atomic::Ordering::Relaxed)
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
    let r = check(store.as_ref(), &posted).await;
    assert!(r.is_ok(), "{r:?}");
}
