//! What `check-config` says about an approval policy beyond what its types say: rules that can
//! never apply, amounts the wrong way round, unknown roles, quorums out of range, half-written
//! options. Each problem names its key (`rule.1.steps.0.quorum`, relative to `approval`) so the
//! pipeline loader prints file:line:column.

use super::owners::{OwnedField, OWNER};
use super::policy::{ApprovalPolicy, Lang, Mode, StepConfig, ROLE};
use crate::domain::Currency;
use crate::sources::{KeyStep, Problem};

impl ApprovalPolicy {
    /// What `check-config` reports beyond types, each at its key (relative to `approval`).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = super::delegation::problems(&self.delegations);
        for (field, table) in &self.owners {
            for (value, people) in table {
                let at = |message: String, hint: &str| Problem {
                    path: vec![KeyStep::Key("owners"), KeyStep::Key(field.as_str())],
                    message,
                    hint: Some(hint.to_string()),
                };
                if *field == OwnedField::GlAccount
                    && value != "*"
                    && (value.is_empty() || !value.chars().all(|c| c.is_ascii_digit()))
                {
                    out.push(at(
                        format!("owners of gl_account '{value}': an account is digits"),
                        "write an account or its prefix: \"6226\" or \"62\"",
                    ));
                }
                if people.is_empty() {
                    out.push(at(
                        format!("owners of {} '{value}': nobody listed", field.as_str()),
                        "\"MKT\" = [\"marketing-lead@example.test\"]",
                    ));
                }
                for p in people {
                    if !p.email().contains('@') {
                        out.push(at(
                            format!("'{}' is not an email address", p.email()),
                            "\"MKT\" = [\"marketing-lead@example.test\"]",
                        ));
                    }
                }
            }
        }
        let mut catch_all: Option<&str> = None;
        for (i, r) in self.rules.iter().enumerate() {
            let at = |keys: &[KeyStep], message: String, hint: Option<&str>| Problem {
                path: [KeyStep::Key("rule"), KeyStep::Index(i)]
                    .into_iter()
                    .chain(keys.iter().copied())
                    .collect(),
                message,
                hint: hint.map(str::to_string),
            };
            if let Some(first) = catch_all {
                out.push(at(
                    &[KeyStep::Key("name")],
                    format!("approval rule '{}' can never apply: rule '{first}' before it has no condition and matches everything", r.name),
                    Some("put the rule without conditions last"),
                ));
            }
            if r.unconditional() {
                catch_all.get_or_insert(&r.name);
            }
            if let (Some(min), Some(max)) = (r.min_amount, r.max_amount) {
                if min >= max {
                    out.push(at(
                        &[KeyStep::Key("max_amount")],
                        format!(
                            "approval rule '{}': max_amount {max} is not above min_amount {min}",
                            r.name
                        ),
                        Some("min_amount is inclusive, max_amount exclusive"),
                    ));
                }
            }
            if let Some(bad) = r
                .gl_accounts
                .iter()
                .find(|a| a.trim().is_empty() || !a.trim().chars().all(|c| c.is_ascii_digit()))
            {
                out.push(at(
                    &[KeyStep::Key("gl_accounts")],
                    format!(
                        "approval rule '{}': '{bad}' is not an account number or prefix",
                        r.name
                    ),
                    Some("gl_accounts = [\"6226\", \"62\"]"),
                ));
            }
            if let Some(c) = &r.currency {
                if let Err(e) = Currency::parse(c) {
                    out.push(at(
                        &[KeyStep::Key("currency")],
                        format!("approval rule '{}': {e}", r.name),
                        None,
                    ));
                }
            }
            let (limit, trusted) = (
                r.auto_approve_below.is_some(),
                !r.trusted_suppliers.is_empty(),
            );
            if limit != trusted {
                out.push(at(
                    &[KeyStep::Key("auto_approve_below")],
                    format!("approval rule '{}': auto_approve_below and trusted_suppliers go together", r.name),
                    Some("write both, e.g. auto_approve_below = \"200.00\" and trusted_suppliers = [\"FR44732829320\"]"),
                ));
            }
            if r.steps.is_empty() {
                out.push(at(
                    &[KeyStep::Key("steps")],
                    format!(
                        "approval rule '{}' has no steps: nobody would be asked",
                        r.name
                    ),
                    Some("steps = [ { approvers = [\"manager@example.test\"] } ]"),
                ));
            }
            for (s, step) in r.steps.iter().enumerate() {
                let problems = step_problems(step, self);
                out.extend(problems.into_iter().map(|(key, message, hint)| {
                    let key = [KeyStep::Key("steps"), KeyStep::Index(s), KeyStep::Key(key)];
                    at(
                        &key,
                        format!("approval rule '{}', step {}: {message}", r.name, s + 1),
                        hint,
                    )
                }));
            }
        }
        out
    }
}

/// A step's problems: (key, message, hint).
fn step_problems(
    step: &StepConfig,
    policy: &ApprovalPolicy,
) -> Vec<(&'static str, String, Option<&'static str>)> {
    let roles = &policy.roles;
    let mut out = Vec::new();
    if step.approvers.is_empty() {
        out.push(("approvers", "no approvers".to_string(), None));
    }
    for a in &step.approvers {
        let e = a.email();
        if let Some(role) = e.strip_prefix(ROLE) {
            if roles.get(role.trim()).is_none_or(|m| m.is_empty()) {
                out.push((
                    "approvers",
                    format!(
                        "'{e}': no role '{}' with members in [approval.roles]",
                        role.trim()
                    ),
                    Some("[approval.roles] finance = [\"daf@example.test\"]"),
                ));
            }
        } else if let Some(field) = e.strip_prefix(OWNER) {
            match OwnedField::parse(field) {
                None => out.push((
                    "approvers",
                    format!("'{e}': no field '{}' has owners", field.trim()),
                    Some("write owner:cost_centre, owner:gl_account or owner:supplier"),
                )),
                Some(f) if policy.owners.get(&f).is_none_or(|t| t.is_empty()) => out.push((
                    "approvers",
                    format!("'{e}': [approval.owners.{}] names nobody", f.as_str()),
                    Some(
                        "[approval.owners.cost_centre] \"MKT\" = [\"marketing-lead@example.test\"]",
                    ),
                )),
                Some(_) => {}
            }
        } else if !e.contains('@') || e.trim() != e || e.len() < 3 {
            out.push((
                "approvers",
                format!("'{e}' is not an email address"),
                Some("write approvers = [\"manager@example.test\"]"),
            ));
        }
    }
    // Owners are known per invoice: a quorum above the people listed is checked at routing.
    let n = step.people(policy, None, Lang::En).map_or(0, |p| p.len()) as u32;
    match (step.mode, step.quorum) {
        (Mode::Quorum, None) => {
            out.push(("mode", "mode = \"quorum\" needs quorum = N".into(), None))
        }
        (Mode::Quorum, Some(q)) if q == 0 || (q > n && !step.names_owners()) => out.push((
            "quorum",
            format!("quorum {q} is not between 1 and the {n} approver(s)"),
            None,
        )),
        (Mode::Any | Mode::All, Some(_)) => out.push((
            "quorum",
            "quorum applies only with mode = \"quorum\"".into(),
            None,
        )),
        _ => {}
    }
    if step.escalate_days.is_some() != step.escalate_to.is_some() {
        out.push((
            "escalate_to",
            "escalate_to and escalate_days go together".into(),
            Some("e.g. escalate_to = \"daf@example.test\", escalate_days = 5"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_rule_the_step_and_the_key() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[[rule]]
name = "everything"
steps = [ { approvers = ["nobody"], mode = "quorum", quorum = 3 } ]
[[rule]]
name = "never"
min_amount = "10"
max_amount = "5"
steps = []
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let all: Vec<String> = p.problems().into_iter().map(|p| p.message).collect();
        let text = all.join("\n");
        assert!(text.contains("'nobody' is not an email address"), "{text}");
        assert!(
            text.contains("quorum 3 is not between 1 and the 1"),
            "{text}"
        );
        assert!(text.contains("rule 'never' can never apply"), "{text}");
        assert!(
            text.contains("max_amount 5 is not above min_amount 10"),
            "{text}"
        );
        assert!(text.contains("has no steps"), "{text}");
    }

    #[test]
    fn owners_and_accounts_are_checked() {
        let p: ApprovalPolicy = toml::from_str(
            r#"
[owners.gl_account]
"6x" = ["not-an-address"]
[[rule]]
name = "r"
gl_accounts = ["62a"]
steps = [ { approvers = ["owner:cost_centre", "owner:colour"] } ]
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text: Vec<String> = p.problems().into_iter().map(|p| p.message).collect();
        let text = text.join("\n");
        for want in [
            "owners of gl_account '6x': an account is digits",
            "'not-an-address' is not an email address",
            "'62a' is not an account number or prefix",
            "'owner:cost_centre': [approval.owners.cost_centre] names nobody",
            "'owner:colour': no field 'colour' has owners",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
    }
}
