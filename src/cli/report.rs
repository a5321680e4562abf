//! `facteur report aged|overdue|dso|dpo|forecast|disputed`: the aged balance of customers or
//! suppliers, what is past due, DSO / DPO and the 13-week cash forecast, read from the ledger
//! (`crate::reports`), as a table, JSON (alone on stdout) or CSV; and the customer invoices in
//! dispute (from the store's open disputes).

use chrono::NaiveDate;

use super::{other, table, Cli, CmdResult};
use crate::reports::{aged::BUCKETS, Aged, Days, Forecast, Side};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Aged balance per customer (--side ar, 411) or supplier (--side ap, 401): not due,
    /// 0-30, 31-60, 61-90, > 90 days past due; reconciled with the trial balance.
    Aged {
        #[arg(long, value_enum)]
        side: Side,
        /// Report date [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
        /// JSON alone on stdout.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV on stdout, one row per customer or supplier.
        #[arg(long)]
        csv: bool,
        /// List the open items too (table only).
        #[arg(long)]
        items: bool,
    },
    /// What is past due, most late first: invoices customers have not paid (--side ar) or the
    /// company has not (--side ap).
    Overdue {
        #[arg(long, value_enum)]
        side: Side,
        /// Report date [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
        /// JSON alone on stdout.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// 13-week cash forecast: bank balance, then expected receipts (open customer invoices by
    /// due date) and payments (open and approved supplier invoices) week by week.
    Forecast {
        /// Report date, the first day of week 1 [default: today].
        #[arg(long)]
        at: Option<NaiveDate>,
        /// JSON alone on stdout.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// Customer invoices in dispute (litige): invoice, customer, amount, since when, reason
    /// (and who opened it, in the JSON).
    Disputed {
        /// JSON alone on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Days sales outstanding: 411 balance / net credit sales of the period × its days.
    Dso(DaysArgs),
    /// Days payables outstanding: 401 balance / net credit purchases of the period × its days.
    Dpo(DaysArgs),
}

#[derive(Debug, clap::Args)]
pub struct DaysArgs {
    /// Report date [default: today].
    #[arg(long)]
    at: Option<NaiveDate>,
    /// Length of the period ending at the report date, in days.
    #[arg(long, default_value_t = 90)]
    days: u32,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    match cmd {
        Command::Disputed { json } => {
            let all = store.open_disputes().await.map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&all).map_err(other)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|d| {
                    vec![
                        d.number.clone(),
                        d.customer.clone(),
                        format!("{} {}", money(d.gross), d.currency),
                        money(d.open),
                        d.since.format("%Y-%m-%d").to_string(),
                        d.reason.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table::render(
                    &[
                        "invoice",
                        "customer / client",
                        "total",
                        "open / dû",
                        "since",
                        "reason / motif",
                    ],
                    &rows,
                    5,
                    100
                )
            );
            outln!(
                "{} invoice(s) in dispute / facture(s) en litige; `facteur sales resolve ID` closes one",
                all.len()
            );
        }
        Command::Overdue {
            side,
            at,
            json,
            csv,
        } => {
            let a = crate::reports::aged_balance(store.as_ref(), *side, at.unwrap_or_else(today))
                .await
                .map_err(other)?;
            let mut late: Vec<_> = a
                .items
                .into_iter()
                .filter(|i| i.days_past_due > 0 && i.open > rust_decimal::Decimal::ZERO)
                .collect();
            late.sort_by(|x, y| {
                y.days_past_due
                    .cmp(&x.days_past_due)
                    .then(x.party.cmp(&y.party))
            });
            if *json {
                outln!("{}", serde_json::to_string_pretty(&late).map_err(other)?);
            } else if *csv {
                outln!("party,name,reference,date,due,days_late,open");
                for i in &late {
                    outln!(
                        "{},{},{},{},{},{},{}",
                        csv_cell(&i.party),
                        csv_cell(&i.name),
                        csv_cell(&i.reference),
                        i.date,
                        i.due,
                        i.days_past_due,
                        money(i.open)
                    );
                }
            } else {
                let who = match side {
                    Side::Ar => "customer",
                    Side::Ap => "supplier",
                };
                outln!("Past due at {} ({who}s, account {})", a.at, a.account);
                let rows: Vec<Vec<String>> = late
                    .iter()
                    .map(|i| {
                        vec![
                            i.party.clone(),
                            i.name.clone(),
                            i.reference.clone(),
                            i.due.to_string(),
                            i.days_past_due.to_string(),
                            money(i.open),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(
                        &[who, "name", "reference", "due", "days late", "open"],
                        &rows,
                        1,
                        100
                    )
                );
                let total: rust_decimal::Decimal = late.iter().map(|i| i.open).sum();
                outln!("{} items past due, {} in all", late.len(), money(total));
            }
        }
        Command::Forecast { at, json, csv } => {
            let f = crate::reports::cash_forecast(
                store.as_ref(),
                at.unwrap_or_else(today),
                &settings.company.currency,
            )
            .await
            .map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&f).map_err(other)?);
            } else if *csv {
                out!("{}", forecast_csv(&f));
            } else {
                print_forecast(&f);
            }
        }
        Command::Aged {
            side,
            at,
            json,
            csv,
            items,
        } => {
            let a = crate::reports::aged_balance(store.as_ref(), *side, at.unwrap_or_else(today))
                .await
                .map_err(other)?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&a).map_err(other)?);
            } else if *csv {
                out!("{}", aged_csv(&a));
            } else {
                print_aged(&a, *items);
            }
        }
        Command::Dso(args) | Command::Dpo(args) => {
            let side = match cmd {
                Command::Dso(_) => Side::Ar,
                _ => Side::Ap,
            };
            let d = crate::reports::days_outstanding(
                store.as_ref(),
                side,
                args.at.unwrap_or_else(today),
                args.days,
            )
            .await
            .map_err(other)?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&d).map_err(other)?);
            } else if args.csv {
                outln!("measure,at,from,period_days,balance,flow,days");
                outln!(
                    "{},{},{},{},{},{},{}",
                    d.name,
                    d.at,
                    d.from,
                    d.period_days,
                    d.balance,
                    d.flow,
                    d.days.map(|x| x.to_string()).unwrap_or_default()
                );
            } else {
                print_days(&d);
            }
        }
    }
    Ok(())
}

fn reconciliation(a: &Aged) -> String {
    if a.difference.is_zero() {
        format!(
            "Total {} equals the balance of account {} in the trial balance at {}: it reconciles.",
            a.total, a.account, a.at
        )
    } else {
        format!(
            "Total {} differs from the balance of account {} in the trial balance at {} ({}) by {}: \
             lines on {} are not tied to an item as expected; `facteur ledger entries` shows them.",
            a.total, a.account, a.at, a.ledger_balance, a.difference, a.account
        )
    }
}

fn print_aged(a: &Aged, items: bool) {
    let who = match a.side {
        Side::Ar => "customer",
        Side::Ap => "supplier",
    };
    outln!("Aged balance ({who}s, account {}) at {}", a.account, a.at);
    let mut header = vec![who, "name"];
    header.extend(BUCKETS);
    header.push("total");
    let mut rows: Vec<Vec<String>> = a
        .parties
        .iter()
        .map(|p| {
            let mut r = vec![p.party.clone(), p.name.clone()];
            r.extend(p.buckets.iter().map(|b| money(*b)));
            r.push(money(p.total));
            r
        })
        .collect();
    let mut total = vec!["TOTAL".to_string(), String::new()];
    total.extend(a.totals.iter().map(|b| money(*b)));
    total.push(money(a.total));
    rows.push(total);
    out!("{}", table::render(&header, &rows, 1, 100));
    if items {
        outln!();
        let rows: Vec<Vec<String>> = a
            .items
            .iter()
            .map(|i| {
                vec![
                    i.party.clone(),
                    i.reference.clone(),
                    i.date.to_string(),
                    i.due.to_string(),
                    i.days_past_due.to_string(),
                    BUCKETS[i.bucket].to_string(),
                    money(i.open),
                ]
            })
            .collect();
        out!(
            "{}",
            table::render(
                &[
                    who,
                    "reference",
                    "date",
                    "due",
                    "days late",
                    "bucket",
                    "open"
                ],
                &rows,
                1,
                100
            )
        );
    }
    outln!("{}", reconciliation(a));
}

/// An amount with two decimals.
fn money(d: rust_decimal::Decimal) -> String {
    format!("{d:.2}")
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per party, then the total and the trial balance's figure.
pub fn aged_csv(a: &Aged) -> String {
    let mut out = String::from("party,name,not_due,d0_30,d31_60,d61_90,over_90,total\n");
    let mut row = |party: &str, name: &str, b: &[rust_decimal::Decimal; 5], t| {
        let cells: Vec<String> = b.iter().map(|x| money(*x)).collect();
        out.push_str(&format!(
            "{},{},{},{}\n",
            csv_cell(party),
            csv_cell(name),
            cells.join(","),
            money(t)
        ));
    };
    for p in &a.parties {
        row(&p.party, &p.name, &p.buckets, p.total);
    }
    row("TOTAL", "", &a.totals, a.total);
    out
}

/// One row per week.
pub fn forecast_csv(f: &Forecast) -> String {
    let mut out = String::from("week,start,end,receipts,payments,net,cash\n");
    for w in &f.weeks {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            w.number,
            w.start,
            w.end,
            money(w.receipts),
            money(w.payments),
            money(w.net),
            money(w.cash)
        ));
    }
    out
}

fn print_forecast(f: &Forecast) {
    outln!(
        "13-week cash forecast from {}; opening cash {}",
        f.at,
        money(f.opening_cash)
    );
    let rows: Vec<Vec<String>> = f
        .weeks
        .iter()
        .map(|w| {
            vec![
                w.number.to_string(),
                format!("{} – {}", w.start, w.end),
                money(w.receipts),
                money(w.payments),
                money(w.net),
                money(w.cash),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &["week", "dates", "receipts", "payments", "net", "cash"],
            &rows,
            0,
            100
        )
    );
    outln!(
        "Past due, in week 1: receipts {}, payments {}. Due after week 13: receipts {}, payments {}.",
        money(f.overdue_receipts),
        money(f.overdue_payments),
        money(f.later_receipts),
        money(f.later_payments)
    );
    outln!("Method: {}", f.method);
}

fn print_days(d: &Days) {
    match d.days {
        Some(days) => outln!("{} at {}: {days} days", d.name, d.at),
        None => outln!(
            "{} at {}: none: nothing was {} from {} to {}",
            d.name,
            d.at,
            match d.side {
                Side::Ar => "sold on credit",
                Side::Ap => "bought on credit",
            },
            d.from,
            d.at
        ),
    }
    outln!("Method: {}", d.method);
    outln!("Balance {} ; flow over the period {}", d.balance, d.flow);
}
