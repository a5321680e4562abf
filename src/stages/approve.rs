//! The approve stage, for documents in `pending_approval`: the first run chooses the workflow by
//! the pipeline's `[[approval.rule]]`s (first match) and asks the first step's approvers; a
//! later run (queued when a step completes) asks the next step's. Requests, their hashed link
//! tokens and their mails commit with the job (`ApprovalEffects`), so a request is never sent
//! without its record nor recorded without its mail. A document no rule matches stays in
//! `pending_approval` with nobody asked; a trusted supplier below its rule's limit is approved
//! at once, recorded as automatic.

use chrono::{DateTime, Duration, Utc};

use crate::approval::delegation::delegate;
use crate::approval::{invoice_version, token, ApprovalPolicy, Approver, Facts, Routing, Rule};
use crate::config::CompanySettings;
use crate::domain::{now_micros, DocumentState, Extraction, Origin};
use crate::ledger::fx::Rate;
use crate::notify::{approval_mail, InvoiceFacts, MailKind};
use crate::store::approvals::{ApprovalEffects, NewRequest, NewWorkflow, Progress, StepPlan};
use crate::store::{DocumentRecord, Effects, Job, Transition};

use super::{next_after, StageContext, StageError};

#[tracing::instrument(skip_all, fields(document = %job.document))]
pub async fn run(ctx: &StageContext, job: &Job) -> Result<Transition, StageError> {
    // The row and the duplicate findings (their warnings go into the approval mail): two
    // queries, not the five of the whole record.
    let mut record = ctx.store.document_head(job.document).await?;
    record.duplicates = ctx.store.duplicates_of(job.document).await?;
    let Some(x) = record.extraction.clone() else {
        return Err(StageError::Retryable(format!(
            "document {} has no extraction to route",
            job.document
        )));
    };
    let now = now_micros();
    Ok(match ctx.store.approval_progress(job.document).await? {
        None => {
            let rate = rate_of(ctx, &x).await?;
            route(&ctx.routing, &ctx.company, &record, &x, rate.as_ref(), now)
        }
        Some(p) => next_step(&ctx.routing, &record, &x, &p, now),
    })
}

/// The exchange rate of a foreign invoice's currency on its issue date (today when it has
/// none), from the rates table.
async fn rate_of(ctx: &StageContext, x: &Extraction) -> Result<Option<Rate>, StageError> {
    let Some(cur) = x.invoice.currency.filter(|c| *c != ctx.company.currency) else {
        return Ok(None);
    };
    let day = x
        .invoice
        .issue_date
        .unwrap_or_else(|| now_micros().date_naive());
    Ok(ctx.store.rate_on(cur, day).await?)
}

fn stay(reason: String, effects: Effects) -> Transition {
    Transition {
        to: DocumentState::PendingApproval,
        reason,
        effects,
        next: None,
    }
}

/// The first run: choose a rule, then approve automatically or ask the first step. `rate`:
/// the exchange rate of the invoice's currency on its date, when it is not the company's.
pub fn route(
    routing: &Routing,
    company: &CompanySettings,
    record: &DocumentRecord,
    x: &Extraction,
    rate: Option<&Rate>,
    now: DateTime<Utc>,
) -> Transition {
    let facts = Facts::of(x, company, rate);
    let policy = routing.policy_for(&record.summary.source);
    // A foreign invoice without a rate would fall through amount thresholds to a lighter
    // workflow: it waits for the rate instead.
    if Facts::lacks_rate(x, company, rate)
        && policy.is_some_and(|p| p.rules.iter().any(Rule::compares_amounts))
    {
        return stay(
            format!(
                "no exchange rate from {} to {} on the invoice date: the approval rules compare \
                 amounts in {}; once `facteur rates import` or `facteur rates set` gives one, \
                 the invoice is routed again",
                facts.currency.as_deref().unwrap_or("?"),
                company.currency,
                company.currency
            ),
            Effects::None,
        );
    }
    let Some(rule) = policy.and_then(|p| p.select(&facts)) else {
        return stay(
            "no approval rule applies (see [[approval.rule]] in the pipeline): nobody was asked"
                .into(),
            Effects::None,
        );
    };
    let version = invoice_version(x);
    if rule.auto_approves(&facts) {
        let to = DocumentState::Approved;
        return Transition {
            to,
            reason: format!(
                "approved automatically: a trusted supplier below {} (rule '{}')",
                rule.auto_approve_below.unwrap_or_default(),
                rule.name
            ),
            effects: Effects::Approval(Box::new(ApprovalEffects::AutoApproved {
                rule: rule.name.clone(),
                version,
            })),
            next: next_after(to),
        };
    }
    let steps = match policy.map(|p| plan(rule, p, &facts, routing)) {
        Some(Ok(steps)) => steps,
        Some(Err(why)) => {
            return stay(
                format!("approval rule '{}': {why}; nobody was asked", rule.name),
                Effects::None,
            )
        }
        None => Vec::new(),
    };
    let Some(first) = steps.first() else {
        return stay(
            format!("approval rule '{}' has no steps", rule.name),
            Effects::None,
        );
    };
    let ask = Ask {
        routing,
        record,
        rule: &rule.name,
        steps: steps.len() as u32,
        version: &version,
        now,
    };
    let requests = first
        .approvers
        .iter()
        .map(|a| ask.request(0, a, &MailKind::Request))
        .collect();
    let reason = format!(
        "approval asked of {} (rule '{}', step 1 of {})",
        names(first),
        rule.name,
        steps.len()
    );
    let workflow = NewWorkflow {
        rule: rule.name.clone(),
        version: version.clone(),
        submitter: submitter(&record.origin),
        steps,
    };
    stay(
        reason,
        Effects::Approval(Box::new(ApprovalEffects::Start { workflow, requests })),
    )
}

/// A later run: ask the first step not yet asked, once the ones before it are complete. A
/// document corrected after its approval, whose amount, supplier and IBAN did not change (the
/// correction would have reset the workflow otherwise), is approved again at once.
pub fn next_step(
    routing: &Routing,
    record: &DocumentRecord,
    x: &Extraction,
    p: &Progress,
    now: DateTime<Utc>,
) -> Transition {
    if matches!(p.status.as_str(), "approved" | "auto_approved") && p.version == invoice_version(x)
    {
        let to = DocumentState::Approved;
        return Transition {
            to,
            reason: format!(
                "approved earlier (rule '{}') for this amount, supplier and IBAN, which a \
                 correction left unchanged",
                p.rule
            ),
            effects: Effects::None,
            next: next_after(to),
        };
    }
    let open = p.steps.iter().find(|s| !s.done);
    let Some(s) = open.filter(|s| !s.issued && p.status == "open") else {
        return stay(String::new(), Effects::None);
    };
    let ask = Ask {
        routing,
        record,
        rule: &p.rule,
        steps: p.steps.len() as u32,
        version: &p.version,
        now,
    };
    let requests = s
        .plan
        .approvers
        .iter()
        .map(|a| ask.request(s.step, a, &MailKind::Request))
        .collect();
    stay(
        format!(
            "approval asked of {} (step {} of {})",
            names(&s.plan),
            s.step + 1,
            p.steps.len()
        ),
        Effects::Approval(Box::new(ApprovalEffects::Issue {
            step: s.step,
            requests,
        })),
    )
}

fn names(s: &StepPlan) -> String {
    let who: Vec<&str> = s.approvers.iter().map(|a| a.email.as_str()).collect();
    let how = match s.mode.as_str() {
        "all" => "all of",
        "quorum" => "a quorum of",
        _ => "any of",
    };
    if who.len() == 1 {
        who[0].to_string()
    } else {
        format!("{how} {}", who.join(", "))
    }
}

/// The rule's steps with approvers resolved for this invoice (roles and owners expanded,
/// addresses lower-cased, languages defaulted). Err: a step nobody can complete.
fn plan(
    rule: &Rule,
    policy: &ApprovalPolicy,
    facts: &Facts,
    routing: &Routing,
) -> Result<Vec<StepPlan>, String> {
    rule.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let approvers = s.people(policy, Some(facts), routing.links.default_lang)?;
            let needed = s.needed(approvers.len());
            if approvers.is_empty() || needed as usize > approvers.len() {
                return Err(format!(
                    "step {} needs {needed} approval(s) of {} person(s)",
                    i + 1,
                    approvers.len()
                ));
            }
            Ok(StepPlan {
                mode: s.mode.as_str().to_string(),
                needed,
                approvers,
                reminder_days: s.reminder_days,
                escalate_to: s
                    .escalate_to
                    .as_ref()
                    .map(|e| e.trim().to_ascii_lowercase()),
                escalate_days: s.escalate_days,
            })
        })
        .collect()
}

/// Who sent the invoice in, when a source says (the sender of a forwarded mail, the user who
/// uploaded it through the API).
pub fn submitter(origin: &Origin) -> Option<String> {
    let from = match origin {
        Origin::Imap {
            from: Some(from), ..
        } => from,
        Origin::Api { user, .. } => user,
        _ => return None,
    };
    let addr = match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from.as_str(),
    };
    Some(addr.trim().to_ascii_lowercase()).filter(|a| a.contains('@'))
}

/// What every request of one document shares.
pub struct Ask<'a> {
    pub routing: &'a Routing,
    pub record: &'a DocumentRecord,
    pub rule: &'a str,
    pub steps: u32,
    pub version: &'a str,
    pub now: DateTime<Utc>,
}

impl Ask<'_> {
    /// A fresh link token (only its hash is kept) and the mail that carries it, to the approver
    /// or to their delegate on this day.
    pub fn request(&self, step: u32, a: &Approver, kind: &MailKind) -> NewRequest {
        let (text, hash) = token::generate();
        let links = &self.routing.links;
        let delegations = self
            .routing
            .policy_for(&self.record.summary.source)
            .map_or(&[][..], |p| &p.delegations[..]);
        let (to, on_behalf_of) =
            match delegate(delegations, a, self.now.date_naive(), links.default_lang) {
                Some(d) => (d, Some(a.email.clone())),
                None => (a.clone(), None),
            };
        let (approve, reject) = links.links(&text);
        let expires_at = self.now + Duration::days(i64::from(links.valid_days.max(1)));
        let s = &self.record.summary;
        let facts = InvoiceFacts {
            supplier: s.supplier_name.clone(),
            number: s.invoice_number.clone(),
            gross: s.total_gross,
            currency: s.currency.clone(),
            due: self
                .record
                .extraction
                .as_ref()
                .and_then(|x| x.invoice.due_date),
            warnings: self
                .record
                .duplicates
                .iter()
                .map(|d| format!("{:?} (document {}): {}", d.rule, d.of, d.evidence))
                .collect(),
            rule: self.rule.to_string(),
            on_behalf_of: on_behalf_of.clone(),
            step: step + 1,
            steps: self.steps,
        };
        let attachment = (self.record.size.max(0) as u64 <= links.max_attachment_bytes)
            .then(|| (s.file_name.clone(), self.record.content_hash.clone()));
        NewRequest {
            step,
            token_hash: hash,
            version: self.version.to_string(),
            expires_at,
            mail: approval_mail(
                kind, to.lang, &to.email, &facts, &approve, &reject, expires_at, attachment,
            ),
            approver: to,
            on_behalf_of,
        }
    }
}
