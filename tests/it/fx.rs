//! Foreign currency (issue 12), on both backends: the rates table (the ECB's CSV imported once
//! however often, a person's rate winning its day, the latest recent-enough rate applying).

use chrono::NaiveDate;
use facteur::domain::Currency;
use facteur::ledger::fx::{Rate, RateSource};
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
