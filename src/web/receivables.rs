//! The dashboard's receivables page, `/receivables`: customers, drafts and issued invoices, the
//! reminders sent and those due today (`worker::reminders::plan`, what `facteur reminders
//! preview` shows), and open disputes; and its actions, posted to `/receivables/{id}/{action}`:
//! issue a draft, credit an issued invoice, mail one to the customer, open or close a dispute.
//! Each action goes through the store functions `facteur sales …` uses (`issue_sale` with
//! `receivables::finish`, `draft_credit_note`, `send_sale` with the customer's template,
//! `dispute_sale`, `resolve_dispute`), so the number series, the posting, the legal checks and
//! the invoice's history are the CLI's. Everyone signed in looks; an accountant or an admin
//! acts (`Action::Book`); every action carries the session's nonce and is audited.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;

use super::access;
use super::receivables_view::{self, Overview, SentReminder};
use super::views::t;
use super::WebState;
use crate::receivables::history::EventKind;
use crate::receivables::templates::{self, Facts, Template};
use crate::receivables::{finish, SaleKind, SaleState, Seller};
use crate::store::StoreError;
use crate::users::Action;

/// Longest dispute reason kept.
const MAX_REASON_CHARS: usize = 500;

/// The form of one action: the nonce, and the reason of a dispute.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    reason: Option<String>,
}

/// What a person may ask of one sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaleAction {
    Issue,
    Credit,
    Send,
    SendAgain,
    Dispute,
    Resolve,
}

impl SaleAction {
    fn parse(s: &str) -> Option<SaleAction> {
        Some(match s {
            "issue" => SaleAction::Issue,
            "credit" => SaleAction::Credit,
            "send" => SaleAction::Send,
            "send-again" => SaleAction::SendAgain,
            "dispute" => SaleAction::Dispute,
            "resolve" => SaleAction::Resolve,
            _ => return None,
        })
    }

    /// As the web audit names it.
    fn audit(self) -> &'static str {
        match self {
            SaleAction::Issue => "sales issue",
            SaleAction::Credit => "sales credit",
            SaleAction::Send | SaleAction::SendAgain => "sales send",
            SaleAction::Dispute => "sales dispute",
            SaleAction::Resolve => "sales resolve",
        }
    }
}

/// GET `/receivables`.
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let who = match access::page(&state, &headers, Action::View, "/receivables").await {
        Ok(s) => s,
        Err(r) => return r,
    };
    show(&state, &who, None, StatusCode::OK).await
}

/// Everything the page shows, read at today's date of the server's clock.
async fn overview(state: &WebState, today: NaiveDate) -> Result<Overview, StoreError> {
    let store = state.store.as_ref();
    let customers = store.customers().await?;
    let sales = store.sales().await?;
    let owed = store.receivables(today).await?;
    let due = crate::worker::reminders::plan(store, &state.settings, today).await?;
    let mut sent = Vec::new();
    let mut mailed = std::collections::HashSet::new();
    for s in sales.iter().filter(|s| s.state == SaleState::Issued) {
        for e in store.sale_history(s.id).await? {
            if e.kind == EventKind::Sent {
                mailed.insert(s.id);
            }
            if e.kind == EventKind::Reminded {
                sent.push(SentReminder {
                    sale: s.id,
                    number: s.number.clone().unwrap_or_default(),
                    event: e,
                });
            }
        }
    }
    sent.sort_by_key(|r| std::cmp::Reverse(r.event.at));
    Ok(Overview {
        today,
        customers,
        sales,
        owed,
        due,
        sent,
        mailed,
    })
}

async fn show(
    state: &WebState,
    who: &crate::store::users::Session,
    notice: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    let today = (state.clock)().date_naive();
    match overview(state, today).await {
        Ok(o) => (
            status,
            Html(receivables_view::render(state.lang, who, &o, notice)),
        )
            .into_response(),
        Err(e) => access::failed(state, "cannot read the receivables", e),
    }
}

/// GET `/receivables/{id}/pdf`: an issued sale's Factur-X PDF, as stored when it was issued.
pub async fn pdf(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = access::page(&state, &headers, Action::View, "/receivables").await {
        return r;
    }
    let sale = match state.store.sale(id).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return access::failed(&state, "cannot read a sale", e),
    };
    let Some(number) = sale.number else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.store.sale_pdf(id).await {
        Ok(bytes) => {
            // The number is ours (the series pattern), but keep the header valid whatever it is.
            let name: String = number
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            let disposition = HeaderValue::from_str(&format!("inline; filename=\"{name}.pdf\""))
                .unwrap_or_else(|_| HeaderValue::from_static("inline"));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/pdf"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(StoreError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => access::failed(&state, "cannot read a sale's PDF", e),
    }
}

/// What an action did, for the notice; `Err` is a refusal for people (nothing changed).
type Done = Result<String, String>;

/// A store refusal in words for people; anything else is the server's trouble.
fn refusal(e: StoreError) -> Result<String, StoreError> {
    match e {
        StoreError::Conflict(why) | StoreError::Invalid(why) | StoreError::NotFound(why) => Ok(why),
        e => Err(e),
    }
}

async fn issue(state: &WebState, id: i64, date: NaiveDate) -> Result<Done, StoreError> {
    let settings = &state.settings;
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let done = match state
        .store
        .issue_sale(
            id,
            date,
            &settings.sales.series(),
            settings.company.fiscal_year_start_month,
            &|issuing| finish(seller, issuing),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return refusal(e).map(Err),
    };
    let number = done.sale.number.clone().unwrap_or_default();
    // Where `facteur sales issue` writes it too; the store keeps the PDF whatever happens here.
    let path = crate::cli::sales::issued_path(settings, &number);
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, &done.pdf));
    if let Err(e) = written {
        tracing::warn!(error = %e, path = %path.display(), "cannot write an issued invoice's PDF");
    }
    Ok(Ok(number))
}

async fn send(state: &WebState, id: i64, again: bool, by: &str) -> Result<Done, StoreError> {
    let settings = &state.settings;
    let sale = match state.store.sale(id).await {
        Ok(s) => s,
        Err(e) => return refusal(e).map(Err),
    };
    let customer = state.store.customer(&sale.customer_id.to_string()).await?;
    let Some(to) = customer.details.invoice_email.clone() else {
        return Ok(Err(format!(
            "customer {} ({}) has no invoice mailbox: add one with `facteur customers add … --invoice-email`",
            customer.details.name, customer.account
        )));
    };
    let seller = Seller {
        company: &settings.company,
        sales: &settings.sales,
    };
    let mail = Facts::of(seller, &sale, &customer, sale.gross, 0)
        .and_then(|facts| templates::mail(Template::Invoice, &facts, &to, None));
    let mail = match mail {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    match state.store.send_sale(id, &mail, by, again).await {
        Ok(message_id) => Ok(Ok(format!(
            "{} → {to} ({message_id})",
            sale.number.unwrap_or_default()
        ))),
        Err(e) => refusal(e).map(Err),
    }
}

/// Runs `action` on sale `id` for `by`; the words of the notice.
async fn run(
    state: &WebState,
    id: i64,
    action: SaleAction,
    reason: Option<&str>,
    by: &str,
) -> Result<Done, StoreError> {
    let l = state.lang;
    let today = (state.clock)().date_naive();
    let store = state.store.as_ref();
    Ok(match action {
        SaleAction::Issue => issue(state, id, today)
            .await?
            .map(|n| format!("{} {n}", t(l, "Issued:", "Émise :"))),
        SaleAction::Credit => {
            let sale = match store.sale(id).await {
                Ok(s) => s,
                Err(e) => return refusal(e).map(Err),
            };
            if sale.kind != SaleKind::Invoice || sale.state != SaleState::Issued {
                return Ok(Err(t(
                    l,
                    "Only an issued invoice can be credited.",
                    "Seule une facture émise peut faire l'objet d'un avoir.",
                )
                .to_string()));
            }
            let note = match store.draft_credit_note(id).await {
                Ok(n) => n,
                Err(e) => return refusal(e).map(Err),
            };
            issue(state, note.id, today).await?.map(|n| {
                format!(
                    "{} {n} ({} {})",
                    t(l, "Credit note issued:", "Avoir émis :"),
                    t(l, "cancels", "annule"),
                    sale.number.unwrap_or_default()
                )
            })
        }
        SaleAction::Send | SaleAction::SendAgain => {
            send(state, id, action == SaleAction::SendAgain, by)
                .await?
                .map(|s| {
                    format!(
                        "{} {s}",
                        t(
                            l,
                            "Queued for the customer:",
                            "Envoi en file pour le client :"
                        )
                    )
                })
        }
        SaleAction::Dispute => {
            let reason: String = reason
                .map(str::trim)
                .unwrap_or_default()
                .chars()
                .take(MAX_REASON_CHARS)
                .collect();
            if reason.is_empty() {
                return Ok(Err(t(
                    l,
                    "Say why the customer disputes the invoice.",
                    "Indiquez pourquoi le client conteste la facture.",
                )
                .to_string()));
            }
            match store.dispute_sale(id, &reason, by).await {
                Ok(()) => Ok(format!(
                    "{} {reason}",
                    t(
                        l,
                        "In dispute, no reminder goes out:",
                        "En litige, aucune relance ne part :"
                    )
                )),
                Err(e) => Err(refusal(e)?),
            }
        }
        SaleAction::Resolve => match store.resolve_dispute(id, by).await {
            Ok(d) => Ok(format!(
                "{} ({})",
                t(
                    l,
                    "Dispute closed, reminders resume",
                    "Litige clos, les relances reprennent"
                ),
                d.reason
            )),
            Err(e) => Err(refusal(e)?),
        },
    })
}

/// POST `/receivables/{id}/{action}`.
pub async fn act(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let who = match access::form(&state, &headers, Action::Book, f.csrf.as_deref()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(action) = SaleAction::parse(&action) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let done = match run(&state, id, action, f.reason.as_deref(), &who.user.email).await {
        Ok(d) => d,
        Err(e) => return access::failed(&state, "cannot act on a sale", e),
    };
    let (ok, notice, status) = match done {
        Ok(n) => (true, n, StatusCode::OK),
        Err(why) => (false, why, StatusCode::CONFLICT),
    };
    let detail = format!("sale {id}: {}{notice}", if ok { "" } else { "refused: " });
    if let Err(r) = access::audit(&state, &who, action.audit(), detail, &headers, &peer).await {
        return r;
    }
    tracing::info!(
        sale = id,
        action = action.audit(),
        ok,
        "dashboard sales action"
    );
    show(&state, &who, Some((ok, notice)), status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_actions_parse() {
        for (s, a) in [
            ("issue", SaleAction::Issue),
            ("credit", SaleAction::Credit),
            ("send", SaleAction::Send),
            ("send-again", SaleAction::SendAgain),
            ("dispute", SaleAction::Dispute),
            ("resolve", SaleAction::Resolve),
        ] {
            assert_eq!(SaleAction::parse(s), Some(a));
        }
        assert_eq!(SaleAction::parse("delete"), None);
        assert_eq!(SaleAction::parse("Issue"), None);
    }

    #[test]
    fn refusals_are_words_and_failures_are_not() {
        assert_eq!(
            refusal(StoreError::Conflict("sent already".into())).unwrap(),
            "sent already"
        );
        assert!(refusal(StoreError::Corrupt("x".into())).is_err());
    }
}
