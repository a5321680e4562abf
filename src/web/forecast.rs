//! The 13-week cash forecast on `/reports`: `reports::cash_forecast` (what `facteur report
//! forecast` prints) drawn as receipts and payments per week with the cash line (`charts::flows`),
//! its table, its method stated, and `/reports/forecast.csv`. Every signed-in role may look.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};
use rust_decimal::Decimal;

use super::access;
use super::charts::{self, Series, PALETTE};
use super::views::{money, t};
use super::WebState;
use crate::approval::Lang;
use crate::reports::forecast::Forecast;
use crate::users::Action;

/// The forecast from the server's today, in the company's currency.
pub async fn read(state: &WebState) -> Result<Forecast, crate::store::StoreError> {
    let today = (state.clock)().date_naive();
    crate::reports::cash_forecast(state.store.as_ref(), today, &state.company.currency).await
}

fn chart(l: Lang, f: &Forecast) -> Markup {
    let cats: Vec<String> = f
        .weeks
        .iter()
        .map(|w| w.start.format("%d/%m").to_string())
        .collect();
    let receipts: Vec<Decimal> = f.weeks.iter().map(|w| w.receipts).collect();
    let payments: Vec<Decimal> = f.weeks.iter().map(|w| w.payments).collect();
    let cash: Vec<Decimal> = f.weeks.iter().map(|w| w.cash).collect();
    charts::flows(
        "forecast-chart",
        t(
            l,
            "Cash forecast, 13 weeks: receipts, payments and cash at each week's end",
            "Prévision de trésorerie, 13 semaines : encaissements, décaissements et trésorerie en fin de semaine",
        ),
        &cats,
        [
            (
                Series {
                    name: t(l, "receipts", "encaissements"),
                    colour: PALETTE[5],
                },
                &receipts,
            ),
            (
                Series {
                    name: t(l, "payments", "décaissements"),
                    colour: PALETTE[3],
                },
                &payments,
            ),
        ],
        (
            Series {
                name: t(l, "cash", "trésorerie"),
                colour: PALETTE[0],
            },
            &cash,
        ),
    )
}

fn table(l: Lang, f: &Forecast) -> Markup {
    html! {
        div.scroll { table #forecast-table {
            thead { tr {
                th { (t(l, "Week", "Semaine")) }
                th.n { (t(l, "Receipts", "Encaissements")) }
                th.n { (t(l, "Payments", "Décaissements")) }
                th.n { (t(l, "Net", "Net")) }
                th.n { (t(l, "Cash", "Trésorerie")) }
            } }
            tbody {
                tr { td { (t(l, "Opening", "Ouverture")) } td {} td {} td {} td.n { (money(l, f.opening_cash)) } }
                @for w in &f.weeks {
                    tr {
                        td { (w.number) ". " (w.start) }
                        td.n { (money(l, w.receipts)) }
                        td.n { (money(l, w.payments)) }
                        td.n { (money(l, w.net)) }
                        td.n { (money(l, w.cash)) }
                    }
                }
            }
        } }
        p { small {
            (t(l, "Past due, in week 1: receipts ", "Échu, en semaine 1 : encaissements ")) (money(l, f.overdue_receipts))
            (t(l, ", payments ", ", décaissements ")) (money(l, f.overdue_payments))
            (t(l, ". Due after week 13 (not in the weeks): receipts ", ". Dû après la semaine 13 (hors semaines) : encaissements "))
            (money(l, f.later_receipts)) (t(l, ", payments ", ", décaissements ")) (money(l, f.later_payments)) "."
        } }
        p { small { (t(l, "Method: ", "Méthode : ")) (f.method) } }
    }
}

/// The forecast's section of the reports page.
pub fn section(l: Lang, currency: &str, f: &Forecast) -> Markup {
    html! {
        h2 { (t(l, "Cash forecast", "Prévision de trésorerie")) " (" (currency) ")" }
        div.pair {
            div { (chart(l, f)) }
            div {
                (table(l, f))
                p { a href="/reports/forecast.csv" download { (t(l, "Download the CSV", "Télécharger le CSV")) } }
            }
        }
    }
}

/// GET `/reports/forecast.csv`: one row per week, the opening cash first.
pub async fn csv(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = access::page(&state, &headers, Action::View, "/reports").await {
        return r;
    }
    let f = match read(&state).await {
        Ok(f) => f,
        Err(e) => return access::failed(&state, "cannot read the cash forecast", e),
    };
    let mut rows = vec![[
        "week", "start", "end", "receipts", "payments", "net", "cash",
    ]
    .map(String::from)
    .to_vec()];
    rows.push(vec![
        "0".into(),
        f.at.to_string(),
        f.at.to_string(),
        String::new(),
        String::new(),
        String::new(),
        f.opening_cash.to_string(),
    ]);
    rows.extend(f.weeks.iter().map(|w| {
        vec![
            w.number.to_string(),
            w.start.to_string(),
            w.end.to_string(),
            w.receipts.to_string(),
            w.payments.to_string(),
            w.net.to_string(),
            w.cash.to_string(),
        ]
    }));
    super::reports::csv_response(&format!("forecast-{}.csv", f.at), rows)
}
