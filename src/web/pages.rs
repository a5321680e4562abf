//! The approval pages (maud, compiled templates), in the approver's language, readable on a
//! phone: one column, large buttons, no script. Every outside value is escaped by maud.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use crate::approval::Lang;
use crate::domain::DocumentState;
use crate::store::approvals::{Decision, LinkView};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:1rem auto;\
padding:0 1rem;line-height:1.4}table{border-collapse:collapse;width:100%}th,td{text-align:left;\
padding:.3rem .2rem;border-bottom:1px solid #ddd}button{font-size:1.1rem;padding:.7rem 1.4rem;\
border-radius:.4rem;border:0;color:#fff;width:100%}.approve{background:#1a7f37}.reject\
{background:#b42318}textarea{width:100%;min-height:5rem}.warn{background:#fff4e5;padding:.5rem}";

/// A page: its language, title and body.
pub struct Page {
    lang: Lang,
    title: String,
    body: Markup,
}

impl Page {
    pub fn render(self) -> String {
        html! {
            (DOCTYPE)
            html lang=(self.lang.as_str()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex";
                    title { (self.title) }
                    style { (STYLE) }
                }
                body { h1 { (self.title) } (self.body) }
            }
        }
        .into_string()
    }
}

fn t(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

fn page(lang: Lang, title: &str, text: &str) -> Page {
    Page {
        lang,
        title: title.to_string(),
        body: html! { p { (text) } },
    }
}

/// The confirmation page of a link: the summary, the PDF link and one form.
pub fn confirm(v: &LinkView, d: Decision, token: &str, csrf: &str) -> Page {
    let l = v.lang;
    let s = &v.summary;
    let amount = match (s.total_gross, &s.currency) {
        (Some(g), Some(c)) => format!("{g} {c}"),
        (Some(g), None) => g.to_string(),
        _ => "?".into(),
    };
    let mut rows = vec![
        (t(l, "Supplier", "Fournisseur"), s.supplier_name.clone()),
        (t(l, "Number", "Numéro"), s.invoice_number.clone()),
        (t(l, "Amount (gross)", "Montant TTC"), Some(amount)),
        (
            t(l, "Due date", "Échéance"),
            v.due_date.map(|d| d.to_string()),
        ),
        (
            t(l, "Step", "Étape"),
            Some(format!("{} / {} ({})", v.step + 1, v.steps, v.rule)),
        ),
        (t(l, "Approver", "Approbateur"), Some(v.approver.clone())),
    ];
    if let Some(absent) = &v.on_behalf_of {
        rows.push((
            t(l, "On behalf of", "Pour le compte de"),
            Some(absent.clone()),
        ));
    }
    let (title, button, class) = match d {
        Decision::Approve => (
            t(l, "Approve this invoice?", "Approuver cette facture ?"),
            t(l, "Approve", "Approuver"),
            "approve",
        ),
        Decision::Reject => (
            t(l, "Reject this invoice?", "Rejeter cette facture ?"),
            t(l, "Reject", "Rejeter"),
            "reject",
        ),
    };
    let body = html! {
        table {
            @for (k, val) in &rows {
                tr { th { (k) } td { (val.clone().unwrap_or_else(|| "?".into())) } }
            }
        }
        @for w in &v.warnings {
            p.warn { strong { (t(l, "Possible duplicate, cleared: ", "Doublon possible, levé : ")) } (w) }
        }
        p { a href={ "/approval/" (token) "/document" } { (t(l, "Open the invoice (PDF)", "Ouvrir la facture (PDF)")) } }
        form method="post" action={ "/approval/" (token) "/" (d.as_str()) } {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="comment" { (t(l, "Comment", "Commentaire")) @if d == Decision::Reject { (t(l, " (why?)", " (pourquoi ?)")) } }
                textarea id="comment" name="comment" maxlength="2000" {}
            }
            button class=(class) type="submit" name="confirm" value=(d.as_str()) { (button) }
        }
        p { small { (t(l, "Nothing is decided until you press the button.", "Rien n'est décidé tant que vous n'appuyez pas sur le bouton.")) } }
    };
    Page {
        lang: l,
        title: title.to_string(),
        body,
    }
}

fn decision_word(l: Lang, d: Decision) -> &'static str {
    match d {
        Decision::Approve => t(l, "approved", "approuvée"),
        Decision::Reject => t(l, "rejected", "rejetée"),
    }
}

pub fn recorded(l: Lang, d: Decision, state: DocumentState) -> Page {
    let next = match state {
        DocumentState::PendingApproval => t(
            l,
            " It now waits for the other approvers.",
            " Elle attend maintenant les autres approbateurs.",
        ),
        _ => "",
    };
    let text = format!(
        "{} {}.{next}",
        t(l, "Thank you: the invoice is", "Merci : la facture est"),
        decision_word(l, d)
    );
    page(l, t(l, "Decision recorded", "Décision enregistrée"), &text)
}

pub fn already(l: Lang, d: Decision, at: DateTime<Utc>) -> Page {
    let text = format!(
        "{} {} {} {}.",
        t(
            l,
            "Your decision was already recorded: invoice",
            "Votre décision est déjà enregistrée : facture"
        ),
        decision_word(l, d),
        t(l, "on", "le"),
        at.format("%Y-%m-%d %H:%M UTC")
    );
    page(l, t(l, "Already decided", "Déjà décidé"), &text)
}

pub fn closed(l: Lang, state: DocumentState) -> Page {
    let text = format!(
        "{} {state}.",
        t(
            l,
            "This invoice no longer waits for approval; it is now",
            "Cette facture n'attend plus d'approbation ; elle est maintenant"
        )
    );
    page(l, t(l, "Nothing to decide", "Rien à décider"), &text)
}

pub fn changed(l: Lang) -> Page {
    page(
        l,
        t(l, "This invoice changed", "Cette facture a changé"),
        t(l, "Its amount, supplier or bank details changed since this mail was sent, so this link no longer applies: approval is asked again with a new request.",
          "Son montant, son fournisseur ou ses coordonnées bancaires ont changé depuis l'envoi de ce mail : ce lien ne vaut plus : l'approbation est redemandée par une nouvelle demande."),
    )
}

/// An invoice above `web.login_above`: its approver signs in before deciding.
pub fn sign_in_first(l: Lang, approver: &str, next: &str) -> Page {
    Page {
        lang: l,
        title: t(l, "Sign in to decide", "Connectez-vous pour décider").to_string(),
        body: html! {
            p { (t(l,
                "This invoice's amount needs its approver signed in to the dashboard:",
                "Le montant de cette facture demande que son approbateur soit connecté au tableau de bord :")) " " b { (approver) } }
            p { a href={ "/login?next=" (next) } { (t(l, "Sign in", "Se connecter")) } }
        },
    }
}

pub fn expired(l: Lang) -> Page {
    page(
        l,
        t(l, "This link has expired", "Ce lien a expiré"),
        t(
            l,
            "Ask accounts payable for a new request.",
            "Demandez une nouvelle demande à la comptabilité fournisseurs.",
        ),
    )
}

pub fn refused(l: Lang, why: &str) -> Page {
    page(
        l,
        t(
            l,
            "You cannot approve this invoice",
            "Vous ne pouvez pas approuver cette facture",
        ),
        why,
    )
}

pub fn use_the_button(l: Lang) -> Page {
    page(
        l,
        t(l, "Please use the button", "Utilisez le bouton"),
        t(l, "Nothing was recorded. Open the link from your mail again and press the button on the page.",
          "Rien n'a été enregistré. Rouvrez le lien de votre mail et appuyez sur le bouton de la page."),
    )
}

pub fn unknown() -> Page {
    page(
        Lang::En,
        "Unknown link / Lien inconnu",
        "This approval link does not exist. Ce lien d'approbation n'existe pas.",
    )
}

pub fn trouble() -> Page {
    page(
        Lang::En,
        "Something went wrong / Un problème est survenu",
        "Nothing was recorded; please try again in a moment. Rien n'a été enregistré ; réessayez dans un instant.",
    )
}
