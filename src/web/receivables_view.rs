//! How `/receivables` looks (maud): the notice of the last action, what is owed, the drafts and
//! issued sales with their action forms (for a role that may book), the reminders due today and
//! those sent, the open disputes, the customers. One column on a phone (wide tables scroll in
//! their own box), no script; every outside value (names, reasons, numbers) is escaped by maud.

use chrono::NaiveDate;
use maud::{html, Markup};
use rust_decimal::Decimal;

use super::views::{layout, money, t};
use crate::approval::Lang;
use crate::receivables::history::Event;
use crate::receivables::{Customer, SaleKind, SaleState, SalesInvoice};
use crate::store::collection::Receivable;
use crate::store::users::Session;
use crate::users::Action;
use crate::worker::reminders::{Action as Plan, Planned};

/// A reminder sent: its invoice and the history line that records it.
pub struct SentReminder {
    pub sale: i64,
    pub number: String,
    pub event: Event,
}

/// What the page shows.
pub struct Overview {
    pub today: NaiveDate,
    pub customers: Vec<Customer>,
    /// Newest first.
    pub sales: Vec<SalesInvoice>,
    /// Issued invoices still owed something today, with their dispute.
    pub owed: Vec<Receivable>,
    /// Reminder steps due today (sent by the next run, or held).
    pub due: Vec<Planned>,
    /// Newest first.
    pub sent: Vec<SentReminder>,
    /// Issued sales mailed to the customer already (sending again is then asked for).
    pub mailed: std::collections::HashSet<i64>,
}

impl Overview {
    fn customer(&self, id: i64) -> &str {
        self.customers
            .iter()
            .find(|c| c.id == id)
            .map_or("?", |c| c.details.name.as_str())
    }

    fn owed_of(&self, sale: i64) -> Option<&Receivable> {
        self.owed.iter().find(|r| r.sale.id == sale)
    }
}

fn kind(l: Lang, s: &SalesInvoice) -> &'static str {
    match s.kind {
        SaleKind::Invoice => t(l, "invoice", "facture"),
        SaleKind::CreditNote => t(l, "credit note", "avoir"),
    }
}

fn amount(l: Lang, d: Decimal, currency: &impl std::fmt::Display) -> String {
    format!("{} {currency}", money(l, d))
}

/// One button in a form of its own, posting to `/receivables/{id}/{action}`.
fn button(csrf: &str, id: i64, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/receivables/" (id) "/" (action) } {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (label) }
        }
    }
}

fn sale_actions(l: Lang, csrf: &str, s: &SalesInvoice, o: &Overview) -> Markup {
    let disputed = o.owed_of(s.id).is_some_and(|r| r.dispute.is_some());
    let send = if o.mailed.contains(&s.id) {
        button(csrf, s.id, "send-again", t(l, "Send again", "Renvoyer"))
    } else {
        button(csrf, s.id, "send", t(l, "Send", "Envoyer"))
    };
    html! {
        @match (s.state, s.kind) {
            (SaleState::Draft, _) => { (button(csrf, s.id, "issue", t(l, "Issue", "Émettre"))) }
            (SaleState::Issued, SaleKind::Invoice) => {
                (send)
                (button(csrf, s.id, "credit", t(l, "Credit", "Avoir")))
                @if disputed {
                    (button(csrf, s.id, "resolve", t(l, "Close the dispute", "Clore le litige")))
                } @else if o.owed_of(s.id).is_some() {
                    form.inline method="post" action={ "/receivables/" (s.id) "/dispute" } {
                        input type="hidden" name="csrf" value=(csrf);
                        input.short type="text" name="reason" maxlength="500" required
                            placeholder=(t(l, "why disputed", "motif du litige"))
                            aria-label=(t(l, "Dispute reason", "Motif du litige"));
                        button type="submit" { (t(l, "Dispute", "Litige")) }
                    }
                }
            }
            (SaleState::Issued, SaleKind::CreditNote) => { (send) }
        }
    }
}

fn sales_table(l: Lang, o: &Overview, csrf: Option<&str>, drafts: bool) -> Markup {
    let rows: Vec<&SalesInvoice> = o
        .sales
        .iter()
        .filter(|s| (s.state == SaleState::Draft) == drafts)
        .collect();
    html! {
        @if rows.is_empty() {
            p { (t(l, "None.", "Aucune.")) }
        } @else {
            div.scroll { table id=(if drafts { "drafts" } else { "issued" }) {
                thead { tr {
                    th { "#" }
                    th { (t(l, "Kind", "Type")) }
                    @if !drafts { th { (t(l, "Number", "Numéro")) } th { (t(l, "Issued", "Émise")) } th { (t(l, "Due", "Échéance")) } }
                    th { (t(l, "Customer", "Client")) }
                    th.n { (t(l, "Gross", "TTC")) }
                    @if !drafts { th.n { (t(l, "Open", "Reste dû")) } }
                    @if csrf.is_some() { th {} }
                } }
                tbody {
                    @for s in &rows {
                        tr id={ "sale-" (s.id) } {
                            td { (s.id) }
                            td { (kind(l, s)) }
                            @if !drafts {
                                td { a href={ "/receivables/" (s.id) "/pdf" } { (s.number.as_deref().unwrap_or("")) } }
                                td { (s.issue_date.map(|d| d.to_string()).unwrap_or_default()) }
                                td { (s.due_date.map(|d| d.to_string()).unwrap_or_default()) }
                            }
                            td { (o.customer(s.customer_id)) }
                            td.n { (amount(l, s.gross, &s.currency)) }
                            @if !drafts {
                                td.n { (o.owed_of(s.id).map(|r| amount(l, r.open, &s.currency)).unwrap_or_else(|| "—".into())) }
                            }
                            @if let Some(c) = csrf { td { (sale_actions(l, c, s, o)) } }
                        }
                    }
                }
            } }
        }
    }
}

fn reminders(l: Lang, o: &Overview) -> Markup {
    html! {
        h3 { (t(l, "Due today", "À envoyer aujourd'hui")) }
        @if o.due.is_empty() {
            p { (t(l, "No reminder is due.", "Aucune relance n'est due.")) }
        } @else {
            div.scroll { table #reminders-due {
                thead { tr {
                    th { (t(l, "Number", "Numéro")) }
                    th { (t(l, "Customer", "Client")) }
                    th { (t(l, "Step", "Étape")) }
                    th.n { (t(l, "Days past due", "Jours de retard")) }
                    th.n { (t(l, "Open", "Reste dû")) }
                    th { (t(l, "To", "À")) }
                    th { (t(l, "What happens", "Ce qui se passe")) }
                } }
                tbody {
                    @for p in &o.due {
                        tr {
                            td { (p.number) }
                            td { (p.customer) }
                            td { (p.step_label) }
                            td.n { (p.days_past_due) }
                            td.n { (amount(l, p.open, &p.currency)) }
                            td { (p.to.as_deref().unwrap_or("—")) }
                            td { @match &p.action {
                                Plan::Send => { (t(l, "sent by the next run", "envoyée au prochain passage")) }
                                Plan::Hold(why) => { (t(l, "held: ", "retenue : ")) (why) }
                            } }
                        }
                    }
                }
            } }
        }
        h3 { (t(l, "Sent", "Envoyées")) }
        @if o.sent.is_empty() {
            p { (t(l, "No reminder was sent.", "Aucune relance n'a été envoyée.")) }
        } @else {
            div.scroll { table #reminders-sent {
                thead { tr {
                    th { (t(l, "When (UTC)", "Quand (UTC)")) }
                    th { (t(l, "Number", "Numéro")) }
                    th { (t(l, "What", "Quoi")) }
                } }
                tbody {
                    @for r in &o.sent {
                        tr {
                            td { (r.event.at.format("%Y-%m-%d %H:%M")) }
                            td { a href={ "#sale-" (r.sale) } { (r.number) } }
                            td { (r.event.detail) }
                        }
                    }
                }
            } }
        }
    }
}

fn disputes(l: Lang, o: &Overview) -> Markup {
    let open: Vec<&Receivable> = o.owed.iter().filter(|r| r.dispute.is_some()).collect();
    html! {
        @if open.is_empty() {
            p { (t(l, "No open dispute.", "Aucun litige ouvert.")) }
        } @else {
            div.scroll { table #disputes {
                thead { tr {
                    th { (t(l, "Number", "Numéro")) }
                    th { (t(l, "Customer", "Client")) }
                    th { (t(l, "Why", "Motif")) }
                    th { (t(l, "Opened by", "Ouvert par")) }
                    th { (t(l, "On", "Le")) }
                } }
                tbody {
                    @for r in &open {
                        @if let Some(d) = &r.dispute {
                            tr {
                                td { a href={ "#sale-" (r.sale.id) } { (r.sale.number.as_deref().unwrap_or("")) } }
                                td { (r.customer.details.name) }
                                td { (d.reason) }
                                td { (d.opened_by) }
                                td { (d.opened_at.format("%Y-%m-%d")) }
                            }
                        }
                    }
                }
            } }
        }
    }
}

fn customers(l: Lang, o: &Overview) -> Markup {
    html! {
        @if o.customers.is_empty() {
            p { (t(l, "No customer yet: `facteur customers add`.", "Aucun client : `facteur customers add`.")) }
        } @else {
            div.scroll { table #customers {
                thead { tr {
                    th { (t(l, "Account", "Compte")) }
                    th { (t(l, "Name", "Nom")) }
                    th { (t(l, "Invoice mailbox", "Adresse de facturation")) }
                    th { (t(l, "Category", "Catégorie")) }
                    th.n { (t(l, "Terms (days)", "Délai (jours)")) }
                    th.n { (t(l, "Open", "Reste dû")) }
                } }
                tbody {
                    @for c in &o.customers {
                        @let open: Decimal = o.owed.iter().filter(|r| r.customer.id == c.id).map(|r| r.open).sum();
                        tr {
                            td { (c.account) }
                            td { (c.details.name) }
                            td { (c.details.invoice_email.as_deref().unwrap_or("—")) }
                            td { (c.details.category) }
                            td.n { (c.details.payment_terms_days) }
                            td.n { (money(l, open)) }
                        }
                    }
                }
            } }
        }
    }
}

/// The whole page; `notice` is the outcome of the action just posted (ok, words).
pub fn render(l: Lang, who: &Session, o: &Overview, notice: Option<(bool, String)>) -> String {
    let csrf = who.user.role.may(Action::Book).then_some(who.csrf.as_str());
    let total: Decimal = o.owed.iter().map(|r| r.open).sum();
    let body = html! {
        @if let Some((ok, n)) = &notice {
            @if *ok { p.ok { (n) } } @else { p.err { (n) } }
        }
        p {
            (t(l, "At", "Au")) " " (o.today) ": " b { (money(l, total)) } " "
            (t(l, "owed by customers on", "dus par les clients sur")) " " (o.owed.len()) " "
            (t(l, "invoice(s).", "facture(s)."))
        }
        @if csrf.is_none() {
            p { small { (t(l, "Your role looks; an accountant or an admin issues, credits, sends and records disputes.",
                          "Votre rôle consulte ; un comptable ou un administrateur émet, fait les avoirs, envoie et gère les litiges.")) } }
        }
        h2 { (t(l, "Drafts", "Brouillons")) }
        (sales_table(l, o, csrf, true))
        h2 { (t(l, "Issued invoices and credit notes", "Factures et avoirs émis")) }
        (sales_table(l, o, csrf, false))
        h2 { (t(l, "Reminders", "Relances")) }
        (reminders(l, o))
        h2 { (t(l, "Disputes", "Litiges")) }
        (disputes(l, o))
        h2 { (t(l, "Customers", "Clients")) }
        (customers(l, o))
    };
    layout(
        l,
        t(l, "Receivables", "Ventes et encaissements"),
        Some(who),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users::{SessionStage, User};
    use crate::users::{PasswordHash, Role};

    fn session(role: Role) -> Session {
        Session {
            user: User {
                id: 1,
                email: "look@example.test".into(),
                role,
                password: PasswordHash::decoy(),
                totp: None,
                totp_last_step: None,
                disabled: false,
                created_at: chrono::Utc::now(),
            },
            stage: SessionStage::SignedIn,
            csrf: "ab12".into(),
            expires_at: chrono::Utc::now(),
        }
    }

    fn empty() -> Overview {
        Overview {
            today: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            customers: vec![],
            sales: vec![],
            owed: vec![],
            due: vec![],
            sent: vec![],
            mailed: Default::default(),
        }
    }

    #[test]
    fn the_page_speaks_french_and_english() {
        let fr = render(Lang::Fr, &session(Role::Viewer), &empty(), None);
        for want in [
            "lang=\"fr\"",
            "Brouillons",
            "Relances",
            "Litiges",
            "Aucun litige ouvert.",
        ] {
            assert!(fr.contains(want), "{want}: {fr}");
        }
        let en = render(Lang::En, &session(Role::Viewer), &empty(), None);
        for want in [
            "lang=\"en\"",
            "Drafts",
            "Reminders",
            "Disputes",
            "No open dispute.",
        ] {
            assert!(en.contains(want), "{want}: {en}");
        }
        assert!(
            en.contains("Your role looks"),
            "a viewer is told why no button"
        );
        let accountant = render(Lang::En, &session(Role::Accountant), &empty(), None);
        assert!(!accountant.contains("Your role looks"));
    }

    #[test]
    fn a_notice_is_escaped() {
        let page = render(
            Lang::En,
            &session(Role::Admin),
            &empty(),
            Some((false, "<img src=x>".into())),
        );
        assert!(
            page.contains("<p class=\"err\">&lt;img src=x&gt;</p>"),
            "{page}"
        );
    }
}
