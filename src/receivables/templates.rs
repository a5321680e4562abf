//! The mail a customer receives: an issued invoice sent, and each reminder of the ladder, in
//! the customer's language. The words live in `models/reminders/{fr,en}/*.txt` (compiled in,
//! so a template can never be missing at run time); this module fills their placeholders from
//! one invoice's facts and turns the text into a plain + HTML message for the outbox.

use chrono::NaiveDate;
use maud::html;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::legal;
use crate::ledger::account::Lang;
use crate::store::outbox::OutgoingMail;

/// Which text a mail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// An issued invoice, sent.
    Invoice,
    /// A courteous note before the due date.
    Courtesy,
    /// On the due date.
    Due,
    /// After it.
    Overdue,
    /// The last friendly reminder, announcing the formal notice.
    Final,
    /// Mise en demeure: states the penalty rate and the €40 indemnity.
    FormalNotice,
}

impl Template {
    pub const ALL: [Template; 6] = [
        Template::Invoice,
        Template::Courtesy,
        Template::Due,
        Template::Overdue,
        Template::Final,
        Template::FormalNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Template::Invoice => "invoice",
            Template::Courtesy => "courtesy",
            Template::Due => "due",
            Template::Overdue => "overdue",
            Template::Final => "final",
            Template::FormalNotice => "formal_notice",
        }
    }

    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The template file's text (`Subject: …`, a blank line, the body).
    fn text(self, lang: Lang) -> &'static str {
        macro_rules! pick {
            ($name:literal) => {
                match lang {
                    Lang::Fr => include_str!(concat!("../../models/reminders/fr/", $name, ".txt")),
                    Lang::En => include_str!(concat!("../../models/reminders/en/", $name, ".txt")),
                }
            };
        }
        match self {
            Template::Invoice => pick!("invoice"),
            Template::Courtesy => pick!("courtesy"),
            Template::Due => pick!("due"),
            Template::Overdue => pick!("overdue"),
            Template::Final => pick!("final"),
            Template::FormalNotice => pick!("formal_notice"),
        }
    }
}

/// What a mail says about one invoice and its seller.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub lang: Lang,
    pub customer: &'a str,
    pub number: &'a str,
    pub currency: &'a str,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub total: Decimal,
    pub open: Decimal,
    /// Days to the due date (courtesy) or past it (the others); 0 on the day.
    pub days: i64,
    pub seller: &'a str,
    pub seller_email: Option<&'a str>,
    /// `IBAN … · BIC …`, when the company has one.
    pub iban: Option<String>,
    /// `[sales] late_penalty_percent`; the legal default when unset.
    pub penalty_percent: Option<Decimal>,
}

impl<'a> Facts<'a> {
    /// The facts of issued invoice `sale` of `customer`, `open` still owed, `days` from its due
    /// date (see `days`).
    pub fn of(
        seller: super::Seller<'a>,
        sale: &'a super::SalesInvoice,
        customer: &'a super::Customer,
        open: Decimal,
        days: i64,
    ) -> Result<Facts<'a>, String> {
        let (Some(number), Some(issue_date), Some(due_date)) =
            (sale.number.as_deref(), sale.issue_date, sale.due_date)
        else {
            return Err(format!(
                "sale {} is a draft: only an issued invoice is sent or reminded",
                sale.id
            ));
        };
        let iban = seller.company.iban.as_ref().map(|i| {
            let grouped: Vec<String> = i
                .as_str()
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            match &seller.company.bic {
                Some(bic) => format!("IBAN {} · BIC {bic}", grouped.join(" ")),
                None => format!("IBAN {}", grouped.join(" ")),
            }
        });
        Ok(Facts {
            lang: customer.details.lang,
            customer: &customer.details.name,
            number,
            currency: sale.currency.as_str(),
            issue_date,
            due_date,
            total: sale.gross,
            open,
            days,
            seller: &seller.company.name,
            seller_email: seller.sales.email.as_deref(),
            iban,
            penalty_percent: seller.sales.late_penalty_percent,
        })
    }

    fn value(&self, name: &str) -> Option<String> {
        let w = legal::wording(self.lang);
        let en = self.lang == Lang::En;
        Some(match name {
            "customer" => self.customer.to_string(),
            "number" => self.number.to_string(),
            "issue_date" => legal::date(self.issue_date, self.lang),
            "due_date" => legal::date(self.due_date, self.lang),
            "total" => legal::money(self.total, self.currency, self.lang),
            "open" => legal::money(self.open, self.currency, self.lang),
            "days" => self.days.abs().to_string(),
            "seller" => self.seller.to_string(),
            "seller_email" => self.seller_email.unwrap_or_default().to_string(),
            "payment" => match (&self.iban, en) {
                (Some(iban), false) => format!(
                    "\nRèglement par virement : {iban}, en rappelant le numéro {}.\n",
                    self.number
                ),
                (Some(iban), true) => format!(
                    "\nPayment by bank transfer: {iban}, quoting number {}.\n",
                    self.number
                ),
                (None, _) => String::new(),
            },
            "penalty" => match self.penalty_percent {
                Some(r) => format!("{} {} %.", w.penalty_rate, legal::number(r, self.lang)),
                None => w.penalty_default.to_string(),
            },
            "penalty_rate" => match (self.penalty_percent, en) {
                (Some(r), false) => format!("au taux annuel de {} %", legal::number(r, self.lang)),
                (Some(r), true) => {
                    format!("at the yearly rate of {} %", legal::number(r, self.lang))
                }
                (None, false) => "au taux de refinancement de la BCE majoré de 10 points".into(),
                (None, true) => "at the ECB refinancing rate plus 10 percentage points".into(),
            },
            "indemnity" => w.indemnity.to_string(),
            "indemnity_amount" => legal::money(Decimal::from(40), "EUR", self.lang),
            _ => return None,
        })
    }
}

/// `text` with each `{name}` replaced by its value; `Err` names the first unknown placeholder.
fn fill(text: &str, facts: &Facts<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 200);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("an unclosed '{{' after '{}'", &rest[..open]))?;
        let name = &after[..close];
        out.push_str(
            &facts
                .value(name)
                .ok_or_else(|| format!("unknown placeholder {{{name}}}"))?,
        );
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The subject and body of `template` for `facts`.
pub fn render(template: Template, facts: &Facts<'_>) -> Result<(String, String), String> {
    let text = fill(template.text(facts.lang), facts)
        .map_err(|e| format!("template {}: {e}", template.as_str()))?;
    let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
    let subject = first
        .strip_prefix("Subject:")
        .ok_or_else(|| {
            format!(
                "template {} does not start with 'Subject:'",
                template.as_str()
            )
        })?
        .trim()
        .to_string();
    Ok((subject, body.trim().to_string() + "\n"))
}

/// The outbox message of `template` to `to`, with `attachment` (the invoice's PDF).
pub fn mail(
    template: Template,
    facts: &Facts<'_>,
    to: &str,
    attachment: Option<(String, crate::domain::ContentHash)>,
) -> Result<OutgoingMail, String> {
    let (subject, text) = render(template, facts)?;
    let paragraphs: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|p| p.lines().filter(|l| !l.trim().is_empty()).collect())
        .filter(|p: &Vec<&str>| !p.is_empty())
        .collect();
    let body = html! {
        @for p in &paragraphs {
            p { @for (i, line) in p.iter().enumerate() { @if i > 0 { br; } (line) } }
        }
    };
    Ok(OutgoingMail {
        recipient: to.to_string(),
        subject,
        body_text: text,
        body_html: format!(
            "<!DOCTYPE html><html lang=\"{}\"><body>{}</body></html>",
            match facts.lang {
                Lang::Fr => "fr",
                Lang::En => "en",
            },
            body.into_string()
        ),
        attachment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn facts(lang: Lang) -> Facts<'static> {
        Facts {
            lang,
            customer: "Boulangerie Martin",
            number: "FA-2026-00001",
            currency: "EUR",
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 4, 26).unwrap(),
            total: dec!(1701.24),
            open: dec!(701.24),
            days: 45,
            seller: "Atelier Lumière SAS",
            seller_email: Some("facturation@atelier-lumiere.example"),
            iban: Some("FR14 2004 1010 0505 0001 3M02 606".into()),
            penalty_percent: Some(dec!(12)),
        }
    }

    #[test]
    fn every_template_fills_in_both_languages_with_nothing_left_in_braces() {
        for lang in [Lang::Fr, Lang::En] {
            for t in Template::ALL {
                let (subject, body) = render(t, &facts(lang)).unwrap();
                assert!(
                    subject.contains("FA-2026-00001"),
                    "{t:?} {lang:?}: {subject}"
                );
                assert!(!body.contains('{') && !body.contains('}'), "{t:?}: {body}");
                assert!(body.contains("Atelier Lumière SAS"));
            }
        }
    }

    #[test]
    fn the_formal_notice_states_the_penalty_rate_and_the_indemnity() {
        let (subject, body) = render(Template::FormalNotice, &facts(Lang::Fr)).unwrap();
        assert!(subject.starts_with("Mise en demeure"), "{subject}");
        assert!(body.contains("au taux annuel de 12 %"), "{body}");
        assert!(body.contains("40,00\u{a0}€"), "{body}");
        assert!(body.contains("701,24\u{a0}€"), "{body}");
        let mut legal_default = facts(Lang::En);
        legal_default.penalty_percent = None;
        let (_, en) = render(Template::FormalNotice, &legal_default).unwrap();
        assert!(en.contains("ECB refinancing rate plus 10"), "{en}");
        assert!(en.contains("€40.00"), "{en}");
    }

    #[test]
    fn an_unknown_placeholder_is_refused() {
        assert!(fill("Hello {nobody}", &facts(Lang::En))
            .unwrap_err()
            .contains("{nobody}"));
        let m = mail(Template::Due, &facts(Lang::En), "a@b.test", None).unwrap();
        assert!(m.body_html.contains("<p>Hello,</p>"), "{}", m.body_html);
        assert_eq!(m.subject, "Invoice FA-2026-00001 has fallen due");
    }
}
