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
}

/// One `[[approval.rule]]`: conditions (all must hold; none at all matches everything) and the
/// workflow's steps.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown in the document's history and in the approval mail.
    pub name: String,
    /// Gross amount, inclusive, as a decimal string ("5000.00"). An invoice whose gross could not
    /// be read never matches a rule with an amount condition.
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
    /// People asked at this step: an address, or `{ email = "…", lang = "fr" }`.
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
    /// The people asked at this step: roles expanded (`roles`), addresses lower-cased, each
    /// person once, languages defaulted.
    pub fn people(
        &self,
        roles: &std::collections::BTreeMap<String, Vec<ApproverEntry>>,
        default_lang: Lang,
    ) -> Vec<Approver> {
        let mut out: Vec<Approver> = Vec::new();
        for entry in &self.approvers {
            let members = match entry.email().strip_prefix(ROLE) {
                Some(role) => roles.get(role.trim()).map_or(&[][..], |m| &m[..]),
                None => std::slice::from_ref(entry),
            };
            for m in members {
                let a = m.resolve(default_lang);
                if !out.iter().any(|o| o.email == a.email) {
                    out.push(a);
                }
            }
        }
        out
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
pub fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Rule {
    pub(crate) fn unconditional(&self) -> bool {
        self.min_amount.is_none()
            && self.max_amount.is_none()
            && self.currency.is_none()
            && self.suppliers.is_empty()
            && self.po_present.is_none()
    }

    /// Whether every condition of the rule holds for the invoice.
    pub fn matches(&self, f: &Facts) -> bool {
        let amount_ok = |bound: Option<Decimal>, ok: fn(Decimal, Decimal) -> bool| {
            bound.is_none_or(|b| f.gross.is_some_and(|g| ok(g, b)))
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
    }

    /// Whether the invoice is approved without asking anyone (a trusted supplier, a small amount).
    pub fn auto_approves(&self, f: &Facts) -> bool {
        self.auto_approve_below
            .is_some_and(|limit| f.gross.is_some_and(|g| g < limit))
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
            gross: gross.parse().ok(),
            currency: Some("EUR".into()),
            suppliers: vec![fold("FR44732829320"), fold("ACME Fournitures SARL")],
            has_po: false,
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
        f.gross = Some(Decimal::new(1000, 0));
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
        let people = step.people(&p.roles, Lang::En);
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
}
