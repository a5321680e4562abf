//! The dashboard's shared layout (navigation, style) and its first pages (maud, compiled
//! templates): the sign-in forms, the inbox and a document; the approvals, ledger and reports
//! pages draw their bodies in their own modules and wrap them here. In the
//! dashboard's language (`web.lang`), one column on a phone, no script, nothing fetched from
//! elsewhere. Every outside value is escaped by maud.

use maud::{html, Markup, DOCTYPE};

use crate::approval::Lang;
use crate::store::documents::{Counts, DocumentSummary};
use crate::store::users::Session;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;\
padding:0 1rem;line-height:1.4}table{border-collapse:collapse;width:100%}th,td{text-align:left;\
padding:.3rem .4rem;border-bottom:1px solid #ddd}td.n{text-align:right}input{font-size:1rem;\
padding:.5rem;width:100%;box-sizing:border-box;margin:.2rem 0 .8rem}button{font-size:1rem;\
padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#1f4e79;color:#fff}\
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ccc;padding-bottom:.5rem}\
nav form{margin-left:auto}.err{background:#fde8e8;padding:.5rem}.counts{display:flex;\
flex-wrap:wrap;gap:.5rem}.counts a{border:1px solid #ccc;border-radius:.4rem;padding:.4rem .7rem;\
text-decoration:none;color:inherit}.narrow{max-width:24rem}nav{flex-wrap:wrap}\
.scroll{overflow-x:auto}.chart{max-width:100%;height:auto}th.n{text-align:right}.pair{display:flex;\
flex-wrap:wrap;gap:1rem;align-items:flex-start}.pair>*{flex:1 1 22rem;min-width:0}\
.card{border:1px solid #ccc;border-radius:.4rem;padding:.6rem;margin:.6rem 0}\
button.approve{background:#1a7f37}button.reject{background:#b42318}textarea{width:100%;\
box-sizing:border-box}.ok{background:#e6f4ea;padding:.5rem}td.sub{padding-left:1.5rem}\
.pages{display:flex;gap:1rem}form.inline{display:inline-block;margin:.1rem}\
input.short{width:auto;margin:0 .2rem 0 0}select{font-size:1rem;padding:.4rem}\
.secret{font-family:monospace;font-size:1.1rem;word-break:break-all}.qr svg{max-width:16rem;\
height:auto}.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}.filters>*{flex:1 1 9rem}";

pub(crate) fn t(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// An amount for people: two decimals (more when the amount has them), a decimal comma in
/// French.
pub(crate) fn money(lang: Lang, d: rust_decimal::Decimal) -> String {
    let text = format!("{:.*}", d.scale().max(2) as usize, d);
    match lang {
        Lang::En => text,
        Lang::Fr => text.replace('.', ","),
    }
}

/// A whole page: the navigation when someone is signed in.
pub(crate) fn layout(lang: Lang, title: &str, who: Option<&Session>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · facteur" }
                style { (STYLE) }
            }
            body {
                @if let Some(s) = who {
                    nav {
                        a href="/" { (t(lang, "Inbox", "Boîte de réception")) }
                        @if s.user.role.may(crate::users::Action::Decide) {
                            a href="/approvals" { (t(lang, "Approvals", "Approbations")) }
                        }
                        a href="/ledger" { (t(lang, "Ledger", "Comptabilité")) }
                        a href="/reports" { (t(lang, "Reports", "Rapports")) }
                        a href="/receivables" { (t(lang, "Receivables", "Ventes")) }
                        @if s.user.role.may(crate::users::Action::ManageUsers) {
                            a href="/settings" { (t(lang, "Settings", "Réglages")) }
                        }
                        a href="/account" { (t(lang, "My account", "Mon compte")) }
                        span { (s.user.email) " (" (s.user.role) ")" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (t(lang, "Sign out", "Se déconnecter")) }
                        }
                    }
                }
                h1 { (title) }
                (body)
            }
        }
    }
    .into_string()
}

/// The password form; `error` when the last attempt failed.
pub fn sign_in(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> String {
    let body = html! {
        div.narrow {
            @if let Some(e) = error { p.err { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="email" { (t(lang, "Email", "Adresse e-mail")) }
                input #email type="email" name="email" autocomplete="username" required;
                label for="password" { (t(lang, "Password", "Mot de passe")) }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { (t(lang, "Sign in", "Se connecter")) }
            }
        }
    };
    layout(lang, t(lang, "Sign in", "Connexion"), None, body)
}

/// The second-factor form.
pub fn second_factor(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> String {
    let body = html! {
        div.narrow {
            @if let Some(e) = error { p.err { (e) } }
            p { (t(lang,
                "Type the 6-digit code of your authenticator app, or one of your recovery codes.",
                "Saisissez le code à 6 chiffres de votre application d'authentification, ou l'un de vos codes de secours.")) }
            form method="post" action="/login/code" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="code" { (t(lang, "Code", "Code")) }
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                button type="submit" { (t(lang, "Continue", "Continuer")) }
            }
        }
    };
    layout(lang, t(lang, "Second factor", "Second facteur"), None, body)
}

/// A plain message page.
pub fn message(lang: Lang, title: &str, text: &str, who: Option<&Session>) -> String {
    layout(lang, title, who, html! { p { (text) } })
}

/// The inbox: counts by state, the search form, then the documents found (or the newest).
pub fn inbox(
    lang: Lang,
    who: &Session,
    counts: &Counts,
    search: &super::home::Search,
    docs: &[DocumentSummary],
) -> String {
    let chosen = search.state.map(|s| s.as_str());
    let body = html! {
        div.counts {
            a href="/" { (t(lang, "All", "Tous")) " " b { (counts.documents) } }
            @for (s, n) in &counts.by_state {
                a href={ "/?state=" (s) } { (s) " " b { (n) } }
            }
        }
        form.filters #search method="get" action="/" {
            div {
                label for="q-supplier" { (t(lang, "Supplier", "Fournisseur")) }
                input #q-supplier type="search" name="supplier" value=(search.supplier);
            }
            div {
                label for="q-number" { (t(lang, "Number", "Numéro")) }
                input #q-number type="search" name="number" value=(search.number);
            }
            div {
                label for="q-amount" { (t(lang, "Gross amount", "Montant TTC")) }
                input #q-amount type="text" name="amount" inputmode="decimal" value=(search.amount);
            }
            div {
                label for="q-state" { (t(lang, "State", "État")) }
                select #q-state name="state" {
                    option value="" { (t(lang, "any", "tous")) }
                    @for (s, _) in &counts.by_state {
                        option value=(s) selected[chosen == Some(s.as_str())] { (s) }
                    }
                }
            }
            div { button type="submit" { (t(lang, "Search", "Rechercher")) } }
        }
        @if search.bad_amount {
            p.err { (t(lang, "The amount is not a number (write 1481.40 or 1 481,40): it was left out of the search.",
                      "Le montant n'est pas un nombre (écrivez 1481.40 ou 1 481,40) : il n'a pas servi à la recherche.")) }
        }
        h2 {
            @if search.any() { (t(lang, "Found", "Trouvés")) " " (docs.len()) }
            @else { (t(lang, "Newest", "Les plus récents")) }
        }
        table {
            thead { tr {
                th { "#" }
                th { (t(lang, "Received", "Reçu")) }
                th { (t(lang, "Supplier", "Fournisseur")) }
                th { (t(lang, "Number", "Numéro")) }
                th { (t(lang, "Gross", "TTC")) }
                th { (t(lang, "State", "État")) }
            } }
            tbody {
                @for d in docs {
                    tr {
                        td { a href={ "/documents/" (d.id) } { (d.id) } }
                        td { (d.received_at.format("%Y-%m-%d %H:%M")) }
                        td { (d.supplier_name.as_deref().unwrap_or("—")) }
                        td { (d.invoice_number.as_deref().unwrap_or("—")) }
                        td.n { (d.total_gross.map(|g| format!("{g} {}", d.currency.as_deref().unwrap_or(""))).unwrap_or_default()) }
                        td { (d.state) }
                    }
                }
            }
        }
    };
    layout(
        lang,
        t(lang, "Inbox", "Boîte de réception"),
        Some(who),
        body,
    )
}

/// A document: the original in a frame beside the fields, the duplicate evidence, the
/// history, and the review forms for a role that may review.
pub fn document(
    lang: Lang,
    who: &Session,
    doc: &crate::store::DocumentRecord,
    may_review: bool,
    notice: Option<&str>,
) -> String {
    let s = &doc.summary;
    let id = s.id;
    let title = format!("{} {}", t(lang, "Document", "Document"), id);
    let rows = doc
        .extraction
        .as_ref()
        .map(|x| x.rows_for_people())
        .unwrap_or_default();
    let body = html! {
        @if let Some(n) = notice { p.err { (n) } }
        p { (t(lang, "State", "État")) ": " b { (s.state) } " — " (s.reason.as_deref().unwrap_or("")) }
        div style="display:flex;flex-wrap:wrap;gap:1rem" {
            iframe src={ "/documents/" (id) "/original" } title=(s.file_name)
                style="flex:1 1 26rem;min-height:70vh;border:1px solid #ccc" {}
            div style="flex:1 1 22rem" {
                table {
                    thead { tr {
                        th { (t(lang, "Field", "Champ")) }
                        th { (t(lang, "Value", "Valeur")) }
                        th { (t(lang, "Confidence", "Confiance")) }
                    } }
                    tbody {
                        @for r in &rows {
                            tr { td { (r[0]) } td { (r[1]) } td.n { (r[2]) } }
                        }
                    }
                }
                @if !doc.duplicates.is_empty() {
                    h2 { (t(lang, "Duplicates", "Doublons")) }
                    ul {
                        @for d in &doc.duplicates {
                            li {
                                a href={ "/documents/" (d.of) } { (t(lang, "document", "document")) " " (d.of) }
                                " — " (format!("{:?}", d.rule)) " " (d.verdict) ": " (d.evidence)
                            }
                        }
                    }
                }
                @if may_review {
                    h2 { (t(lang, "Decide", "Décider")) }
                    form method="post" action={ "/documents/" (id) "/review" } {
                        input type="hidden" name="csrf" value=(who.csrf);
                        input type="hidden" name="seen" value=(s.state.as_str());
                        label for="reason" { (t(lang, "Why", "Pourquoi")) }
                        input #reason type="text" name="reason";
                        button type="submit" name="action" value="accept" { (t(lang, "Accept", "Accepter")) }
                        " "
                        button type="submit" name="action" value="not-duplicate" { (t(lang, "Not a duplicate", "Pas un doublon")) }
                        " "
                        button type="submit" name="action" value="reject" style="background:#b42318" { (t(lang, "Reject", "Rejeter")) }
                    }
                    h2 { (t(lang, "Correct", "Corriger")) }
                    form method="post" action={ "/documents/" (id) "/review" } {
                        input type="hidden" name="csrf" value=(who.csrf);
                        input type="hidden" name="seen" value=(s.state.as_str());
                        label for="fields" { (t(lang, "One field=value a line (e.g. total_gross=1481.40)", "Un champ=valeur par ligne (ex. total_gross=1481.40)")) }
                        textarea #fields name="fields" rows="4" style="width:100%" {}
                        button type="submit" name="action" value="correct" { (t(lang, "Save the correction", "Enregistrer la correction")) }
                    }
                }
                h2 { (t(lang, "History", "Historique")) }
                ul {
                    @for e in &doc.events {
                        li { (e.at.format("%Y-%m-%d %H:%M:%S")) " " (e.to_state) " — " (e.reason) }
                    }
                }
            }
        }
    };
    layout(lang, &title, Some(who), body)
}
