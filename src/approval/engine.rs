//! The rules a decision is judged by, as pure functions the store's decision transaction and the
//! `approve` stage call: what an invoice looks like to a policy (`Facts`), which version of it an
//! approval was given for (`invoice_version`: editing the amount, supplier or IBAN makes earlier
//! links answer "this invoice changed"), when a step is complete, and segregation of duties.

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::policy::fold;
use crate::config::CompanySettings;
use crate::domain::Extraction;
use crate::ledger::ap::expense_account;
use crate::ledger::fx::Rate;

/// What rules look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The gross in the company's currency: None when it was not read, or the invoice is in
    /// another currency and no exchange rate is known.
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    /// The supplier's VAT id, SIREN and name, folded (`policy::fold`).
    pub suppliers: Vec<String>,
    pub has_po: bool,
    /// BT-10, the buyer reference, where buyers write their cost centre.
    pub cost_centre: Option<String>,
    /// The expense account the invoice posts to (`ledger::ap::expense_account`).
    pub gl_account: Option<String>,
}

impl Facts {
    /// `rate`: the exchange rate of the invoice's currency on its date, when it is not the
    /// company's; the gross is converted at it (`Rate::to_company`).
    pub fn of(x: &Extraction, company: &CompanySettings, rate: Option<&Rate>) -> Facts {
        let inv = &x.invoice;
        let foreign = inv.currency.filter(|c| *c != company.currency);
        let amount = match (inv.total_gross, foreign) {
            (Some(g), None) => Some(g),
            (Some(g), Some(cur)) => rate
                .filter(|r| r.currency == cur)
                .map(|r| r.to_company(g, company.currency)),
            (None, _) => None,
        };
        Facts {
            amount,
            currency: inv.currency.map(|c| c.as_str().to_string()),
            suppliers: inv.seller.keys(),
            has_po: inv
                .purchase_order
                .as_deref()
                .is_some_and(|p| !p.trim().is_empty()),
            cost_centre: inv
                .buyer_reference
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            gl_account: Some(expense_account(inv, company).as_str().to_string()),
        }
    }

    /// Whether the gross is known but could not be put in the company's currency.
    pub fn lacks_rate(x: &Extraction, company: &CompanySettings, rate: Option<&Rate>) -> bool {
        x.invoice.total_gross.is_some() && Facts::of(x, company, rate).amount.is_none()
    }

    pub fn supplier_is_one_of(&self, list: &[String]) -> bool {
        list.iter().any(|k| self.suppliers.contains(&fold(k)))
    }
}

/// A fingerprint of what an approval vouches for: gross, currency, supplier (VAT id, SIREN,
/// name) and IBAN. 16 hex digits; two versions differ when one of those changed.
pub fn invoice_version(x: &Extraction) -> String {
    let inv = &x.invoice;
    let s = &inv.seller;
    let parts = [
        inv.total_gross.map(|d| d.normalize().to_string()),
        inv.currency.map(|c| c.as_str().to_string()),
        s.vat_id.as_ref().map(|v| v.as_str().to_string()),
        s.siren.as_ref().map(|v| v.as_str().to_string()),
        s.name.clone(),
        s.iban.as_ref().map(|v| v.as_str().to_string()),
    ];
    let text: Vec<String> = parts.into_iter().map(Option::unwrap_or_default).collect();
    hex::encode(&Sha256::digest(text.join("\u{1f}").as_bytes())[..8])
}

/// Why a person may not decide on an invoice (segregation of duties), if they may not.
pub fn sod_refusal(
    approver: &str,
    submitter: Option<&str>,
    approved_other_steps: &[String],
) -> Option<String> {
    let me = approver.trim().to_ascii_lowercase();
    if submitter.is_some_and(|s| s.trim().eq_ignore_ascii_case(&me)) {
        return Some(format!(
            "{me} submitted this invoice and so cannot approve it (segregation of duties)"
        ));
    }
    if approved_other_steps
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&me))
    {
        return Some(format!(
            "{me} already approved another step of this invoice: one person cannot satisfy two steps"
        ));
    }
    None
}

/// The refusal for a delegate deciding for an absent approver: the delegate inherits the
/// approver's exclusions, and keeps their own.
pub fn sod_refusal_delegated(
    delegate: &str,
    on_behalf_of: Option<&str>,
    submitter: Option<&str>,
    approved_other_steps: &[String],
) -> Option<String> {
    [Some(delegate), on_behalf_of]
        .into_iter()
        .flatten()
        .find_map(|who| sod_refusal(who, submitter, approved_other_steps))
}

/// Whether a step with `approvals` distinct approvals is complete.
pub fn step_complete(needed: u32, approvals: u32) -> bool {
    approvals >= needed.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Invoice, Method, Party, VatId};
    use crate::ledger::fx::RateSource;

    fn extraction(gross: &str, iban: Option<&str>) -> Extraction {
        let invoice = Invoice {
            total_gross: gross.parse().ok(),
            currency: crate::domain::Currency::parse("EUR").ok(),
            seller: Party {
                name: Some("ACME Fournitures SARL".into()),
                vat_id: VatId::parse("FR44732829320").ok(),
                iban: iban.and_then(|i| crate::domain::Iban::parse(i).ok()),
                ..Party::default()
            },
            ..Invoice::default()
        };
        Extraction::certain(invoice, Method::Text)
    }

    #[test]
    fn the_version_changes_with_amount_or_iban_only() {
        let a = invoice_version(&extraction("120.00", None));
        assert_eq!(
            a,
            invoice_version(&extraction("120.0", None)),
            "same amount"
        );
        assert_ne!(a, invoice_version(&extraction("121.00", None)));
        let iban = "FR7630006000011234567890189";
        assert_ne!(a, invoice_version(&extraction("120.00", Some(iban))));
        let f = Facts::of(
            &extraction("120.00", None),
            &CompanySettings::default(),
            None,
        );
        assert!(f.supplier_is_one_of(&["FR 44 732 829 320".into()]));
        assert!(
            f.supplier_is_one_of(&["acme fournitures s.a.r.l".into()])
                || f.supplier_is_one_of(&["ACME Fournitures SARL".into()])
        );
    }

    #[test]
    fn amounts_are_compared_in_the_company_currency() {
        let company = CompanySettings::default();
        let mut x = extraction("1085.00", None);
        x.invoice.currency = crate::domain::Currency::parse("USD").ok();
        x.invoice.buyer_reference = Some(" MKT ".into());
        let f = Facts::of(&x, &company, None);
        assert_eq!(f.amount, None, "no rate: no amount, never a guess");
        assert!(Facts::lacks_rate(&x, &company, None));
        let usd = crate::domain::Currency::parse("USD").unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 12).unwrap();
        let rate = Rate::new(usd, day, "1.0850".parse().unwrap(), RateSource::Ecb).unwrap();
        let rate = Some(&rate);
        let f = Facts::of(&x, &company, rate);
        assert_eq!(f.amount, "1000.00".parse().ok());
        assert_eq!(f.cost_centre.as_deref(), Some("MKT"));
        assert_eq!(
            f.gl_account.as_deref(),
            Some(company.expense_account.as_str())
        );
        x.invoice.currency = crate::domain::Currency::parse("EUR").ok();
        assert_eq!(Facts::of(&x, &company, rate).amount, "1085.00".parse().ok());
    }

    #[test]
    fn segregation_of_duties() {
        assert!(sod_refusal("Clerk@x.test", Some("clerk@x.test"), &[])
            .unwrap()
            .contains("submitted"));
        assert!(sod_refusal("daf@x.test", None, &["DAF@x.test".into()])
            .unwrap()
            .contains("two steps"));
        assert_eq!(
            sod_refusal("ceo@x.test", Some("clerk@x.test"), &["daf@x.test".into()]),
            None
        );
    }

    #[test]
    fn a_delegate_inherits_the_exclusions_of_whom_they_stand_in_for() {
        let submitted =
            sod_refusal_delegated("deputy@x.test", Some("daf@x.test"), Some("daf@x.test"), &[]);
        assert!(submitted.unwrap().contains("daf@x.test submitted"));
        let approved = ["daf@x.test".to_string()];
        let twice = sod_refusal_delegated("deputy@x.test", Some("daf@x.test"), None, &approved);
        assert!(twice.unwrap().contains("two steps"));
        let own = sod_refusal_delegated(
            "deputy@x.test",
            Some("daf@x.test"),
            Some("deputy@x.test"),
            &[],
        );
        assert!(own.is_some(), "and keeps their own");
        assert_eq!(
            sod_refusal_delegated(
                "deputy@x.test",
                Some("daf@x.test"),
                Some("clerk@x.test"),
                &[]
            ),
            None
        );
    }

    #[test]
    fn steps_complete_on_their_count() {
        assert!(step_complete(1, 1));
        assert!(!step_complete(2, 1));
        assert!(
            step_complete(0, 1),
            "a step never completes with no approval"
        );
        assert!(!step_complete(0, 0));
    }
}
