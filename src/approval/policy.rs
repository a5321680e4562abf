//! The approval policy of a pipeline file: `[[approval.rule]]` tables tried in order, the first
//! that matches an invoice choosing its workflow (ordered steps of approvers). Field doc comments
//! are the manual; `checks.rs` says what types alone cannot, each at its key's path so
//! `check-config` prints file:line:column.
//!
//! ```toml
//! [[approval.rule]]
//! name = "large"
//! min_amount = "5000.00"         # gross, inclusive
//! steps = [ { approvers = ["daf@example.test"] },
//!           { approvers = ["ceo@example.test", "coo@example.test"], mode = "all" } ]
//!
//! [[approval.rule]]
//! name = "default"               # no condition: matches everything left
//! steps = [ { approvers = ["manager@example.test"] } ]
//! ```

use rust_decimal::Decimal;
use serde::Deserialize;

use super::engine::Facts;
use super::owners::{owners_of, OwnedField, OWNER};

/// `[approval]` of a pipeline file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// The rules, tried in order; the first that matches applies.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Approvers away between two dates and who decides for them (`delegation.rs`).
    #[serde(default, rename = "delegation")]
    pub delegations: Vec<super::delegation::Delegation>,
    /// Named groups of people, used in a step as `"role:NAME"`:
    /// `[approval.roles] finance = ["daf@example.test", "controller@example.test"]`.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, Vec<ApproverEntry>>,
    /// Owners of an invoice field's values, used in a step as `"owner:FIELD"` (`owners.rs`):
    /// `[approval.owners.cost_centre] "MKT" = ["marketing-lead@example.test"]`.
    #[serde(default)]
    pub owners: super::owners::Owners,
}

/// One `[[approval.rule]]`: conditions (all must hold; none at all matches everything) and the
/// workflow's steps.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown in the document's history and in the approval mail.
    pub name: String,
    /// Gross amount in the company's currency, inclusive, as a decimal string ("5000.00"). An
    /// invoice whose gross could not be read (or not converted: no exchange rate) never matches
    /// a rule with an amount condition.
    #[serde(default)]
    pub min_amount: Option<Decimal>,
    /// Gross amount, exclusive: `min_amount = "1000"` and `max_amount = "5000"` of two rules
    /// tile the amounts without overlap.
    #[serde(default)]
    pub max_amount: Option<Decimal>,
    /// Only invoices in this currency (ISO 4217, "EUR").
    #[serde(default)]
    pub currency: Option<String>,
    /// Only these suppliers: VAT ids, SIRENs or names (case and spacing ignored).
    #[serde(default)]
    pub suppliers: Vec<String>,
    /// Only invoices for these cost centres (BT-10, the buyer reference; case ignored).
    #[serde(default)]
    pub cost_centres: Vec<String>,
    /// Only invoices posting to these expense accounts, by prefix: `["62"]` takes 6226 and 6231
    /// (`[company] expense_account` and `[company.expense_accounts]` choose the account).
    #[serde(default)]
    pub gl_accounts: Vec<String>,
    /// `true`: only invoices that quote a purchase order; `false`: only those that do not.
    #[serde(default)]
    pub po_present: Option<bool>,
    /// Below this gross, an invoice of one of `trusted_suppliers` is approved without asking
    /// anyone (recorded as an automatic approval).
    #[serde(default)]
    pub auto_approve_below: Option<Decimal>,
    /// Suppliers (VAT ids, SIRENs or names) that `auto_approve_below` applies to.
    #[serde(default)]
    pub trusted_suppliers: Vec<String>,
    /// The workflow: ordered steps; each must be complete before the next is asked.
    #[serde(default)]
    pub steps: Vec<StepConfig>,
}

/// One step of a workflow.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// People asked at this step: an address, `{ email = "…", lang = "fr" }`, a role
    /// (`"role:finance"`) or a field's owner (`"owner:cost_centre"`, see `[approval.owners]`).
    pub approvers: Vec<ApproverEntry>,
    /// `any` (default): one approval completes the step; `all`: every approver; `quorum`:
    /// `quorum` of them.
    #[serde(default)]
    pub mode: Mode,
    /// Approvals needed with `mode = "quorum"`.
    #[serde(default)]
    pub quorum: Option<u32>,
    /// A reminder with fresh links goes to whoever has not answered after this many days.
    #[serde(default)]
    pub reminder_days: Option<u32>,
    /// After `escalate_days` without an answer, this person is asked too, and their decision
    /// counts for the step.
    #[serde(default)]
    pub escalate_to: Option<String>,
    #[serde(default)]
    pub escalate_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Any,
    All,
    Quorum,
}

impl Mode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Any => "any",
            Mode::All => "all",
            Mode::Quorum => "quorum",
        }
    }
}

/// The language of an approver's mail and pages.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Fr,
    #[default]
    En,
}

impl Lang {
    pub fn as_str(&self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Lang {
        if s.eq_ignore_ascii_case("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }
}

/// An approver as written: an address alone, or with a language.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ApproverEntry {
    Email(String),
    Full { email: String, lang: Option<Lang> },
}

/// An approver resolved: the address (lower-cased: people are compared by it) and a language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Approver {
    pub email: String,
    pub lang: Lang,
}

impl ApproverEntry {
    pub(crate) fn email(&self) -> &str {
        match self {
            ApproverEntry::Email(e) | ApproverEntry::Full { email: e, .. } => e,
        }
    }

    pub fn resolve(&self, default_lang: Lang) -> Approver {
        let lang = match self {
            ApproverEntry::Full { lang: Some(l), .. } => *l,
            _ => default_lang,
        };
        Approver {
            email: self.email().trim().to_ascii_lowercase(),
            lang,
        }
    }
}

/// How a step names a role.
pub(crate) const ROLE: &str = "role:";

impl StepConfig {
    /// The people asked at this step for an invoice: roles and owners expanded, addresses
    /// lower-cased, each person once, languages defaulted. Without `facts` (checking the
    /// configuration), owner entries are left out. Err: a field nobody owns, for the history.
    pub fn people(
        &self,
        policy: &ApprovalPolicy,
        facts: Option<&Facts>,
        default_lang: Lang,
    ) -> Result<Vec<Approver>, String> {
        let mut out: Vec<Approver> = Vec::new();
        for entry in &self.approvers {
            let e = entry.email();
            let members = if let Some(role) = e.strip_prefix(ROLE) {
                policy.roles.get(role.trim()).map_or(&[][..], |m| &m[..])
            } else if let Some(field) = e.strip_prefix(OWNER) {
                match (OwnedField::parse(field), facts) {
                    (Some(field), Some(f)) => owners_of(&policy.owners, field, f)?,
                    _ => &[],
                }
            } else {
                std::slice::from_ref(entry)
            };
            for m in members {
                let a = m.resolve(default_lang);
                if !out.iter().any(|o| o.email == a.email) {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// Whether an approver entry names a field's owner (then who is asked depends on the
    /// invoice).
    pub fn names_owners(&self) -> bool {
        self.approvers.iter().any(|a| a.email().starts_with(OWNER))
    }

    /// Approvals that complete the step, asked of `people` people.
    pub fn needed(&self, people: usize) -> u32 {
        match self.mode {
            Mode::Any => 1,
            Mode::All => people as u32,
            Mode::Quorum => self.quorum.unwrap_or(1),
        }
    }
}

/// Folds a supplier key for comparison: letters and digits only, lower case.
pub use crate::domain::fold_key as fold;

impl Rule {
    pub(crate) fn unconditional(&self) -> bool {
        self.min_amount.is_none()
            && self.max_amount.is_none()
            && self.currency.is_none()
            && self.suppliers.is_empty()
            && self.po_present.is_none()
            && self.cost_centres.is_empty()
            && self.gl_accounts.is_empty()
    }

    /// Whether a condition or option of the rule compares amounts (in company currency).
    pub fn compares_amounts(&self) -> bool {
        self.min_amount.is_some() || self.max_amount.is_some() || self.auto_approve_below.is_some()
    }

    /// Whether every condition of the rule holds for the invoice.
    pub fn matches(&self, f: &Facts) -> bool {
        let amount_ok = |bound: Option<Decimal>, ok: fn(Decimal, Decimal) -> bool| {
            bound.is_none_or(|b| f.amount.is_some_and(|g| ok(g, b)))
        };
        amount_ok(self.min_amount, |g, b| g >= b)
            && amount_ok(self.max_amount, |g, b| g < b)
            && self.currency.as_ref().is_none_or(|c| {
                f.currency
                    .as_deref()
                    .is_some_and(|fc| fc.eq_ignore_ascii_case(c))
            })
            && (self.suppliers.is_empty() || f.supplier_is_one_of(&self.suppliers))
            && self.po_present.is_none_or(|p| p == f.has_po)
            && (self.cost_centres.is_empty()
                || f.cost_centre.as_deref().is_some_and(|cc| {
                    self.cost_centres
                        .iter()
                        .any(|c| c.trim().eq_ignore_ascii_case(cc.trim()))
                }))
            && (self.gl_accounts.is_empty()
                || f.gl_account
                    .as_deref()
                    .is_some_and(|acc| self.gl_accounts.iter().any(|p| acc.starts_with(p.trim()))))
    }

    /// Whether the invoice is approved without asking anyone (a trusted supplier, a small amount).
    pub fn auto_approves(&self, f: &Facts) -> bool {
        self.auto_approve_below
            .is_some_and(|limit| f.amount.is_some_and(|g| g < limit))
            && !self.trusted_suppliers.is_empty()
            && f.supplier_is_one_of(&self.trusted_suppliers)
    }
}

impl ApprovalPolicy {
    /// The first rule that matches, if any.
    pub fn select(&self, f: &Facts) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALLEST: &str = r#"
[[rule]]
name = "large"
min_amount = "5000.00"
steps = [ { approvers = ["daf@example.test"] },
          { approvers = ["ceo@example.test", "coo@example.test"], mode = "all" } ]

[[rule]]
name = "default"
steps = [ { approvers = ["manager@example.test"] } ]
"#;

    fn facts(gross: &str) -> Facts {
        Facts {
            amount: gross.parse().ok(),
            currency: Some("EUR".into()),
            suppliers: vec![fold("FR44732829320"), fold("ACME Fournitures SARL")],
            ..Facts::default()
        }
    }

    #[test]
    fn the_smallest_policy_works_as_written() {
        let p: ApprovalPolicy = toml::from_str(SMALLEST).unwrap();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        assert_eq!(p.select(&facts("5000.00")).unwrap().name, "large");
        assert_eq!(p.select(&facts("4999.99")).unwrap().name, "default");
        assert_eq!(
            p.select(&facts("")).unwrap().name,
            "default",
            "unread gross"
        );
        let large = p.select(&facts("9000")).unwrap();
        assert_eq!(large.steps[1].mode, Mode::All);
        assert_eq!(large.steps[1].needed(2), 2);
        assert_eq!(large.steps[0].needed(1), 1, "mode defaults to any");
    }

    #[test]
    fn conditions_on_supplier_currency_and_po() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[[rule]]
name = "acme-usd"
suppliers = ["fr 44 732829320"]
currency = "usd"
steps = [ { approvers = ["a@x.test"] } ]
[[rule]]
name = "with-po"
po_present = true
max_amount = "1000"
steps = [ { approvers = [{ email = "B@x.test", lang = "fr" }] } ]
"#,
        )
        .unwrap();
        let mut f = facts("100");
        assert!(p.select(&f).is_none(), "EUR, no PO");
        f.has_po = true;
        assert_eq!(p.select(&f).unwrap().name, "with-po");
        let b = p.select(&f).unwrap().steps[0].approvers[0].resolve(Lang::En);
        assert_eq!(
            b,
            Approver {
                email: "b@x.test".into(),
                lang: Lang::Fr
            }
        );
        f.currency = Some("USD".into());
        assert_eq!(p.select(&f).unwrap().name, "acme-usd");
        f.amount = Some(Decimal::new(1000, 0));
        f.currency = None;
        assert!(p.select(&f).is_none(), "max_amount is exclusive");
    }

    #[test]
    fn roles_expand_to_their_members_once() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[roles]
finance = ["DAF@x.test", { email = "ctl@x.test", lang = "fr" }]
[[rule]]
name = "r"
steps = [ { approvers = ["role:finance", "daf@x.test", "ceo@x.test"], mode = "all" } ]
[[rule]]
name = "bad"
min_amount = "1"
steps = [ { approvers = ["role:nobody"] } ]
"#,
        )
        .unwrap();
        let step = &p.rules[0].steps[0];
        let people = step.people(&p, None, Lang::En).unwrap();
        let emails: Vec<&str> = people.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(emails, ["daf@x.test", "ctl@x.test", "ceo@x.test"]);
        assert_eq!(people[1].lang, Lang::Fr);
        assert_eq!(step.needed(people.len()), 3);
        let problems: Vec<String> = p.problems().into_iter().map(|p| p.message).collect();
        assert!(
            problems.iter().any(|m| m.contains("no role 'nobody'")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_trusted_supplier_below_the_limit_is_auto_approved() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[[rule]]
name = "default"
auto_approve_below = "200.00"
trusted_suppliers = ["FR44732829320"]
steps = [ { approvers = ["m@x.test"] } ]
"#,
        )
        .unwrap();
        let r = &p.rules[0];
        assert!(r.auto_approves(&facts("199.99")));
        assert!(!r.auto_approves(&facts("200.00")));
        let mut other = facts("10");
        other.suppliers = vec![fold("Someone Else")];
        assert!(!r.auto_approves(&other));
    }

    #[test]
    fn cost_centre_and_gl_account_choose_the_rule_and_owners_approve() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[owners.cost_centre]
"MKT" = [{ email = "Mkt-Lead@x.test", lang = "fr" }]
[[rule]]
name = "marketing services"
cost_centres = ["mkt"]
gl_accounts = ["62"]
steps = [ { approvers = ["owner:cost_centre", "daf@x.test"], mode = "all" } ]
[[rule]]
name = "default"
steps = [ { approvers = ["m@x.test"] } ]
"#,
        )
        .unwrap();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        let mut f = facts("100");
        f.cost_centre = Some("MKT".into());
        f.gl_account = Some("6064".into());
        assert_eq!(p.select(&f).unwrap().name, "default", "6064 is not a 62");
        f.gl_account = Some("6226".into());
        let rule = p.select(&f).unwrap();
        assert_eq!(rule.name, "marketing services");
        let people = rule.steps[0].people(&p, Some(&f), Lang::En).unwrap();
        assert_eq!(
            people,
            [
                Approver {
                    email: "mkt-lead@x.test".into(),
                    lang: Lang::Fr
                },
                Approver {
                    email: "daf@x.test".into(),
                    lang: Lang::En
                }
            ]
        );
        f.cost_centre = None;
        assert_eq!(p.select(&f).unwrap().name, "default", "no cost centre");
        f.cost_centre = Some("OPS".into());
        let err = rule.steps[0].people(&p, Some(&f), Lang::En).unwrap_err();
        assert!(err.contains("nobody owns cost_centre 'OPS'"), "{err}");
    }
}
