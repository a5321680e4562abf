//! Delegation: an approver away between two dates (inclusive) hands their requests to someone
//! else. The request goes to the delegate and records both; the delegate inherits the absent
//! approver's exclusions (segregation of duties is checked for both people).
//!
//! ```toml
//! [[approval.delegation]]
//! from = "daf@example.test"
//! to = { email = "deputy@example.test", lang = "fr" }
//! start = "2026-12-20"
//! end = "2027-01-03"
//! ```

use chrono::NaiveDate;
use serde::Deserialize;

use super::policy::{Approver, ApproverEntry, Lang};
use crate::sources::{KeyStep, Problem};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// Who is away.
    pub from: String,
    /// Who decides meanwhile: an address, or `{ email = "…", lang = "fr" }`.
    pub to: ApproverEntry,
    /// First day, "YYYY-MM-DD".
    pub start: NaiveDate,
    /// Last day, inclusive.
    pub end: NaiveDate,
}

impl Delegation {
    fn covers(&self, email: &str, day: NaiveDate) -> bool {
        self.from.trim().eq_ignore_ascii_case(email) && self.start <= day && day <= self.end
    }
}

/// Who is asked instead of `approver` on `day`, if anyone: the delegate, and the approver they
/// stand in for. A delegation is not followed further (a delegate's own delegation does not
/// apply), so a chain cannot loop.
pub fn delegate(
    delegations: &[Delegation],
    approver: &Approver,
    day: NaiveDate,
    default_lang: Lang,
) -> Option<Approver> {
    delegations
        .iter()
        .find(|d| d.covers(&approver.email, day))
        .map(|d| d.to.resolve(default_lang))
}

/// What `check-config` reports, at `delegation.<i>.<key>` (relative to `approval`).
pub fn problems(delegations: &[Delegation]) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, d) in delegations.iter().enumerate() {
        let at = |key: &'static str, message: String| Problem {
            path: vec![
                KeyStep::Key("delegation"),
                KeyStep::Index(i),
                KeyStep::Key(key),
            ],
            message,
            hint: None,
        };
        if d.start > d.end {
            out.push(at(
                "end",
                format!(
                    "delegation of {}: end {} is before start {}",
                    d.from, d.end, d.start
                ),
            ));
        }
        let to = d.to.resolve(Lang::En).email;
        for (key, who) in [
            ("from", d.from.trim().to_ascii_lowercase()),
            ("to", to.clone()),
        ] {
            if !who.contains('@') {
                out.push(at(
                    key,
                    format!("delegation: '{who}' is not an email address"),
                ));
            }
        }
        if d.from.trim().eq_ignore_ascii_case(&to) {
            out.push(at("to", format!("delegation of {} to themselves", d.from)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_delegation_applies_between_its_dates_only() {
        let d: Vec<Delegation> = toml::from_str::<toml::Table>(
            "[[d]]\nfrom = \"DAF@x.test\"\nto = { email = \"deputy@x.test\", lang = \"fr\" }\n\
             start = \"2026-12-20\"\nend = \"2027-01-03\"\n",
        )
        .unwrap()["d"]
            .clone()
            .try_into()
            .unwrap();
        let daf = Approver {
            email: "daf@x.test".into(),
            lang: Lang::En,
        };
        assert_eq!(delegate(&d, &daf, day("2026-12-19"), Lang::En), None);
        let deputy = delegate(&d, &daf, day("2026-12-20"), Lang::En).unwrap();
        assert_eq!(
            deputy,
            Approver {
                email: "deputy@x.test".into(),
                lang: Lang::Fr
            }
        );
        assert!(
            delegate(&d, &daf, day("2027-01-03"), Lang::En).is_some(),
            "end is inclusive"
        );
        assert_eq!(delegate(&d, &deputy, day("2026-12-25"), Lang::En), None);
        assert!(problems(&d).is_empty());
    }

    #[test]
    fn reversed_dates_and_self_delegation_are_reported() {
        let d = vec![Delegation {
            from: "a@x.test".into(),
            to: ApproverEntry::Email("A@x.test".into()),
            start: day("2026-12-20"),
            end: day("2026-12-01"),
        }];
        let text: Vec<String> = problems(&d).into_iter().map(|p| p.message).collect();
        assert!(
            text.iter().any(|t| t.contains("is before start")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("to themselves")), "{text:?}");
    }
}
