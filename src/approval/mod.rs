//! Approval workflows (issue 11): which people must approve an invoice, in which order, and the
//! rules that keep that honest. Pure code only:
//! - `policy`: the `[[approval.rule]]` tables of a pipeline file, the first-match choice of a rule;
//! - `owners`: approvers named by a field of the invoice (the cost centre's owner);
//! - `delegation`: who decides for an absent approver;
//! - `token`: the secrets in emailed links, generated, hashed, compared;
//! - `engine`: what rules look at, when a step is complete, segregation of duties, the invoice
//!   version an approval was given for;
//! - `routing`: which pipeline's policy applies, what links look like.
//!
//! The store records, the `approve` stage routes, `notify` mails, `web` takes the decisions.

mod checks;
pub mod delegation;
pub mod engine;
pub mod owners;
pub mod policy;
pub mod routing;
pub mod token;

pub use engine::{invoice_version, Facts};
pub use policy::{ApprovalPolicy, Approver, Lang, Mode, Rule, StepConfig};
pub use routing::{LinkSettings, Routing};
