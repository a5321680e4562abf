//! Reports (issue 13), on both backends: the aged balance of customers (issued invoices,
//! partial payments, a credit note) and of suppliers equals figures computed by hand and the
//! 411/401 balances of the trial balance, at two dates; DSO and DPO equal hand-computed
//! values; `facteur report aged --json` and `report dso` say the same through the binary.

use chrono::NaiveDate;
use facteur::domain::Currency;
use facteur::ledger::entry::{Auxiliary, EntryBody, Journal, Line, NewEntry};
use facteur::ledger::AccountNumber;
use facteur::receivables::sale::{DraftFile, NewSale};
use facteur::receivables::{finish, Customer, Issuing, Seller};
use facteur::reports::Side;
use facteur::store::Store;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;
use crate::receivables::{customer, run, settings, workspace};

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn acc(n: &str) -> AccountNumber {
    AccountNumber::parse(n).unwrap()
}

/// Issues an invoice of `net` + 20 % VAT to `c` on `date` (due 45 days later); its number.
async fn invoice(store: &dyn Store, c: &Customer, net: &str, date: NaiveDate) -> (i64, String) {
    let file: DraftFile = toml::from_str(&format!(
        "customer = \"{}\"\n[[line]]\ndescription = \"Études\"\nquantity = 1\nunit_price = \"{net}\"\nvat_rate = 20\n",
        c.account
    ))
    .unwrap();
    let sale = NewSale::draft(c.id, Currency::EUR, file).unwrap();
    let id = store.save_draft(&sale).await.unwrap().id;
    issue(store, id, date).await
}

async fn issue(store: &dyn Store, id: i64, date: NaiveDate) -> (i64, String) {
    let s = settings();
    let seller = Seller {
        company: &s.company,
        sales: &s.sales,
    };
    let fin = |i: &Issuing| finish(seller, i);
    let issued = store
        .issue_sale(id, date, &s.sales.series(), 1, &fin)
        .await
        .unwrap();
    (id, issued.sale.number.unwrap())
}

/// Posts `lines` in `journal` on `date`, piece `piece`, under posting key `key`.
async fn post(
    store: &dyn Store,
    journal: Journal,
    key: &str,
    piece: &str,
    date: NaiveDate,
    lines: Vec<Line>,
) {
    let entry = NewEntry::new(
        EntryBody {
            journal,
            date,
            label: format!("{} {piece}", journal.code()),
            piece_ref: piece.into(),
            piece_date: date,
            currency: Currency::EUR,
            document: None,
            reverses: None,
            lines,
        },
        key,
    )
    .unwrap();
    store.post_entry(&entry, 1).await.unwrap();
}

/// A bank entry: `amount` received from `c` against invoice `number`.
async fn receive(store: &dyn Store, c: &Customer, number: &str, amount: Decimal, date: NaiveDate) {
    let lines = vec![
        Line::debit(acc("512"), number, amount),
        Line::credit(acc("411"), number, amount).with_auxiliary(c.auxiliary()),
    ];
    post(
        store,
        Journal::Bank,
        &format!("rcv:{number}:{date}"),
        number,
        date,
        lines,
    )
    .await;
}

fn acme() -> Auxiliary {
    Auxiliary::of('F', "732829320", "ACME")
}

/// A supplier invoice `key` of `net` + 20 % VAT dated `date` (no document: due that day).
async fn purchase(store: &dyn Store, key: &str, net: Decimal, date: NaiveDate) {
    let tax = (net * dec!(0.2)).round_dp(2);
    let lines = vec![
        Line::debit(acc("606"), key, net),
        Line::debit(acc("44566"), key, tax),
        Line::credit(acc("401"), key, net + tax).with_auxiliary(acme()),
    ];
    post(store, Journal::Purchases, key, key, date, lines).await;
}

/// A bank entry: `amount` paid to ACME against its invoice `key`.
async fn pay_supplier(store: &dyn Store, key: &str, amount: Decimal, date: NaiveDate) {
    let lines = vec![
        Line::debit(acc("401"), key, amount).with_auxiliary(acme()),
        Line::credit(acc("512"), key, amount),
    ];
    post(
        store,
        Journal::Bank,
        &format!("pay:{key}:{date}"),
        key,
        date,
        lines,
    )
    .await;
}

/// The fixture year. Customers pay at 45 days. Report date June 30.
/// Martin: inv 1 (Jan 10, due Feb 24) 1200, 500 paid Mar 1 → 700, 126 days late: > 90.
///         inv 3 (Mar 20, due May 4) 300: 57 days late: 31-60.
///         inv 4 (Apr 2) 600, credited in full Apr 10 (credit note): closed.
///         inv 6 (Jun 1, due Jul 16) 960, 160 paid Jun 10 → 800: not due.
/// Durand: inv 2 (Feb 20, due Apr 6) 120: 85 days late: 61-90.
///         inv 5 (May 1, due Jun 15) 480: 15 days late: 0-30.
async fn fixture(store: &dyn Store) -> (Customer, Customer) {
    let martin = store
        .add_customer(&customer("Boulangerie Martin", "552100554", "fr"))
        .await
        .unwrap();
    let durand = store
        .add_customer(&customer("Durand Lumière", "732829320", "fr"))
        .await
        .unwrap();
    let (_, n1) = invoice(store, &martin, "1000.00", day(1, 10)).await;
    invoice(store, &durand, "100.00", day(2, 20)).await;
    invoice(store, &martin, "250.00", day(3, 20)).await;
    let (i4, _) = invoice(store, &martin, "500.00", day(4, 2)).await;
    invoice(store, &durand, "400.00", day(5, 1)).await;
    let (_, n6) = invoice(store, &martin, "800.00", day(6, 1)).await;
    let note = store.draft_credit_note(i4).await.unwrap();
    issue(store, note.id, day(4, 10)).await;
    receive(store, &martin, &n1, dec!(500), day(3, 1)).await;
    receive(store, &martin, &n6, dec!(160), day(6, 10)).await;
    purchase(store, "FA-1", dec!(100), day(3, 2)).await;
    purchase(store, "FA-2", dec!(50), day(6, 20)).await;
    pay_supplier(store, "FA-1", dec!(40), day(4, 1)).await;
    (martin, durand)
}

async fn trial(store: &dyn Store, account: &str, at: NaiveDate) -> Decimal {
    store
        .trial_balance(Some(at))
        .await
        .unwrap()
        .iter()
        .filter(|b| b.account == account)
        .map(|b| b.net())
        .sum()
}

both_backends!(
    aged_balance_and_dso_equal_hand_figures,
    |db: TestDb| async move {
        let store = db.store().await;
        let (martin, durand) = fixture(store.as_ref()).await;
        let s = store.as_ref();

        let ar = facteur::reports::aged_balance(s, Side::Ar, day(6, 30))
            .await
            .unwrap();
        let row = |c: &Customer| {
            ar.parties
                .iter()
                .find(|p| p.party == c.account)
                .unwrap_or_else(|| panic!("{} in {:?}", c.account, ar.parties))
                .clone()
        };
        assert_eq!(
            row(&martin).buckets,
            [dec!(800), dec!(0), dec!(300), dec!(0), dec!(700)]
        );
        assert_eq!(
            row(&durand).buckets,
            [dec!(0), dec!(480), dec!(0), dec!(120), dec!(0)]
        );
        assert_eq!(
            ar.totals,
            [dec!(800), dec!(480), dec!(300), dec!(120), dec!(700)]
        );
        assert_eq!(ar.total, dec!(2400));
        assert_eq!(ar.total, trial(s, "411", day(6, 30)).await);
        assert_eq!(ar.difference, Decimal::ZERO);
        assert_eq!(
            ar.items.len(),
            5,
            "the credited invoice is closed: {:?}",
            ar.items
        );
        let late = ar.items.iter().find(|i| i.open == dec!(700)).unwrap();
        assert_eq!((late.due, late.days_past_due), (day(2, 24), 126));

        // At March 31: inv 1 is 35 days late (700 after the payment), invs 2 and 3 not due yet.
        let march = facteur::reports::aged_balance(s, Side::Ar, day(3, 31))
            .await
            .unwrap();
        assert_eq!(
            march.totals,
            [dec!(420), dec!(0), dec!(700), dec!(0), dec!(0)]
        );
        assert_eq!(march.total, trial(s, "411", day(3, 31)).await);

        // Suppliers: FA-1 120 − 40 = 80 due Mar 2 (120 days late), FA-2 60 due Jun 20 (10 days).
        let ap = facteur::reports::aged_balance(s, Side::Ap, day(6, 30))
            .await
            .unwrap();
        assert_eq!(ap.totals, [dec!(0), dec!(60), dec!(0), dec!(0), dec!(80)]);
        assert_eq!(ap.total, -trial(s, "401", day(6, 30)).await);
        assert_eq!(ap.difference, Decimal::ZERO);

        // DSO over Apr 2 – Jun 30: sales 600 + 480 + 960 − 600 (credit note) = 1440;
        // 2400 / 1440 × 90 = 150.0 days.
        let dso = facteur::reports::days_outstanding(s, Side::Ar, day(6, 30), 90)
            .await
            .unwrap();
        assert_eq!(dso.from, day(4, 2));
        assert_eq!((dso.balance, dso.flow), (dec!(2400), dec!(1440)));
        assert_eq!(dso.days, Some(dec!(150.0)));
        // DPO: purchases in the period 60 (FA-2); 140 / 60 × 90 = 210.0 days.
        let dpo = facteur::reports::days_outstanding(s, Side::Ap, day(6, 30), 90)
            .await
            .unwrap();
        assert_eq!(dpo.days, Some(dec!(210.0)));

        // 13-week forecast from June 30: bank 500 + 160 − 40 = 620; week 1 (Jun 30 – Jul 6)
        // gets every past-due item: receipts 700 + 120 + 300 + 480 = 1600, payments 80 + 60;
        // week 3 (Jul 14 – 20) the 800 due Jul 16.
        let f = facteur::reports::cash_forecast(s, day(6, 30), &Currency::EUR)
            .await
            .unwrap();
        assert_eq!(f.opening_cash, dec!(620));
        assert_eq!(
            (f.weeks[0].receipts, f.weeks[0].payments, f.weeks[0].cash),
            (dec!(1600), dec!(140), dec!(2080))
        );
        assert_eq!(
            (f.overdue_receipts, f.overdue_payments),
            (dec!(1600), dec!(140))
        );
        assert_eq!(f.weeks[1].net, Decimal::ZERO);
        assert_eq!(
            (f.weeks[2].start, f.weeks[2].receipts, f.weeks[2].cash),
            (day(7, 14), dec!(800), dec!(2880))
        );
        assert_eq!(f.weeks[12].cash, dec!(2880));
        assert_eq!(
            (f.later_receipts, f.later_payments),
            (Decimal::ZERO, Decimal::ZERO)
        );

        // The binary says the same.
        let (_ws, config) = workspace(&db);
        let ok = |args: &[&str]| {
            let out = run(&config, args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let json: serde_json::Value = serde_json::from_str(&ok(&[
            "report",
            "aged",
            "--side",
            "ar",
            "--at",
            "2026-06-30",
            "--json",
        ]))
        .expect("JSON alone on stdout");
        assert_eq!(json["total"], serde_json::json!("2400.00"));
        assert_eq!(json["difference"], serde_json::json!("0.00"));
        let table = ok(&["report", "aged", "--side", "ar", "--at", "2026-06-30"]);
        assert!(table.contains("it reconciles"), "{table}");
        let csv = ok(&[
            "report",
            "aged",
            "--side",
            "ap",
            "--at",
            "2026-06-30",
            "--csv",
        ]);
        assert!(
            csv.contains("TOTAL,,0.00,60.00,0.00,0.00,80.00,140.00"),
            "{csv}"
        );
        let forecast: serde_json::Value =
            serde_json::from_str(&ok(&["report", "forecast", "--at", "2026-06-30", "--json"]))
                .expect("JSON alone on stdout");
        assert_eq!(forecast["weeks"][0]["cash"], serde_json::json!("2080.00"));
        let late = ok(&[
            "report",
            "overdue",
            "--side",
            "ar",
            "--at",
            "2026-06-30",
            "--csv",
        ]);
        let rows: Vec<&str> = late.lines().skip(1).collect();
        assert_eq!(rows.len(), 4, "{late}");
        assert!(rows[0].ends_with(",126,700.00"), "most late first: {late}");
        let dso = ok(&["report", "dso", "--at", "2026-06-30"]);
        assert!(
            dso.contains("150.0 days") && dso.contains("Method: DSO ="),
            "{dso}"
        );
    }
);
