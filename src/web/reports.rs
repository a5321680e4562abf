//! The dashboard's reports page, `/reports`: each chart (SVG drawn by `charts`) with its table
//! and its CSV beside it. The aged balance of customers (AR, 411) and suppliers (AP, 401) as
//! stacked bars by bucket (not due, 1–30, 31–60, 61–90, over 90 days past due), from
//! `reports::aged_balance` like `facteur report aged`; DSO and DPO at the end of each of the last
//! twelve months (the month so far for the current one) by `reports::days`; and the documents
//! received each of the last twelve weeks with the share that went straight through (read,
//! checked and routed with no person touching them); then the 13-week cash forecast (`forecast`).
//! Every signed-in role may look.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveTime};
use maud::html;
use rust_decimal::Decimal;

use super::access;
use super::charts::{self, Series, PALETTE};
use super::views::{layout, money, t};
use super::WebState;
use crate::approval::Lang;
use crate::reports::{aged_balance, days, Aged, Side};
use crate::store::metrics::Intake;
use crate::store::StoreError;
use crate::users::Action;

/// Months of the DSO / DPO trend, weeks of the intake chart.
const MONTHS: u32 = 12;
const WEEKS: i64 = 12;

/// The bucket names of the aged balance, in its order.
fn buckets(l: Lang) -> [&'static str; 5] {
    [
        t(l, "not due", "non échu"),
        t(l, "1–30 d", "1–30 j"),
        t(l, "31–60 d", "31–60 j"),
        t(l, "61–90 d", "61–90 j"),
        t(l, "> 90 d", "> 90 j"),
    ]
}

/// DSO and DPO at one month's end.
struct MonthDays {
    at: NaiveDate,
    dso: Option<Decimal>,
    dpo: Option<Decimal>,
}

/// One week of intake.
struct Week {
    monday: NaiveDate,
    received: i64,
    straight: i64,
}

impl Week {
    /// Straight-through share in percent, one decimal; None for a week with nothing received.
    fn rate(&self) -> Option<Decimal> {
        (self.received > 0).then(|| {
            let mut r = (Decimal::from(self.straight) * Decimal::from(100)
                / Decimal::from(self.received))
            .round_dp(1);
            r.rescale(1);
            r
        })
    }
}

/// The last day of each of the `MONTHS` months up to `today` (today itself for its month).
fn month_ends(today: NaiveDate) -> Vec<NaiveDate> {
    let first = today.with_day(1).unwrap_or(today);
    (0..MONTHS)
        .rev()
        .filter_map(|back| {
            let start = first.checked_sub_months(Months::new(back))?;
            let end = start.checked_add_months(Months::new(1))?.pred_opt()?;
            Some(end.min(today))
        })
        .collect()
}

async fn trend(state: &WebState, today: NaiveDate) -> Result<Vec<MonthDays>, StoreError> {
    let entries = state.store.ledger_entries(None, Some(today)).await?;
    let balance_at = |side: Side, at: NaiveDate| -> Decimal {
        entries
            .iter()
            .filter(|e| e.body.date <= at)
            .flat_map(|e| e.body.lines.iter())
            .filter(|l| side.holds(l.account.as_str()))
            .map(|l| side.owed(l.debit, l.credit))
            .sum()
    };
    Ok(month_ends(today)
        .into_iter()
        .map(|at| {
            let period = at.day();
            let of = |side| days::days(side, at, &entries, period, balance_at(side, at)).days;
            MonthDays {
                at,
                dso: of(Side::Ar),
                dpo: of(Side::Ap),
            }
        })
        .collect())
}

fn weeks(intake: &[Intake], today: NaiveDate) -> Vec<Week> {
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    (0..WEEKS)
        .rev()
        .map(|back| {
            let monday = this_monday - Duration::weeks(back);
            let next = monday + Duration::weeks(1);
            let of: Vec<&Intake> = intake
                .iter()
                .filter(|i| {
                    let d = i.received_at.date_naive();
                    d >= monday && d < next
                })
                .collect();
            Week {
                monday,
                received: of.len() as i64,
                straight: of.iter().filter(|i| i.straight_through()).count() as i64,
            }
        })
        .collect()
}

async fn intake(state: &WebState, today: NaiveDate) -> Result<Vec<Week>, StoreError> {
    let monday = today
        - Duration::days(i64::from(today.weekday().num_days_from_monday()))
        - Duration::weeks(WEEKS - 1);
    let since = monday.and_time(NaiveTime::MIN).and_utc();
    Ok(weeks(&state.store.intake_since(since).await?, today))
}

fn aged_chart(l: Lang, ar: &Aged, ap: &Aged) -> maud::Markup {
    let names = buckets(l);
    let series: Vec<Series<'_>> = names
        .iter()
        .zip(PALETTE)
        .map(|(n, c)| Series { name: n, colour: c })
        .collect();
    charts::stacked_bars(
        "aged-chart",
        t(l, "Aged balance by bucket", "Balance âgée par tranche"),
        &[
            t(l, "AR (411)", "Clients (411)").to_string(),
            t(l, "AP (401)", "Fournisseurs (401)").to_string(),
        ],
        &series,
        &[ar.totals.to_vec(), ap.totals.to_vec()],
    )
}

fn aged_table(l: Lang, ar: &Aged, ap: &Aged) -> maud::Markup {
    html! {
        div.scroll { table #aged-table {
            thead { tr {
                th {}
                @for b in buckets(l) { th.n { (b) } }
                th.n { (t(l, "Total", "Total")) }
                th.n { (t(l, "Ledger", "Grand livre")) }
            } }
            tbody {
                @for (name, a) in [(t(l, "AR (411)", "Clients (411)"), ar), (t(l, "AP (401)", "Fournisseurs (401)"), ap)] {
                    tr.entry {
                        th { (name) }
                        @for v in a.totals { td.n { (money(l, v)) } }
                        td.n { b { (money(l, a.total)) } }
                        td.n { (money(l, a.ledger_balance)) }
                    }
                    @for p in &a.parties {
                        tr {
                            td.sub { (p.name) " " small { (p.party) } }
                            @for v in p.buckets { td.n { (money(l, v)) } }
                            td.n { (money(l, p.total)) }
                            td {}
                        }
                    }
                }
            }
        } }
    }
}

fn days_chart(l: Lang, trend: &[MonthDays]) -> maud::Markup {
    let cats: Vec<String> = trend
        .iter()
        .map(|m| m.at.format("%m/%y").to_string())
        .collect();
    charts::lines(
        "days-chart",
        t(
            l,
            "DSO and DPO by month (days)",
            "DSO et DPO par mois (jours)",
        ),
        &cats,
        &[
            (
                Series {
                    name: "DSO",
                    colour: PALETTE[0],
                },
                trend.iter().map(|m| m.dso).collect(),
            ),
            (
                Series {
                    name: "DPO",
                    colour: PALETTE[3],
                },
                trend.iter().map(|m| m.dpo).collect(),
            ),
        ],
    )
}

fn intake_chart(l: Lang, weeks: &[Week]) -> maud::Markup {
    let cats: Vec<String> = weeks
        .iter()
        .map(|w| w.monday.format("%d/%m").to_string())
        .collect();
    let counts: Vec<i64> = weeks.iter().map(|w| w.received).collect();
    let rates: Vec<Option<Decimal>> = weeks.iter().map(Week::rate).collect();
    charts::bars_with_rate(
        "intake-chart",
        t(
            l,
            "Invoices received by week, and the straight-through rate",
            "Factures reçues par semaine, et taux sans intervention",
        ),
        &cats,
        (
            Series {
                name: t(l, "received", "reçues"),
                colour: PALETTE[0],
            },
            &counts,
        ),
        (
            Series {
                name: t(l, "straight through %", "sans intervention %"),
                colour: PALETTE[3],
            },
            &rates,
        ),
    )
}

fn csv_link(href: &str, l: Lang) -> maud::Markup {
    html! { p { a href=(href) download { (t(l, "Download the CSV", "Télécharger le CSV")) } } }
}

/// GET `/reports`.
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let who = match access::page(&state, &headers, Action::View, "/reports").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = state.lang;
    let today = (state.clock)().date_naive();
    let store = state.store.as_ref();
    let read = async {
        Ok::<_, StoreError>((
            aged_balance(store, Side::Ar, today).await?,
            aged_balance(store, Side::Ap, today).await?,
            trend(&state, today).await?,
            intake(&state, today).await?,
            super::forecast::read(&state).await?,
        ))
    };
    let (ar, ap, trend, weeks, cash) = match read.await {
        Ok(x) => x,
        Err(e) => return access::failed(&state, "cannot read the reports", e),
    };
    let body = html! {
        p { (t(l, "At", "Au")) " " (today) }
        h2 { (t(l, "Aged balance", "Balance âgée")) }
        div.pair {
            div { (aged_chart(l, &ar, &ap)) }
            div { (aged_table(l, &ar, &ap)) (csv_link("/reports/aged.csv", l)) }
        }
        h2 { (t(l, "DSO and DPO", "DSO et DPO")) }
        div.pair {
            div { (days_chart(l, &trend)) }
            div {
                div.scroll { table #days-table {
                    thead { tr { th { (t(l, "Month end", "Fin de mois")) } th.n { "DSO" } th.n { "DPO" } } }
                    tbody {
                        @for m in &trend {
                            tr {
                                td { (m.at) }
                                td.n { (m.dso.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                td.n { (m.dpo.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                } }
                p { small { (t(l, "Days = balance at the month's end / net invoices of the month × its days; none for a month with no invoice.",
                              "Jours = solde en fin de mois / factures nettes du mois × ses jours ; aucun pour un mois sans facture.")) } }
                (csv_link("/reports/days.csv", l))
            }
        }
        h2 { (t(l, "Incoming invoices", "Factures reçues")) }
        div.pair {
            div { (intake_chart(l, &weeks)) }
            div {
                div.scroll { table #intake-table {
                    thead { tr {
                        th { (t(l, "Week of", "Semaine du")) }
                        th.n { (t(l, "Received", "Reçues")) }
                        th.n { (t(l, "Straight through", "Sans intervention")) }
                        th.n { "%" }
                    } }
                    tbody {
                        @for w in &weeks {
                            tr {
                                td { (w.monday) }
                                td.n { (w.received) }
                                td.n { (w.straight) }
                                td.n { (w.rate().map(|r| r.to_string()).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                } }
                (csv_link("/reports/intake.csv", l))
            }
        }
        (super::forecast::section(l, state.company.currency.as_str(), &cash))
    };
    Html(layout(l, t(l, "Reports", "Rapports"), Some(&who), body)).into_response()
}

pub(super) fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        if let Err(e) = w.write_record(&r) {
            tracing::error!(error = %e, "cannot write a CSV row");
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// GET `/reports/aged.csv`: one row per side and party, the buckets then the total.
pub async fn aged_csv(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = access::page(&state, &headers, Action::View, "/reports").await {
        return r;
    }
    let today = (state.clock)().date_naive();
    let store = state.store.as_ref();
    let mut rows = vec![[
        "side", "party", "name", "not_due", "1_30", "31_60", "61_90", "over_90", "total",
    ]
    .map(String::from)
    .to_vec()];
    for side in [Side::Ar, Side::Ap] {
        let a = match aged_balance(store, side, today).await {
            Ok(a) => a,
            Err(e) => return access::failed(&state, "cannot read the aged balance", e),
        };
        for p in &a.parties {
            let mut r = vec![side.as_str().to_string(), p.party.clone(), p.name.clone()];
            r.extend(p.buckets.iter().map(Decimal::to_string));
            r.push(p.total.to_string());
            rows.push(r);
        }
    }
    csv_response(&format!("aged-{today}.csv"), rows)
}

/// GET `/reports/days.csv`: DSO and DPO at each month's end (empty when there is no figure).
pub async fn days_csv(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = access::page(&state, &headers, Action::View, "/reports").await {
        return r;
    }
    let today = (state.clock)().date_naive();
    let trend = match trend(&state, today).await {
        Ok(t) => t,
        Err(e) => return access::failed(&state, "cannot read DSO and DPO", e),
    };
    let opt = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut rows = vec![vec!["month_end".into(), "dso".into(), "dpo".into()]];
    rows.extend(
        trend
            .iter()
            .map(|m| vec![m.at.to_string(), opt(m.dso), opt(m.dpo)]),
    );
    csv_response(&format!("dso-dpo-{today}.csv"), rows)
}

/// GET `/reports/intake.csv`: documents received per week and how many went straight through.
pub async fn intake_csv(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = access::page(&state, &headers, Action::View, "/reports").await {
        return r;
    }
    let today = (state.clock)().date_naive();
    let weeks = match intake(&state, today).await {
        Ok(w) => w,
        Err(e) => return access::failed(&state, "cannot read the intake", e),
    };
    let mut rows = vec![["week_of", "received", "straight_through", "rate_percent"]
        .map(String::from)
        .to_vec()];
    rows.extend(weeks.iter().map(|w| {
        vec![
            w.monday.to_string(),
            w.received.to_string(),
            w.straight.to_string(),
            w.rate().map(|r| r.to_string()).unwrap_or_default(),
        ]
    }));
    csv_response(&format!("intake-{today}.csv"), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_read_in_the_dashboards_language() {
        let d: Decimal = "1234.5".parse().unwrap();
        assert_eq!(money(Lang::En, d), "1234.50");
        assert_eq!(money(Lang::Fr, d), "1234,50");
        assert_eq!(money(Lang::Fr, "0.125".parse().unwrap()), "0,125");
        assert_eq!(money(Lang::En, Decimal::ZERO), "0.00");
    }

    #[test]
    fn twelve_month_ends_the_last_being_today() {
        let ends = month_ends(d("2026-03-15"));
        assert_eq!(ends.len(), 12);
        assert_eq!(ends[0], d("2025-04-30"));
        assert_eq!(ends[10], d("2026-02-28"));
        assert_eq!(ends[11], d("2026-03-15"));
    }

    #[test]
    fn weeks_start_on_monday_and_count_straight_through() {
        let at = |day: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, day, h, 0, 0).unwrap();
        let intake = [
            // Sunday 29th: the week of Monday 23rd.
            Intake {
                received_at: at(29, 23),
                settled: true,
                untouched: true,
            },
            // Monday 30th: this week; one held for review, one still being read.
            Intake {
                received_at: at(30, 0),
                settled: true,
                untouched: false,
            },
            Intake {
                received_at: at(30, 9),
                settled: false,
                untouched: true,
            },
            Intake {
                received_at: at(30, 10),
                settled: true,
                untouched: true,
            },
        ];
        let w = weeks(&intake, d("2026-12-02"));
        assert_eq!(w.len(), 12);
        let last = &w[11];
        assert_eq!(last.monday, d("2026-11-30"));
        assert_eq!((last.received, last.straight), (3, 1));
        assert_eq!(last.rate(), Some("33.3".parse().unwrap()));
        assert_eq!(
            (w[10].monday, w[10].received, w[10].straight),
            (d("2026-11-23"), 1, 1)
        );
        assert_eq!(w[0].rate(), None);
    }
}
