//! The golden FEC (issue 12), on both backends: a small fixture year (opening balances from a
//! trial balance, supplier invoices, a credit note, a reverse-charge purchase, a partial and a
//! full payment, an invoice and its reversal) is posted through the ledger's own code, its FEC
//! is compared byte for byte with fixtures/ledger/732829320FEC20261231.txt and checked column by
//! column against the format rules (`check_rules`, which tests/it/ledger.rs applies to the FEC
//! the binary writes too).
//!
//! The ledger stamps each entry's validation (ValidDate, and the order of the file) with the
//! clock; the test pins it to the entry's own date (18:00, plus one second per entry id) before
//! writing, so the file does not depend on the day the test runs. Every other column comes from
//! the store untouched. After a deliberate change of the format, `FACTEUR_BLESS=1` writes the
//! golden file anew (review its diff before committing it).

use chrono::{Duration, NaiveDate};
use facteur::config::CompanySettings;
use facteur::domain::{Currency, DocType, DocumentId, Invoice, Siren, VatBreakdown, VatId};
use facteur::ledger::account::Chart;
use facteur::ledger::{ap, fec, opening, NewEntry, PostedEntry};
use facteur::store::Store;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledger")
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// A `dd.dd` amount, its digits and the decimal comma.
fn is_amount(s: &str) -> bool {
    s.split_once(',').is_some_and(|(units, cents)| {
        !units.is_empty()
            && units.bytes().all(|b| b.is_ascii_digit())
            && (units == "0" || !units.starts_with('0'))
            && cents.len() == 2
            && cents.bytes().all(|b| b.is_ascii_digit())
    })
}

fn amount(s: &str) -> Decimal {
    s.replace(',', ".").parse().unwrap()
}

fn is_date(s: &str) -> bool {
    NaiveDate::parse_from_str(s, "%Y%m%d").is_ok() && s.len() == 8
}

/// Checks a FEC (article A47 A-1 LPF) column by column; panics naming the line and the rule.
pub(crate) fn check_rules(fec: &str) {
    assert!(
        !fec.ends_with('\n') && !fec.ends_with('\r'),
        "no line break after the last line"
    );
    assert!(
        !fec.replace("\r\n", "").contains(['\r', '\n']),
        "lines end with CRLF and nothing else"
    );
    let lines: Vec<&str> = fec.split("\r\n").collect();
    assert_eq!(
        lines[0],
        fec::COLUMNS.join("\t"),
        "the header names the 18 columns in order"
    );
    let mut seen_other = false;
    let mut last_valid = String::new();
    let mut sums: std::collections::BTreeMap<String, (Decimal, Decimal)> = Default::default();
    let mut numbers: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let at = |rule: &str| format!("line {}: {rule}: {line}", i + 1);
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 18, "{}", at("18 columns"));
        assert!(!line.contains('|'), "{}", at("no | in a label"));
        for (n, v) in c.iter().enumerate() {
            assert_eq!(
                v.trim(),
                *v,
                "{}",
                at(&format!("column {n} has no outer spaces"))
            );
        }
        let [journal, journal_lib, num, ecr_date, account, account_lib, aux_num, aux_lib, piece, piece_date, label, debit, credit, let_code, let_date, valid, dev_amount, dev] =
            c[..]
        else {
            unreachable!()
        };
        assert!(
            !journal.is_empty() && !journal_lib.is_empty(),
            "{}",
            at("a journal")
        );
        assert!(
            num.starts_with(journal),
            "{}",
            at("EcritureNum within its journal")
        );
        assert!(
            is_date(ecr_date) && is_date(piece_date) && is_date(valid),
            "{}",
            at("AAAAMMJJ dates")
        );
        assert!(
            !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()),
            "{}",
            at("CompteNum is digits")
        );
        assert!(!account_lib.is_empty(), "{}", at("CompteLib"));
        assert_eq!(
            aux_num.is_empty(),
            aux_lib.is_empty(),
            "{}",
            at("CompAuxNum with CompAuxLib")
        );
        assert!(
            aux_num.is_empty() || account.starts_with("40") || account.starts_with("41"),
            "{}",
            at("auxiliary accounts under 40/41")
        );
        assert!(
            !piece.is_empty() && !label.is_empty(),
            "{}",
            at("PieceRef and EcritureLib")
        );
        assert!(
            is_amount(debit) && is_amount(credit),
            "{}",
            at("amounts 0,00, comma, no sign")
        );
        assert!(
            amount(debit).is_zero() != amount(credit).is_zero(),
            "{}",
            at("one side per line")
        );
        assert_eq!(
            let_code.is_empty(),
            let_date.is_empty(),
            "{}",
            at("EcritureLet with DateLet")
        );
        assert!(
            let_date.is_empty() || is_date(let_date),
            "{}",
            at("DateLet AAAAMMJJ")
        );
        assert_eq!(
            dev_amount.is_empty(),
            dev.is_empty(),
            "{}",
            at("Montantdevise with Idevise")
        );
        if journal == "AN" {
            assert!(!seen_other, "{}", at("opening entries first"));
        } else {
            seen_other = true;
            assert!(valid >= last_valid.as_str(), "{}", at("validation order"));
            last_valid = valid.to_string();
        }
        let s = sums.entry(num.to_string()).or_default();
        s.0 += amount(debit);
        s.1 += amount(credit);
        let n: u32 = num[num.len() - 6..].parse().unwrap();
        let slot = numbers.entry(num[..num.len() - 7].to_string()).or_default();
        if slot.last() != Some(&n) {
            slot.push(n);
        }
    }
    for (num, (d, c)) in sums {
        assert_eq!(d, c, "entry {num} balances");
    }
    for (journal, mut ns) in numbers {
        ns.sort();
        assert_eq!(
            ns,
            (1..=ns.len() as u32).collect::<Vec<_>>(),
            "{journal}: numbers without gaps"
        );
    }
}

fn company() -> CompanySettings {
    CompanySettings {
        name: "Boulangerie Martin".into(),
        siren: Some(Siren::parse("732829320").unwrap()),
        expense_account: facteur::ledger::AccountNumber::parse("6064").unwrap(),
        ..CompanySettings::default()
    }
}

fn acme(number: &str, on: NaiveDate, net: Decimal, credit_note: bool) -> Invoice {
    let tax = (net * dec!(0.2)).round_dp(2);
    let mut inv = Invoice {
        doc_type: if credit_note {
            DocType::CreditNote
        } else {
            DocType::Invoice
        },
        number: Some(number.into()),
        issue_date: Some(on),
        currency: Some(Currency::EUR),
        total_net: Some(net),
        total_tax: Some(tax),
        total_gross: Some(net + tax),
        ..Invoice::default()
    };
    inv.vat_breakdown = vec![VatBreakdown {
        category: Some("S".into()),
        rate: Some(dec!(20)),
        taxable_amount: net,
        tax_amount: tax,
        exemption_reason: None,
    }];
    inv.seller.name = Some("ACME Fournitures SARL".into());
    inv.seller.siren = Some(Siren::parse("732829320").unwrap());
    inv.seller.vat_id = Some(VatId::parse("FR44732829320").unwrap());
    inv
}

/// A German supplier's invoice without VAT: the company self-assesses it (reverse charge).
fn muller(on: NaiveDate) -> Invoice {
    let mut inv = Invoice {
        number: Some("RE-2026-17".into()),
        issue_date: Some(on),
        currency: Some(Currency::EUR),
        total_net: Some(dec!(1000.00)),
        total_tax: Some(dec!(0)),
        total_gross: Some(dec!(1000.00)),
        ..Invoice::default()
    };
    inv.seller.name = Some("Müller | Söhne\tBackofenbau GmbH".into());
    inv.seller.vat_id = Some(VatId::parse("DE129273398").unwrap());
    inv
}

/// A document for an invoice, in the state a posted invoice is in.
async fn document(db: &TestDb, store: &dyn Store, name: &str) -> DocumentId {
    let id = store
        .intake(&crate::store::raw(name.as_bytes(), name))
        .await
        .unwrap()
        .document();
    try_exec(
        db,
        &format!("UPDATE documents SET state = 'posted' WHERE id = {}", id.0),
    )
    .await
    .unwrap();
    id
}

/// Posts the fixture year; returns its entries as the FEC reads them.
async fn fixture_year(db: &TestDb) -> Vec<PostedEntry> {
    let store = db.store().await;
    let company = company();
    let post = |e: NewEntry| {
        let store = store.clone();
        async move { store.post_entry(&e, 1).await.unwrap() }
    };
    let tb = std::fs::read(fixtures().join("opening-2026.csv")).unwrap();
    let balances = opening::parse(&tb, &Chart::pcg()).unwrap();
    post(opening::entry(&balances, date(1, 1), Currency::EUR).unwrap()).await;
    let a = document(db, store.as_ref(), "fa-2026-0042.pdf").await;
    let inv = acme("FA-2026-0042", date(3, 12), dec!(1234.50), false);
    post(ap::purchase_entry(a, &inv, &company, date(3, 12)).unwrap()).await;
    let b = document(db, store.as_ref(), "re-2026-17.pdf").await;
    post(ap::purchase_entry(b, &muller(date(4, 2)), &company, date(4, 2)).unwrap()).await;
    let partial = store
        .pay(a, dec!(1000.00), date(4, 10), Some("VIR-0410"), 1)
        .await
        .unwrap();
    assert_eq!(partial.open_after, dec!(481.40));
    let c = document(db, store.as_ref(), "av-2026-0003.pdf").await;
    let note = acme("AV-2026-0003", date(4, 20), dec!(100.00), true);
    post(ap::purchase_entry(c, &note, &company, date(4, 20)).unwrap()).await;
    let full = store
        .pay(b, dec!(1000.00), date(5, 5), Some("VIR-0505"), 1)
        .await
        .unwrap();
    assert_eq!(full.matched.as_deref(), Some("A"));
    let d = document(db, store.as_ref(), "fa-2026-0051.pdf").await;
    let wrong = acme("FA-2026-0051", date(5, 15), dec!(50.00), false);
    let posted = post(ap::purchase_entry(d, &wrong, &company, date(5, 15)).unwrap()).await;
    post(NewEntry::reversal(&posted, date(5, 20)).unwrap()).await;
    let mut entries = store.fiscal_year_entries(2026).await.unwrap();
    for e in &mut entries {
        e.validated_at =
            e.body.date.and_hms_opt(18, 0, 0).unwrap().and_utc() + Duration::seconds(e.id);
    }
    entries
}

both_backends!(
    the_fec_of_a_fixture_year_is_the_golden_file,
    |db: TestDb| async move {
        let entries = fixture_year(&db).await;
        assert_eq!(entries.len(), 8);
        let text = fec::write(&entries, &Chart::pcg());
        check_rules(&text);
        let golden = fixtures().join(fec::file_name("732829320", date(12, 31)));
        if std::env::var("FACTEUR_BLESS").as_deref() == Ok("1") {
            std::fs::write(&golden, &text).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (FACTEUR_BLESS=1 writes it)", golden.display()));
        if want != text {
            let first = want
                .split("\r\n")
                .zip(text.split("\r\n"))
                .enumerate()
                .find(|(_, (w, g))| w != g);
            panic!(
            "the FEC differs from {} at {first:?} ({} and {} bytes); after a deliberate change, \
             FACTEUR_BLESS=1 writes it anew",
            golden.display(),
            want.len(),
            text.len()
        );
        }
        // What the year holds, read from the file: the rules above do not see these.
        let rows: Vec<Vec<&str>> = text
            .split("\r\n")
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        let journals: Vec<&str> = rows.iter().map(|r| r[0]).collect();
        assert_eq!(
            journals.iter().filter(|j| **j == "AN").count(),
            5,
            "the trial balance's 5 lines"
        );
        assert!(
            rows.iter().any(|r| r[4] == "445662" && r[11] == "200,00"),
            "reverse charge"
        );
        let lettered: Vec<&str> = rows.iter().filter(|r| r[13] == "A").map(|r| r[2]).collect();
        assert_eq!(
            lettered,
            ["HA2026-000002", "BQ2026-000002"],
            "the settled invoice and its payment"
        );
        assert!(
            rows.iter()
                .any(|r| r[6] == "FDE129273398" && r[7] == "Müller Söhne Backofenbau GmbH"),
            "separators stripped from labels"
        );
    }
);
