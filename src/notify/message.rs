//! The approval mail, in the approver's language: supplier, number, amount, due date, the
//! duplicate warnings a person overrode, and exactly two decision links (Approve / Reject, or
//! Approuver / Rejeter). Each link opens a confirmation page; nothing is decided by opening it,
//! which is what makes the mail safe from link scanners.

use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use rust_decimal::Decimal;

use crate::approval::Lang;
use crate::store::outbox::OutgoingMail;

/// Why the mail is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum MailKind {
    Request,
    Reminder,
    /// Sent to the escalation's approver because `from` did not answer.
    Escalation {
        from: String,
    },
}

/// What the mail says about the invoice.
#[derive(Debug, Clone)]
pub struct InvoiceFacts {
    pub supplier: Option<String>,
    pub number: Option<String>,
    pub gross: Option<Decimal>,
    pub currency: Option<String>,
    pub due: Option<NaiveDate>,
    pub warnings: Vec<String>,
    pub rule: String,
    /// The absent approver the recipient decides for (a delegation).
    pub on_behalf_of: Option<String>,
    /// 1-based.
    pub step: u32,
    pub steps: u32,
}

impl InvoiceFacts {
    pub fn amount(&self) -> String {
        match (self.gross, &self.currency) {
            (Some(g), Some(c)) => format!("{g} {c}"),
            (Some(g), None) => g.to_string(),
            _ => "?".into(),
        }
    }
}

/// Words of one language.
struct Words {
    subject_request: &'static str,
    subject_reminder: &'static str,
    subject_escalation: &'static str,
    intro: &'static str,
    reminder: &'static str,
    escalation: &'static str,
    supplier: &'static str,
    number: &'static str,
    amount: &'static str,
    due: &'static str,
    warnings: &'static str,
    step: &'static str,
    on_behalf: &'static str,
    approve: &'static str,
    reject: &'static str,
    expires: &'static str,
    safe: &'static str,
}

const EN: Words = Words {
    subject_request: "Invoice to approve",
    subject_reminder: "Reminder: invoice to approve",
    subject_escalation: "Escalated: invoice to approve",
    intro: "An invoice waits for your approval. The PDF is attached.",
    reminder: "This invoice still waits for your approval.",
    escalation: "did not answer; your decision counts for this step.",
    supplier: "Supplier",
    number: "Number",
    amount: "Amount (gross)",
    due: "Due date",
    warnings: "Possible duplicate, cleared by a person",
    step: "Step",
    on_behalf: "On behalf of",
    approve: "Approve",
    reject: "Reject",
    expires: "These links expire on",
    safe: "Each link opens a page where you confirm; opening it decides nothing.",
};

const FR: Words = Words {
    subject_request: "Facture à approuver",
    subject_reminder: "Rappel : facture à approuver",
    subject_escalation: "Escalade : facture à approuver",
    intro: "Une facture attend votre approbation. Le PDF est joint.",
    reminder: "Cette facture attend toujours votre approbation.",
    escalation: "n'a pas répondu ; votre décision vaut pour cette étape.",
    supplier: "Fournisseur",
    number: "Numéro",
    amount: "Montant TTC",
    due: "Échéance",
    warnings: "Doublon possible, levé par une personne",
    step: "Étape",
    on_behalf: "Pour le compte de",
    approve: "Approuver",
    reject: "Rejeter",
    expires: "Ces liens expirent le",
    safe: "Chaque lien ouvre une page de confirmation ; l'ouvrir ne décide rien.",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}

/// Builds the mail for `to`.
#[allow(clippy::too_many_arguments)]
pub fn approval_mail(
    kind: &MailKind,
    lang: Lang,
    to: &str,
    f: &InvoiceFacts,
    approve_url: &str,
    reject_url: &str,
    expires: DateTime<Utc>,
    attachment: Option<(String, crate::domain::ContentHash)>,
) -> OutgoingMail {
    let w = words(lang);
    let lead = match kind {
        MailKind::Request => w.intro.to_string(),
        MailKind::Reminder => w.reminder.to_string(),
        MailKind::Escalation { from } => format!("{from} {}", w.escalation),
    };
    let title = match kind {
        MailKind::Request => w.subject_request,
        MailKind::Reminder => w.subject_reminder,
        MailKind::Escalation { .. } => w.subject_escalation,
    };
    let supplier = f.supplier.clone().unwrap_or_else(|| "?".into());
    let number = f.number.clone().unwrap_or_else(|| "?".into());
    let subject = format!("{title}: {supplier} {number} ({})", f.amount());
    let due = f.due.map_or_else(|| "?".into(), |d| d.to_string());
    let expires = expires.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut rows = vec![
        (w.supplier, supplier.clone()),
        (w.number, number.clone()),
        (w.amount, f.amount()),
        (w.due, due),
        (w.step, format!("{} / {} ({})", f.step, f.steps, f.rule)),
    ];
    if let Some(absent) = &f.on_behalf_of {
        rows.push((w.on_behalf, absent.clone()));
    }
    let mut text = format!("{lead}\n\n");
    for (k, v) in &rows {
        text.push_str(&format!("{k}: {v}\n"));
    }
    for warning in &f.warnings {
        text.push_str(&format!("{}: {warning}\n", w.warnings));
    }
    text.push_str(&format!(
        "\n{}: {approve_url}\n{}: {reject_url}\n\n{} {expires}. {}\n",
        w.approve, w.reject, w.expires, w.safe
    ));
    let body: Markup = html! {
        p { (lead) }
        table {
            @for (k, v) in &rows { tr { th align="left" { (k) } td { (v) } } }
        }
        @for warning in &f.warnings { p { strong { (w.warnings) ": " } (warning) } }
        p {
            a href=(approve_url) { (w.approve) }
            " · "
            a href=(reject_url) { (w.reject) }
        }
        p { small { (w.expires) " " (expires) ". " (w.safe) } }
    };
    OutgoingMail {
        recipient: to.to_string(),
        subject,
        body_text: text,
        body_html: format!(
            "<!DOCTYPE html><html lang=\"{}\"><body>{}</body></html>",
            lang.as_str(),
            body.into_string()
        ),
        attachment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_holds_two_links_in_the_approvers_language() {
        let f = InvoiceFacts {
            supplier: Some("ACME <SARL>".into()),
            number: Some("F-1".into()),
            gross: Some(Decimal::new(12000, 2)),
            currency: Some("EUR".into()),
            due: None,
            warnings: vec!["D4 (document 3): same amount".into()],
            rule: "default".into(),
            on_behalf_of: None,
            step: 1,
            steps: 1,
        };
        let m = approval_mail(
            &MailKind::Request,
            Lang::Fr,
            "m@x.test",
            &f,
            "https://a/1/approve",
            "https://a/1/reject",
            Utc::now(),
            None,
        );
        assert!(
            m.subject
                .starts_with("Facture à approuver: ACME <SARL> F-1 (120.00 EUR)"),
            "{}",
            m.subject
        );
        assert!(m.body_html.contains(">Approuver</a>") && m.body_html.contains(">Rejeter</a>"));
        assert!(
            m.body_html.contains("ACME &lt;SARL&gt;"),
            "escaped: {}",
            m.body_html
        );
        assert_eq!(m.body_html.matches("href=").count(), 2);
        assert!(m.body_text.contains("D4 (document 3)"));
        let en = approval_mail(
            &MailKind::Reminder,
            Lang::En,
            "m@x.test",
            &f,
            "a",
            "r",
            Utc::now(),
            None,
        );
        assert!(en.subject.starts_with("Reminder: invoice to approve"));
    }
}
