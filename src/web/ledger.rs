//! The dashboard's ledger page, `/ledger`: the journals with their entry counts, the entries
//! (newest first, a page at a time, each with its lines), the trial balance, the supplier (401)
//! and customer (411) accounts with their open items (the aged balance's items: the same
//! grouping as `facteur report aged`), and the FEC of a fiscal year for download,
//! `/ledger/fec?year=…`: byte for byte what `facteur ledger export fec` writes, for a role that
//! may book (accountant, admin), audited. Every signed-in role may look at the page.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::access;
use super::views::{layout, message, money, t};
use super::WebState;
use crate::approval::Lang;
use crate::ledger::account::{Chart, Lang as ChartLang};
use crate::ledger::{fec, Journal, PostedEntry};
use crate::reports::{aged_balance, Aged, Side};
use crate::store::ledger::{fiscal_year, Balance};
use crate::store::users::Session;
use crate::users::Action;

/// Entries shown on one page.
pub const ENTRIES_PER_PAGE: usize = 25;

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    /// 1 is the newest entries.
    page: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FecQuery {
    year: Option<String>,
}

/// Everything the page shows, read once.
struct View {
    entries: Vec<PostedEntry>,
    balance: Vec<Balance>,
    payables: Aged,
    receivables: Aged,
}

/// GET `/ledger`.
pub async fn page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LedgerQuery>,
) -> Response {
    let who = match access::page(&state, &headers, Action::View, "/ledger").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let today = (state.clock)().date_naive();
    let store = state.store.as_ref();
    let read = async {
        Ok::<_, crate::store::StoreError>(View {
            entries: store.ledger_entries(None, None).await?,
            balance: store.trial_balance(None).await?,
            payables: aged_balance(store, Side::Ap, today).await?,
            receivables: aged_balance(store, Side::Ar, today).await?,
        })
    };
    match read.await {
        Ok(v) => Html(render(&state, &who, &v, q.page.unwrap_or(1).max(1))).into_response(),
        Err(e) => access::failed(&state, "cannot read the ledger", e),
    }
}

fn chart_lang(l: Lang) -> ChartLang {
    match l {
        Lang::En => ChartLang::En,
        Lang::Fr => ChartLang::Fr,
    }
}

fn journals(l: Lang, entries: &[PostedEntry]) -> Markup {
    html! {
        table {
            thead { tr {
                th { (t(l, "Journal", "Journal")) }
                th.n { (t(l, "Entries", "Écritures")) }
                th.n { (t(l, "Debit", "Débit")) }
            } }
            tbody {
                @for j in Journal::ALL {
                    @let of: Vec<&PostedEntry> = entries.iter().filter(|e| e.body.journal == j).collect();
                    @let debit: Decimal = of.iter().flat_map(|e| e.body.lines.iter()).map(|x| x.debit).sum();
                    tr {
                        td { (j.code()) " — " (j.label()) }
                        td.n { (of.len()) }
                        td.n { (money(l, debit)) }
                    }
                }
            }
        }
    }
}

fn entries_table(l: Lang, chart: &Chart, entries: &[PostedEntry], page: usize) -> Markup {
    let pages = entries.len().div_ceil(ENTRIES_PER_PAGE).max(1);
    let page = page.min(pages);
    let shown: Vec<&PostedEntry> = entries
        .iter()
        .rev()
        .skip((page - 1) * ENTRIES_PER_PAGE)
        .take(ENTRIES_PER_PAGE)
        .collect();
    let cl = chart_lang(l);
    html! {
        div.scroll { table #entries {
            thead { tr {
                th { (t(l, "Entry", "Écriture")) }
                th { (t(l, "Date", "Date")) }
                th { (t(l, "Account", "Compte")) }
                th { (t(l, "Label", "Libellé")) }
                th { (t(l, "Debit", "Débit")) }
                th { (t(l, "Credit", "Crédit")) }
            } }
            tbody {
                @for e in &shown {
                    tr.entry {
                        td { b { (e.body.journal.code()) " " (e.fiscal_year) "-" (e.number) } }
                        td { (e.body.date) }
                        td { (e.body.piece_ref) }
                        td { (e.body.label) }
                        td {} td {}
                    }
                    @for line in &e.body.lines {
                        tr {
                            td {} td {}
                            td.sub {
                                (line.account.as_str())
                                @if let Some(a) = &line.auxiliary { " / " (a.code) }
                            }
                            td {
                                @match &line.auxiliary {
                                    Some(a) => { (a.name) }
                                    None => { (chart.label(line.account.as_str(), cl)) }
                                }
                            }
                            td.n { @if !line.debit.is_zero() { (money(l, line.debit)) } }
                            td.n { @if !line.credit.is_zero() { (money(l, line.credit)) } }
                        }
                    }
                }
            }
        } }
        p.pages {
            span { (t(l, "Page", "Page")) " " (page) " / " (pages) }
            @if page > 1 { a href={ "/ledger?page=" (page - 1) } { (t(l, "Newer", "Plus récentes")) } }
            @if page < pages { a href={ "/ledger?page=" (page + 1) } { (t(l, "Older", "Plus anciennes")) } }
        }
    }
}

fn trial_balance(l: Lang, chart: &Chart, rows: &[Balance]) -> Markup {
    let cl = chart_lang(l);
    let debit: Decimal = rows.iter().map(|b| b.debit).sum();
    let credit: Decimal = rows.iter().map(|b| b.credit).sum();
    html! {
        div.scroll { table #trial-balance {
            thead { tr {
                th { (t(l, "Account", "Compte")) }
                th { (t(l, "Label", "Libellé")) }
                th { (t(l, "Debit", "Débit")) }
                th { (t(l, "Credit", "Crédit")) }
                th { (t(l, "Balance", "Solde")) }
            } }
            tbody {
                @for b in rows {
                    tr {
                        td { (b.account) @if let Some(a) = &b.auxiliary { " / " (a) } }
                        td { (chart.label(&b.account, cl)) }
                        td.n { (money(l, b.debit)) }
                        td.n { (money(l, b.credit)) }
                        td.n { (money(l, b.net())) }
                    }
                }
                tr {
                    th { (t(l, "Total", "Total")) } td {}
                    th.n { (money(l, debit)) }
                    th.n { (money(l, credit)) }
                    th.n { (money(l, debit - credit)) }
                }
            }
        } }
    }
}

/// The accounts of one side with their open items.
fn accounts(l: Lang, id: &str, aged: &Aged) -> Markup {
    html! {
        div.scroll { table id=(id) {
            thead { tr {
                th { (t(l, "Account", "Compte")) }
                th { (t(l, "Reference", "Référence")) }
                th { (t(l, "Date", "Date")) }
                th { (t(l, "Due", "Échéance")) }
                th { (t(l, "Open", "Restant dû")) }
            } }
            tbody {
                @for p in &aged.parties {
                    tr.entry {
                        td colspan="4" { b { (p.name) } " " small { (p.party) } }
                        td.n { b { (money(l, p.total)) } }
                    }
                    @for i in aged.items.iter().filter(|i| i.party == p.party) {
                        tr {
                            td {}
                            td.sub { (i.reference) }
                            td { (i.date) }
                            td { (i.due) @if i.days_past_due > 0 { " (+" (i.days_past_due) (t(l, " d", " j")) ")" } }
                            td.n { (money(l, i.open)) }
                        }
                    }
                }
                @if aged.parties.is_empty() {
                    tr { td colspan="5" { (t(l, "Nothing open.", "Rien d'ouvert.")) } }
                }
            }
        } }
    }
}

fn render(state: &WebState, who: &Session, v: &View, page: usize) -> String {
    let l = state.lang;
    let chart = Chart::pcg();
    let start = state.company.fiscal_year_start_month;
    let today = (state.clock)().date_naive();
    let mut years: BTreeSet<i32> = v.entries.iter().map(|e| e.fiscal_year).collect();
    years.insert(fiscal_year(today, start));
    let body = html! {
        h2 { (t(l, "Journals", "Journaux")) }
        (journals(l, &v.entries))
        @if who.user.role.may(Action::Book) {
            h2 { (t(l, "FEC export", "Export FEC")) }
            form #fec method="get" action="/ledger/fec" {
                label for="year" { (t(l, "Fiscal year (the calendar year it starts in)", "Exercice (année civile où il commence)")) }
                select #year name="year" {
                    @for y in years.iter().rev() {
                        option value=(y) { (y) }
                    }
                }
                p { button type="submit" { (t(l, "Download the FEC", "Télécharger le FEC")) } }
            }
        }
        h2 { (t(l, "Entries", "Écritures")) }
        (entries_table(l, &chart, &v.entries, page))
        h2 { (t(l, "Trial balance", "Balance générale")) }
        (trial_balance(l, &chart, &v.balance))
        h2 { (t(l, "Supplier accounts", "Comptes fournisseurs")) " (401)" }
        (accounts(l, "suppliers", &v.payables))
        h2 { (t(l, "Customer accounts", "Comptes clients")) " (411)" }
        (accounts(l, "customers", &v.receivables))
    };
    layout(l, t(l, "Ledger", "Comptabilité"), Some(who), body)
}

fn unprocessable(state: &WebState, who: &Session, text: &str) -> Response {
    let l = state.lang;
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(message(l, t(l, "No FEC", "Pas de FEC"), text, Some(who))),
    )
        .into_response()
}

/// GET `/ledger/fec?year=…`: the FEC of a fiscal year, as a download.
pub async fn fec_download(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<FecQuery>,
) -> Response {
    let who = match access::page(&state, &headers, Action::Book, "/ledger").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = state.lang;
    let company = &state.company;
    let bounds = q
        .year
        .as_deref()
        .and_then(|y| y.trim().parse::<i32>().ok())
        .and_then(|y| Some((y, fec::fiscal_bounds(y, company.fiscal_year_start_month)?)));
    let Some((year, (_, end))) = bounds else {
        let text = t(
            l,
            "Choose a fiscal year, e.g. 2026.",
            "Choisissez un exercice, par exemple 2026.",
        );
        return unprocessable(&state, &who, text);
    };
    let Some(siren) = &company.siren else {
        let text = t(
            l,
            "The FEC is named after the company's SIREN: add siren = \"…\" under [company] in facteur.toml.",
            "Le FEC porte le SIREN de la société : ajoutez siren = \"…\" sous [company] dans facteur.toml.",
        );
        return unprocessable(&state, &who, text);
    };
    let entries = match state.store.fiscal_year_entries(year).await {
        Ok(e) => e,
        Err(e) => return access::failed(&state, "cannot read a fiscal year's entries", e),
    };
    let name = fec::file_name(siren.as_str(), end);
    let text = fec::write(&entries, &Chart::pcg());
    let detail = format!("fiscal year {year}: {name}, {} entries", entries.len());
    if let Err(r) = access::audit(&state, &who, "export fec", detail, &headers, &peer).await {
        return r;
    }
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response()
}
