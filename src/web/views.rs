//! The dashboard's pages (maud, compiled templates): the sign-in forms and the inbox, in the
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
text-decoration:none;color:inherit}.narrow{max-width:24rem}";

pub(crate) fn t(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// A whole page: the navigation when someone is signed in.
fn layout(lang: Lang, title: &str, who: Option<&Session>, body: Markup) -> String {
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

/// The inbox: counts by state, then the documents of the chosen state (or the newest).
pub fn inbox(
    lang: Lang,
    who: &Session,
    counts: &Counts,
    state: Option<&str>,
    docs: &[DocumentSummary],
) -> String {
    let body = html! {
        div.counts {
            a href="/" { (t(lang, "All", "Tous")) " " b { (counts.documents) } }
            @for (s, n) in &counts.by_state {
                a href={ "/?state=" (s) } { (s) " " b { (n) } }
            }
        }
        h2 { (state.unwrap_or(t(lang, "Newest", "Les plus récents"))) }
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
                        td { (d.id) }
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
