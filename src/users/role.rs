//! Roles and what each may do, checked server-side on every request: a viewer looks, an
//! approver also decides on invoices and hands documents in, an accountant also reviews, posts
//! and exports, an admin also manages users.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Approver,
    Accountant,
    Admin,
}

/// What a request does, for the authorisation check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read documents, entries, reports.
    View,
    /// Approve or reject an invoice.
    Decide,
    /// Hand in a document (an upload through the REST API).
    Submit,
    /// Correct, accept, reject a reading; mark not a duplicate.
    Review,
    /// Post, pay, export, issue.
    Book,
    /// Add, change, disable users.
    ManageUsers,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Approver, Role::Accountant, Role::Admin];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Accountant => "accountant",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown role '{s}': one of viewer, approver, accountant, admin")
            })
    }

    /// Whether this role may do `action`.
    pub fn may(&self, action: Action) -> bool {
        match action {
            Action::View => true,
            Action::Decide | Action::Submit => *self >= Role::Approver,
            Action::Review | Action::Book => *self >= Role::Accountant,
            Action::ManageUsers => *self == Role::Admin,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix() {
        use Action::*;
        let table = [
            (Role::Viewer, [true, false, false, false, false, false]),
            (Role::Approver, [true, true, true, false, false, false]),
            (Role::Accountant, [true, true, true, true, true, false]),
            (Role::Admin, [true, true, true, true, true, true]),
        ];
        for (role, row) in table {
            let got = [View, Decide, Submit, Review, Book, ManageUsers].map(|a| role.may(a));
            assert_eq!(got, row, "{role}");
        }
        assert_eq!(Role::parse(" Admin ").unwrap(), Role::Admin);
        assert!(Role::parse("root").unwrap_err().contains("one of viewer"));
    }
}
