//! Approvers named by a field of the invoice: `approvers = ["owner:cost_centre"]` asks whoever
//! `[approval.owners.cost_centre]` names for the invoice's cost centre (BT-10, the buyer
//! reference), `owner:gl_account` the owner of the expense account it posts to (longest prefix
//! wins, so "62" owns 6226 unless "6226" is listed), `owner:supplier` the buyer who looks after
//! that supplier. A `"*"` entry owns every value not listed, and invoices without the field.
//!
//! ```toml
//! [approval.owners.cost_centre]
//! "MKT" = ["marketing-lead@example.test"]
//! "*" = ["controller@example.test"]
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use super::engine::Facts;
use super::policy::ApproverEntry;
use crate::domain::fold_key;

/// How a step names a field's owner.
pub(crate) const OWNER: &str = "owner:";

/// The entry that owns every value not listed.
const ANY: &str = "*";

/// A field of the invoice that has owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnedField {
    CostCentre,
    GlAccount,
    Supplier,
}

impl OwnedField {
    pub const ALL: [OwnedField; 3] = [
        OwnedField::CostCentre,
        OwnedField::GlAccount,
        OwnedField::Supplier,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OwnedField::CostCentre => "cost_centre",
            OwnedField::GlAccount => "gl_account",
            OwnedField::Supplier => "supplier",
        }
    }

    /// The field named after `owner:` in a step.
    pub fn parse(s: &str) -> Option<OwnedField> {
        OwnedField::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }
}

/// `[approval.owners]`: per field, each value's owners.
pub type Owners = BTreeMap<OwnedField, BTreeMap<String, Vec<ApproverEntry>>>;

/// Who owns `field` on this invoice: the entry for its value, else `"*"`. Err says, for the
/// document's history, why nobody does.
pub fn owners_of<'a>(
    owners: &'a Owners,
    field: OwnedField,
    facts: &Facts,
) -> Result<&'a [ApproverEntry], String> {
    let table = owners.get(&field);
    let listed = table.and_then(|t| match field {
        OwnedField::CostCentre => facts.cost_centre.as_deref().and_then(|cc| {
            t.iter()
                .find(|(k, _)| k.as_str() != ANY && k.trim().eq_ignore_ascii_case(cc.trim()))
        }),
        OwnedField::GlAccount => facts.gl_account.as_deref().and_then(|acc| {
            t.iter()
                .filter(|(k, _)| k.as_str() != ANY && acc.starts_with(k.trim()))
                .max_by_key(|(k, _)| k.trim().len())
        }),
        OwnedField::Supplier => t
            .iter()
            .find(|(k, _)| k.as_str() != ANY && facts.suppliers.contains(&fold_key(k))),
    });
    let found = listed.or_else(|| table.and_then(|t| t.get_key_value(ANY)));
    match found {
        Some((_, people)) if !people.is_empty() => Ok(people),
        _ => {
            let value = match field {
                OwnedField::CostCentre => facts.cost_centre.clone(),
                OwnedField::GlAccount => facts.gl_account.clone(),
                OwnedField::Supplier => facts.suppliers.first().cloned(),
            };
            let f = field.as_str();
            Err(match value {
                Some(v) => format!(
                    "nobody owns {f} '{v}': add \"{v}\" = [\"…\"] or \"*\" to [approval.owners.{f}]"
                ),
                None => format!(
                    "the invoice has no {f} and [approval.owners.{f}] has no \"*\" entry for such invoices"
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners() -> Owners {
        toml::from_str::<BTreeMap<String, Owners>>(
            r#"
[owners.cost_centre]
"MKT" = ["mkt@x.test"]
"*" = ["ctl@x.test"]
[owners.gl_account]
"62" = ["services@x.test"]
"6226" = ["legal@x.test"]
[owners.supplier]
"FR44732829320" = ["buyer@x.test"]
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .remove("owners")
        .unwrap_or_default()
    }

    fn emails(r: Result<&[ApproverEntry], String>) -> Vec<String> {
        r.unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|a| a.email().to_string())
            .collect()
    }

    #[test]
    fn a_value_finds_its_owner_else_the_catch_all() {
        let o = owners();
        let mut f = Facts {
            cost_centre: Some(" mkt ".into()),
            gl_account: Some("6226".into()),
            suppliers: vec![fold_key("FR 44 732829320")],
            ..Facts::default()
        };
        assert_eq!(
            emails(owners_of(&o, OwnedField::CostCentre, &f)),
            ["mkt@x.test"]
        );
        assert_eq!(
            emails(owners_of(&o, OwnedField::GlAccount, &f)),
            ["legal@x.test"],
            "the longest prefix wins"
        );
        f.gl_account = Some("6231".into());
        assert_eq!(
            emails(owners_of(&o, OwnedField::GlAccount, &f)),
            ["services@x.test"]
        );
        assert_eq!(
            emails(owners_of(&o, OwnedField::Supplier, &f)),
            ["buyer@x.test"]
        );
        f.cost_centre = Some("R&D".into());
        assert_eq!(
            emails(owners_of(&o, OwnedField::CostCentre, &f)),
            ["ctl@x.test"]
        );
        f.cost_centre = None;
        assert_eq!(
            emails(owners_of(&o, OwnedField::CostCentre, &f)),
            ["ctl@x.test"],
            "no cost centre: the catch-all"
        );
    }

    #[test]
    fn nobody_owning_says_what_to_write() {
        let o = owners();
        let f = Facts {
            gl_account: Some("6064".into()),
            ..Facts::default()
        };
        let e = owners_of(&o, OwnedField::GlAccount, &f).unwrap_err();
        assert!(e.contains("nobody owns gl_account '6064'"), "{e}");
        assert!(e.contains("[approval.owners.gl_account]"), "{e}");
        let e = owners_of(&o, OwnedField::Supplier, &Facts::default()).unwrap_err();
        assert!(e.contains("has no supplier"), "{e}");
    }
}
