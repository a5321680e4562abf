//! Foreign currency (issue 12), on both backends: the rates table (the ECB's CSV imported once
//! however often, a person's rate winning its day, the latest recent-enough rate applying); an
//! invoice in another currency waiting for its rate, posted converted with its amounts in that
//! currency, paid off at other rates with the differences on 666/766, and in the FEC.

use std::sync::Arc;

use chrono::NaiveDate;
use facteur::domain::{Currency, DocumentId, DocumentState};
use facteur::ledger::entry::NewEntry;
use facteur::ledger::fx::{Rate, RateSource};
use facteur::ledger::PostedEntry;
use facteur::store::ledger::{OpenItem, PayOptions};
use facteur::store::{Store, StoreError};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn rate(c: Currency, d: u32, per_unit: rust_decimal::Decimal, source: RateSource) -> Rate {
    Rate::new(c, day(d), per_unit, source).unwrap()
}

/// A workspace whose facteur.toml names the test database, and the binary run in it.
struct Ws {
    config: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Ws {
    fn new(db: &TestDb, extra: &str) -> Ws {
        let dir = db.dir.path().join("ws");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("facteur.toml");
        std::fs::write(
            &config,
            format!("[database]\nurl = \"{}\"\n{extra}", db.url),
        )
        .unwrap();
        Ws { config, dir }
    }

    fn facteur(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = std::process::Command::new(facteur_bin())
            .args(["--config", &self.config.display().to_string()])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

both_backends!(
    the_rate_of_a_day_is_the_latest_recent_enough_one_and_a_persons_wins_its_day,
    |db: TestDb| async move {
        let store = db.store().await;
        let usd = Currency::USD;
        let written = store
            .set_rates(&[
                rate(usd, 10, dec!(1.0811), RateSource::Ecb),
                rate(usd, 12, dec!(1.0842), RateSource::Ecb),
                rate(Currency::GBP, 12, dec!(0.8421), RateSource::Ecb),
            ])
            .await
            .unwrap();
        assert_eq!(written, 3);
        let on = |d: u32| {
            let store = store.clone();
            async move { store.rate_on(usd, day(d)).await.unwrap() }
        };
        assert_eq!(on(12).await.unwrap().per_unit, dec!(1.0842));
        assert_eq!(
            on(11).await.unwrap().per_unit,
            dec!(1.0811),
            "the day before's"
        );
        assert_eq!(
            on(19).await.unwrap().date,
            day(12),
            "7 days old still applies"
        );
        assert_eq!(on(20).await, None, "8 days old is too old");
        assert_eq!(on(9).await, None, "nothing before the first");
        assert_eq!(
            store
                .rate_on(Currency::parse("JPY").unwrap(), day(12))
                .await
                .unwrap(),
            None
        );
        // A person's rate wins its day, and only its day.
        store
            .set_rates(&[rate(usd, 12, dec!(1.09), RateSource::Manual)])
            .await
            .unwrap();
        let r = on(12).await.unwrap();
        assert_eq!((r.per_unit, r.source), (dec!(1.09), RateSource::Manual));
        assert_eq!(on(13).await.unwrap().source, RateSource::Manual);
        store
            .set_rates(&[rate(usd, 13, dec!(1.0850), RateSource::Ecb)])
            .await
            .unwrap();
        assert_eq!(on(13).await.unwrap().source, RateSource::Ecb, "a later day");
        // Writing the same rates again changes nothing; another value replaces the day's.
        let again = store
            .set_rates(&[
                rate(usd, 10, dec!(1.0811), RateSource::Ecb),
                rate(usd, 12, dec!(1.0842), RateSource::Ecb),
            ])
            .await
            .unwrap();
        assert_eq!(again, 0);
        let changed = store
            .set_rates(&[rate(usd, 10, dec!(1.0812), RateSource::Ecb)])
            .await
            .unwrap();
        assert_eq!(changed, 1);
        assert_eq!(on(10).await.unwrap().per_unit, dec!(1.0812));
        // A rate printed on an invoice is not a table rate.
        assert!(store
            .set_rates(&[rate(usd, 10, dec!(1.1), RateSource::Invoice)])
            .await
            .is_err());
        let latest = store.list_rates(None).await.unwrap();
        let latest: Vec<(String, NaiveDate)> = latest
            .iter()
            .map(|r| (r.currency.to_string(), r.date))
            .collect();
        assert_eq!(
            latest,
            vec![("GBP".to_string(), day(12)), ("USD".to_string(), day(13))]
        );
        assert_eq!(store.list_rates(Some(usd)).await.unwrap().len(), 4);
    }
);

/// The ECB's history file in its layout: `days` working days back from 2026-03-13, 30 currencies
/// of which some are N/A (as the real file has).
fn ecb_history(days: usize) -> String {
    let names = [
        "USD", "JPY", "BGN", "CYP", "CZK", "DKK", "EEK", "GBP", "HUF", "LTL", "LVL", "MTL", "PLN",
        "ROL", "RON", "SEK", "SIT", "SKK", "CHF", "ISK", "NOK", "HRK", "RUB", "TRL", "TRY", "AUD",
        "BRL", "CAD", "CNY", "HKD",
    ];
    let mut out = format!("Date,{},\n", names.join(","));
    let mut d = day(13);
    let mut n = 0;
    while n < days {
        use chrono::Datelike;
        if d.weekday().number_from_monday() <= 5 {
            let cells: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if [
                        "CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL",
                    ]
                    .contains(c)
                    {
                        "N/A".to_string()
                    } else {
                        format!("{}.{:04}", 1 + i, (n * 7 + i) % 10_000)
                    }
                })
                .collect();
            out.push_str(&format!("{d},{},\n", cells.join(",")));
            n += 1;
        }
        d = d.pred_opt().unwrap();
    }
    out
}

both_backends!(
    rates_import_reads_the_ecb_files_once_however_often,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Ws::new(&db, "");
        // The daily file: its dates written out, spaces after commas, the trailing column.
        let daily = ws.dir.join("eurofxref.csv");
        std::fs::write(
            &daily,
            "Date, USD, JPY, BGN, CZK, DKK, GBP, HUF, \n12 March 2026, 1.0842, 161.37, 1.9558, \
             25.123, 7.4601, 0.84210, 389.15, \n",
        )
        .unwrap();
        let (code, out, err) = ws.facteur(&["rates", "import", &daily.display().to_string()]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("7 rate(s) of 7 currencies over 1 day(s) of 2026-03-12; 7 new or changed"),
            "{out}"
        );
        // The history file (here 400 days, 21 quoted currencies): in chunks, once.
        let hist = ws.dir.join("eurofxref-hist.csv");
        std::fs::write(&hist, ecb_history(400)).unwrap();
        let started = std::time::Instant::now();
        let (code, out, err) = ws.facteur(&["rates", "import", &hist.display().to_string()]);
        assert_eq!(code, Some(0), "{err}");
        eprintln!(
            "{:?}: 8,400 rates imported in {:?}",
            db.backend,
            started.elapsed()
        );
        assert!(
            out.contains("8400 rate(s) of 21 currencies over 400 day(s)"),
            "{out}"
        );
        let (_, again, _) = ws.facteur(&["rates", "import", &hist.display().to_string()]);
        assert!(again.contains("; 0 new or changed"), "{again}");
        // The history's 12 March differs from the daily file's: those were replaced.
        assert!(out.contains("8400 new or changed"), "{out}");
        let usd = store
            .rate_on(Currency::USD, day(14))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((usd.date, usd.source), (day(13), RateSource::Ecb));
        // By hand, then listed.
        let (code, out, err) =
            ws.facteur(&["rates", "set", "usd", "1,0900", "--date", "2026-03-16"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out.trim(), "set: 1 EUR = 1.09 USD (manual, 2026-03-16)");
        let (_, json, _) = ws.facteur(&["rates", "list", "--json"]);
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        let usd_row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["currency"] == "USD")
            .unwrap()
            .clone();
        assert_eq!(
            usd_row,
            serde_json::json!({"currency": "USD", "date": "2026-03-16", "per_unit": "1.09", "source": "manual"})
        );
        let (_, table, _) = ws.facteur(&["rates", "list", "--currency", "USD"]);
        assert_eq!(table.lines().count(), 1 + 400 + 1, "{table}");
        assert!(table.starts_with("CURRENCY  DATE        PER 1 EUR  SOURCE\n"));
        // What is not the ECB's file, or not a rate, is refused with where and why (exit 2).
        let bad = ws.dir.join("bad.csv");
        std::fs::write(&bad, "Date,USD,\n2026-03-12,1.08,\n2026-03-11,one,\n").unwrap();
        let (code, _, err) = ws.facteur(&["rates", "import", &bad.display().to_string()]);
        assert_eq!(code, Some(2));
        assert!(err.contains("line 3, USD: 'one' is not a rate"), "{err}");
        let (code, _, err) = ws.facteur(&["rates", "set", "EUR", "1", "--date", "2026-03-16"]);
        assert_eq!(code, Some(2));
        assert!(err.contains("EUR is the company currency"), "{err}");
        let (code, _, err) = ws.facteur(&["rates", "set", "USD", "-1", "--date", "2026-03-16"]);
        assert_eq!(code, Some(2));
        assert!(err.contains("is not a USD rate"), "{err}");
    }
);

impl Ws {
    /// Ingests one file (read and duplicate-checked); returns its document.
    async fn ingest(&self, store: &dyn Store, path: &std::path::Path) -> DocumentId {
        let (code, _, err) = self.facteur(&["ingest", "--quiet", &path.display().to_string()]);
        assert!(code.is_some_and(|c| c <= 1), "{err}");
        store.list_documents(None, 1).await.unwrap()[0].id
    }

    /// Approves `id` (as the approval stage records it; approvals are tested in
    /// tests/it/approval/) and runs every stage that follows.
    async fn approve_and_run(&self, db: &TestDb, store: Arc<dyn Store>, id: DocumentId) {
        let approve = format!(
            "UPDATE documents SET state = 'approved' WHERE id = {}",
            id.0
        );
        try_exec(db, &approve).await.unwrap();
        self.run(store).await;
    }

    /// What `facteur run` does at start and then: queued stages run to the end.
    async fn run(&self, store: Arc<dyn Store>) {
        store.backfill(facteur::stages::BUILT).await.unwrap();
        let settings = facteur::config::Settings::load(&self.config, false).unwrap();
        facteur::worker::Worker::new(&settings, store)
            .drain()
            .await
            .unwrap();
    }
}

fn demo_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// A line as these tests compare it: account, debit, credit, foreign amount and currency.
type Sides = (String, Decimal, Decimal, Option<(Decimal, String)>);

fn lines_of(e: &PostedEntry) -> Vec<Sides> {
    e.body
        .lines
        .iter()
        .map(|l| {
            (
                l.account.to_string(),
                l.debit,
                l.credit,
                l.foreign
                    .as_ref()
                    .map(|f| (f.amount, f.currency.to_string())),
            )
        })
        .collect()
}

const COMPANY: &str = "[company]\nname = \"Atelier Martin SAS\"\nsiren = \"732829320\"\n";

both_backends!(
    an_invoice_in_pounds_waits_for_its_rate_posts_converted_and_pays_off_with_exchange_differences,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Ws::new(&db, COMPANY);
        // Northwind's invoice: 4,062.40 + 812.48 VAT = 4,874.88 GBP, 14 October 2026.
        let id = ws
            .ingest(
                store.as_ref(),
                &demo_file("fixtures/demo/invoice-northwind-consulting.pdf"),
            )
            .await;
        ws.approve_and_run(&db, store.clone(), id).await;
        // No rate yet: it stays approved, for a person, saying what would post it.
        let doc = store.document(id).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::Approved);
        let why = doc.summary.reason.unwrap();
        assert!(
            why.contains("the invoice is in GBP and no rate is printed on it or in the rates table on 2026-10-14"),
            "{why}"
        );
        assert!(
            why.contains("facteur rates set GBP RATE --date 2026-10-14"),
            "{why}"
        );
        assert!(store.ledger_entries(None, None).await.unwrap().is_empty());
        // A paying attempt is refused: nothing is posted.
        let (code, _, err) = ws.facteur(&[
            "pay",
            &id.0.to_string(),
            "--amount",
            "10",
            "--date",
            "2026-11-13",
        ]);
        assert_eq!(code, Some(2));
        assert!(err.contains("only a posted invoice is paid"), "{err}");
        // The ECB's rates arrive (GBP: 0.86530 on 14 October): its posting is queued again.
        let (code, out, err) = ws.facteur(&[
            "rates",
            "import",
            &demo_file("fixtures/rates/eurofxref-hist-demo.csv")
                .display()
                .to_string(),
        ]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains("1 approved invoice(s)"), "{out}");
        ws.run(store.clone()).await;
        let doc = store.document(id).await.unwrap();
        assert_eq!(
            doc.summary.state,
            DocumentState::Posted,
            "{:?}",
            doc.summary.reason
        );
        assert!(doc
            .summary
            .reason
            .unwrap()
            .ends_with("at 1 EUR = 0.8653 GBP (ecb, 2026-10-14)"));
        let entries = store.ledger_entries(None, None).await.unwrap();
        let gbp = |a: Decimal| Some((a, "GBP".to_string()));
        // 4062.40 / 0.8653 = 4694.79, 812.48 / 0.8653 = 938.96, 4874.88 / 0.8653 = 5633.75.
        assert_eq!(
            lines_of(&entries[0]),
            vec![
                ("606".into(), dec!(4694.79), dec!(0), gbp(dec!(4062.40))),
                ("44566".into(), dec!(938.96), dec!(0), gbp(dec!(812.48))),
                ("401".into(), dec!(0), dec!(5633.75), gbp(dec!(4874.88))),
            ]
        );
        let f = entries[0].body.lines[2].foreign.clone().unwrap();
        assert_eq!(
            (f.rate, f.rate_date.to_string(), f.rate_source),
            (dec!(0.8653), "2026-10-14".to_string(), RateSource::Ecb)
        );
        assert_eq!(entries[0].body.currency, Currency::EUR);
        let open = store.open_items_in_currency().await.unwrap();
        assert_eq!(
            open,
            vec![OpenItem {
                document: id,
                currency: Currency::GBP,
                amount: dec!(4874.88),
                company_amount: dec!(5633.75),
            }]
        );
        // Paid in two parts at other rates. First 2,000 GBP at the table's 13 November rate
        // (0.86181): the bank pays 2,320.70 EUR for what the invoice booked at 2,311.34 (its
        // share 2000/4874.88 of 5,633.75): a 9.36 loss.
        let doc_id = id.0.to_string();
        let pay = |extra: &[&str]| {
            ws.facteur(
                &[
                    &[
                        "pay",
                        doc_id.as_str(),
                        "--date",
                        "2026-11-13",
                        "--reference",
                        "VIR-1",
                    ][..],
                    extra,
                ]
                .concat(),
            )
        };
        let (code, out, err) = pay(&["--amount", "2000"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("payment of 2000,00 GBP booked as BQ2026-000001 at 1 EUR = 0.86181 GBP (ecb, 2026-11-13): 2320,70 EUR; exchange loss 9,36 EUR (666) (4874,88 open before, 2874,88 after)"),
            "{out}"
        );
        // The same command again books nothing; the same payment at another rate is refused.
        let (_, again, _) = pay(&["--amount", "2000"]);
        assert!(again.contains("already booked"), "{again}");
        let (code, _, err) = pay(&["--amount", "2000", "--rate", "0.9"]);
        assert_eq!(code, Some(2));
        assert!(
            err.contains("was booked as BQ2026-000001 at 0.86181, not 0.9"),
            "{err}"
        );
        // The rest, 2,874.88 GBP, at the bank's 0.87: 3,304.46 EUR for the 3,322.41 still owed
        // in euros: a 17.95 gain, and the supplier's account is settled in both currencies.
        let (code, out, err) = ws.facteur(&[
            "pay",
            &doc_id,
            "--date",
            "2026-11-20",
            "--amount",
            "2874.88",
            "--rate",
            "0,87",
        ]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains(
                "3304,46 EUR; exchange gain 17,95 EUR (766) (2874,88 open before, 0,00 after)"
            ),
            "{out}"
        );
        assert!(out.contains("paid in full: matching code A"), "{out}");
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Paid
        );
        let entries = store.ledger_entries(None, None).await.unwrap();
        assert_eq!(
            lines_of(&entries[1]),
            vec![
                ("401".into(), dec!(2311.34), dec!(0), gbp(dec!(2000))),
                ("512".into(), dec!(0), dec!(2320.70), gbp(dec!(2000))),
                ("666".into(), dec!(9.36), dec!(0), None),
            ]
        );
        assert_eq!(
            lines_of(&entries[2]),
            vec![
                ("401".into(), dec!(3322.41), dec!(0), gbp(dec!(2874.88))),
                ("512".into(), dec!(0), dec!(3304.46), gbp(dec!(2874.88))),
                ("766".into(), dec!(0), dec!(17.95), None),
            ]
        );
        // The supplier line of a payment keeps the invoice's rate, the bank line the payment's.
        let rate_of = |e: usize, l: usize| entries[e].body.lines[l].foreign.clone().unwrap().rate;
        assert_eq!(
            (rate_of(1, 0), rate_of(1, 1)),
            (dec!(0.8653), dec!(0.86181))
        );
        assert_eq!(rate_of(2, 1), dec!(0.87));
        let balance = store.trial_balance(None).await.unwrap();
        let net = |account: &str| -> Decimal {
            balance
                .iter()
                .filter(|b| b.account == account)
                .map(|b| b.net())
                .sum()
        };
        assert_eq!(net("401"), Decimal::ZERO, "the supplier is settled");
        assert_eq!(
            balance.iter().map(|b| b.net()).sum::<Decimal>(),
            Decimal::ZERO
        );
        assert_eq!(net("512"), dec!(-5625.16));
        assert!(store.open_items_in_currency().await.unwrap().is_empty());
        let (code, out, _) = ws.facteur(&["ledger", "verify"]);
        assert_eq!(code, Some(0), "{out}");
        // The FEC gives each foreign line's amount and currency (Montantdevise, Idevise).
        let dir = ws.dir.join("exports");
        let (code, path, err) = ws.facteur(&[
            "export",
            "fec",
            "--year",
            "2026",
            "--out",
            &dir.display().to_string(),
        ]);
        assert_eq!(code, Some(0), "{err}");
        let fec = std::fs::read_to_string(path.trim()).unwrap();
        let rows: Vec<Vec<&str>> = fec.split("\r\n").map(|l| l.split('\t').collect()).collect();
        let devise: Vec<(&str, &str, &str, &str, &str)> = rows[1..]
            .iter()
            .map(|r| (r[4], r[11], r[12], r[16], r[17]))
            .collect();
        assert_eq!(
            devise,
            vec![
                ("606", "4694,79", "0,00", "4062,40", "GBP"),
                ("44566", "938,96", "0,00", "812,48", "GBP"),
                ("401", "0,00", "5633,75", "4874,88", "GBP"),
                ("401", "2311,34", "0,00", "2000,00", "GBP"),
                ("512", "0,00", "2320,70", "2000,00", "GBP"),
                ("666", "9,36", "0,00", "", ""),
                ("401", "3322,41", "0,00", "2874,88", "GBP"),
                ("512", "0,00", "3304,46", "2874,88", "GBP"),
                ("766", "0,00", "17,95", "", ""),
            ]
        );
    }
);

both_backends!(
    the_rate_printed_on_an_invoice_comes_before_the_tables,
    |db: TestDb| async move {
        let store = db.store().await;
        let ws = Ws::new(&db, COMPANY);
        let id = ws
            .ingest(
                store.as_ref(),
                &demo_file("fixtures/demo/invoice-northwind-consulting.pdf"),
            )
            .await;
        store
            .set_rates(&[Rate::new(
                Currency::GBP,
                NaiveDate::from_ymd_opt(2026, 10, 14).unwrap(),
                dec!(0.8653),
                RateSource::Ecb,
            )
            .unwrap()])
            .await
            .unwrap();
        // A rate of another currency than the invoice's is not its printed rate.
        let (code, _, err) = ws.facteur(&[
            "rates",
            "set",
            "USD",
            "1.16",
            "--date",
            "2026-10-14",
            "--document",
            &id.0.to_string(),
        ]);
        assert_eq!(code, Some(2));
        assert!(err.contains("is in GBP, not USD"), "{err}");
        let (code, out, err) = ws.facteur(&[
            "rates",
            "set",
            "GBP",
            "0.85",
            "--date",
            "2026-10-14",
            "--document",
            &id.0.to_string(),
            "--by",
            "alice",
        ]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains(&format!(
                "document {id}: printed rate 1 EUR = 0.85 GBP (invoice, 2026-10-14)"
            )),
            "{out}"
        );
        ws.approve_and_run(&db, store.clone(), id).await;
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Posted
        );
        let entries = store.ledger_entries(None, None).await.unwrap();
        let l = &entries[0].body.lines[2];
        assert_eq!(l.credit, dec!(5735.15), "4874.88 / 0.85");
        let f = l.foreign.clone().unwrap();
        assert_eq!((f.rate, f.rate_source), (dec!(0.85), RateSource::Invoice));
        // Posted: the rate is on its lines now; changing it is a reversal's business.
        let (code, _, err) = ws.facteur(&[
            "rates",
            "set",
            "GBP",
            "0.86",
            "--date",
            "2026-10-14",
            "--document",
            &id.0.to_string(),
        ]);
        assert_eq!(code, Some(2));
        assert!(err.contains("a correction is a reversal"), "{err}");
        // Paying in full without a table rate on the day is refused, with what to do.
        let paid = store
            .pay(
                id,
                dec!(4874.88),
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                None,
                1,
            )
            .await;
        assert!(
            matches!(&paid, Err(StoreError::Invalid(m)) if m.contains("no GBP rate on 2026-11-30 or the 7 days before")),
            "{paid:?}"
        );
        // A reversal puts back what was owed in both currencies.
        let rev = NewEntry::reversal(&entries[0], NaiveDate::from_ymd_opt(2026, 10, 20).unwrap())
            .unwrap();
        store.post_entry(&rev, 1).await.unwrap();
        assert!(store.open_items_in_currency().await.unwrap().is_empty());
        let paid = store
            .pay_with(
                id,
                dec!(1),
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                &PayOptions {
                    rate: Some(dec!(0.85)),
                    fiscal_start_month: 1,
                    ..PayOptions::default()
                },
            )
            .await;
        assert!(
            matches!(&paid, Err(StoreError::Invalid(m)) if m.contains("nothing is open")),
            "{paid:?}"
        );
    }
);

both_backends!(
    the_vat_of_a_supplier_on_receipts_waits_and_each_payment_makes_its_share_deductible,
    |db: TestDb| async move {
        let store = db.store().await;
        // ACME (SIRET 73282932000074) invoices services with VAT on receipts.
        let ws = Ws::new(
            &db,
            &format!("{COMPANY}\n[company.vat_on_receipts]\nsuppliers = [\"732829320\"]\n"),
        );
        let pdf = ws.dir.join("fa.pdf");
        std::fs::write(
            &pdf,
            invoice_pdf("FA-2026-0077", "1 000,00", "200,00", "1 200,00"),
        )
        .unwrap();
        let id = ws.ingest(store.as_ref(), &pdf).await;
        ws.approve_and_run(&db, store.clone(), id).await;
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::Posted
        );
        let entries = store.ledger_entries(None, None).await.unwrap();
        assert_eq!(
            lines_of(&entries[0]),
            vec![
                ("606".into(), dec!(1000.00), dec!(0), None),
                ("445668".into(), dec!(200.00), dec!(0), None),
                ("401".into(), dec!(0), dec!(1200.00), None),
            ]
        );
        // A quarter paid: a quarter of the VAT becomes deductible.
        let doc_id = id.0.to_string();
        let (code, out, err) =
            ws.facteur(&["pay", &doc_id, "--amount", "300", "--date", "2026-04-01"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("VAT on receipts now deductible: 50,00 EUR (445668 to 44566)"),
            "{out}"
        );
        // 0.01 paid moves nothing (its share rounds to zero); the rest moves all that waits.
        let (code, out, _) =
            ws.facteur(&["pay", &doc_id, "--amount", "0.01", "--date", "2026-04-02"]);
        assert_eq!(code, Some(0));
        assert!(!out.contains("VAT on receipts"), "{out}");
        let (code, out, err) =
            ws.facteur(&["pay", &doc_id, "--amount", "899.99", "--date", "2026-04-15"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("VAT on receipts now deductible: 150,00 EUR"),
            "{out}"
        );
        assert!(out.contains("paid in full"), "{out}");
        let entries = store.ledger_entries(None, None).await.unwrap();
        assert_eq!(
            lines_of(&entries[1]),
            vec![
                ("401".into(), dec!(300), dec!(0), None),
                ("512".into(), dec!(0), dec!(300), None),
                ("44566".into(), dec!(50.00), dec!(0), None),
                ("445668".into(), dec!(0), dec!(50.00), None),
            ]
        );
        let balance = store.trial_balance(None).await.unwrap();
        let net = |account: &str| -> Decimal {
            balance
                .iter()
                .filter(|b| b.account == account)
                .map(|b| b.net())
                .sum()
        };
        assert_eq!(
            (net("445668"), net("44566"), net("401")),
            (dec!(0), dec!(200.00), dec!(0))
        );
        // Reversing the last payment puts its share back to wait.
        let rev =
            NewEntry::reversal(&entries[3], NaiveDate::from_ymd_opt(2026, 4, 20).unwrap()).unwrap();
        store.post_entry(&rev, 1).await.unwrap();
        let balance = store.trial_balance(None).await.unwrap();
        let waiting: Decimal = balance
            .iter()
            .filter(|b| b.account == "445668")
            .map(|b| b.net())
            .sum();
        assert_eq!(waiting, dec!(150.00));
        let (code, out, _) = ws.facteur(&["ledger", "balance"]);
        assert_eq!(code, Some(0));
        assert!(out.contains("\n445668               TVA déducti…"), "{out}");
        let (code, out, _) = ws.facteur(&["ledger", "verify"]);
        assert_eq!(code, Some(0), "{out}");
    }
);

#[test]
fn a_supplier_on_receipts_that_is_no_siren_or_vat_id_is_a_configuration_error() {
    let d = tempfile::tempdir().unwrap();
    let config = d.path().join("facteur.toml");
    std::fs::write(
        &config,
        "[company]\nname = \"x\"\n\n[company.vat_on_receipts]\nsuppliers = [\"732829321\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(facteur_bin())
        .args(["--config", &config.display().to_string(), "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("facteur.toml:5"), "{err}");
    assert!(err.contains("732829321"), "{err}");
}
