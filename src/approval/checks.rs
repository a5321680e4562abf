//! What `check-config` says about an approval policy beyond what its types say: rules that can
//! never apply, amounts the wrong way round, unknown roles, quorums out of range, half-written
//! options. Each problem names its key (`rule.1.steps.0.quorum`, relative to `approval`) so the
//! pipeline loader prints file:line:column.

use super::policy::{ApprovalPolicy, ApproverEntry, Lang, Mode, StepConfig, ROLE};
use crate::domain::Currency;
use crate::sources::{KeyStep, Problem};

impl ApprovalPolicy {
    /// What `check-config` reports beyond types, each at its key (relative to `approval`).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = super::delegation::problems(&self.delegations);
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
                let problems = step_problems(step, &self.roles);
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
    roles: &std::collections::BTreeMap<String, Vec<ApproverEntry>>,
) -> Vec<(&'static str, String, Option<&'static str>)> {
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
        } else if !e.contains('@') || e.trim() != e || e.len() < 3 {
            out.push((
                "approvers",
                format!("'{e}' is not an email address"),
                Some("write approvers = [\"manager@example.test\"]"),
            ));
        }
    }
    let n = step.people(roles, Lang::En).len() as u32;
    match (step.mode, step.quorum) {
        (Mode::Quorum, None) => {
            out.push(("mode", "mode = \"quorum\" needs quorum = N".into(), None))
        }
        (Mode::Quorum, Some(q)) if q == 0 || q > n => out.push((
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
}
