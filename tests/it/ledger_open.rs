//! Opening balances from a trial balance in CSV (`facteur ledger open`), on both backends: a
//! balanced file opens the year once (the same file again changes nothing, another is refused),
//! an unbalanced one is refused with its last line and the difference, and the year's FEC
//! starts with the opening entry.

use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger::Books;

both_backends!(a_trial_balance_opens_a_year_once, |db: TestDb| async move {
    let store = db.store().await;
    let books = Books::new(
        &db,
        "[company]\nname = \"Boulangerie Martin\"\nsiren = \"732829320\"\n",
    );
    let tb = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ledger/opening-2026.csv")
        .display()
        .to_string();
    let open =
        |file: &str, date: &str| books.facteur(&["ledger", "open", "--file", file, "--date", date]);
    let not_first_day = open(&tb, "2026-02-01");
    assert_eq!(not_first_day.status.code(), Some(2));
    assert!(said(&not_first_day).contains("not the first day of a fiscal year"));
    let unbalanced = books.ws.join("tb-short.csv");
    let text = std::fs::read_to_string(&tb).unwrap();
    std::fs::write(&unbalanced, text.replace("16350,00", "16349,50")).unwrap();
    let refused = open(&unbalanced.display().to_string(), "2026-01-01");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        said(&refused).contains("does not balance: debits 28349.50, credits 28350.00, a difference of -0.50 (the file ends at line 6)"),
        "{}",
        said(&refused)
    );
    let first = open(&tb, "2026-01-01");
    assert!(first.status.success(), "{}", said(&first));
    assert!(said(&first).contains("fiscal year 2026 opened: AN2026-000001 on 2026-01-01, 5 lines"));
    let again = open(&tb, "2026-01-01");
    assert!(again.status.success(), "{}", said(&again));
    assert!(said(&again).contains("opened with this trial balance already"));
    let other = books.ws.join("tb-other.csv");
    std::fs::write(
        &other,
        text.replace("20000,00", "19000,00")
            .replace("16350,00", "15350,00"),
    )
    .unwrap();
    let second = open(&other.display().to_string(), "2026-01-01");
    assert_eq!(second.status.code(), Some(2));
    assert!(
        said(&second).contains("has an opening entry already (AN2026-000001)"),
        "{}",
        said(&second)
    );
    assert_eq!(store.ledger_entries(None, None).await.unwrap().len(), 1);
    let balance = store.trial_balance(None).await.unwrap();
    let of = |account: &str| {
        balance
            .iter()
            .find(|b| b.account == account)
            .map(|b| b.net())
    };
    assert_eq!(of("512"), Some(dec!(16350.00)));
    assert_eq!(of("401"), Some(dec!(-350.00)));
    // A purchase of the year, then the FEC: the opening entry comes first.
    let pdf = invoice_pdf("FA-2026-0042", "1 234,50", "246,90", "1 481,40");
    let id = books.ingest_bytes(store.as_ref(), "fa.pdf", &pdf).await;
    books.approve_and_run(&db, store.clone(), id).await;
    let dir = books.ws.join("exports").display().to_string();
    let fec = books.facteur(&["export", "fec", "--year", "2026", "--out", &dir]);
    let fec = std::fs::read_to_string(String::from_utf8_lossy(&fec.stdout).trim()).unwrap();
    crate::fec_golden::check_rules(&fec);
    let journals: Vec<&str> = fec
        .split("\r\n")
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(journals, ["AN", "AN", "AN", "AN", "AN", "HA", "HA", "HA"]);
});
