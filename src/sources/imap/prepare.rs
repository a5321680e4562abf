//! What to record for one fetched message: its MIME parts' verdicts turned into the message's
//! status (imported, nothing, skipped by the folder's rules, refused) and the `RawDocument`s, with
//! their IMAP origin, that intake will commit in the same transaction; with `keep_eml`, the whole
//! message too (kept beside the record, never a document). No I/O, and nothing borrowed from the
//! running source: `Plan` owns what it needs, so a message is read on a blocking thread.

use super::config::{ActionKind, CompiledRules, FolderRules};
use super::fetch::Account;
use super::mime::{self, MimeOptions, Verdict};
use super::unzip::ZipLimits;
use crate::domain::{Origin, RawDocument};
use crate::stages::intake::IntakeSettings;
use crate::store::mail::{Eml, MailKey, MailPart, MailRecord, MailStatus, PartVerdict};

/// What reading one folder's messages needs from its account, owned.
#[derive(Debug, Clone)]
pub struct Plan {
    source: String,
    account: String,
    rules: FolderRules,
    compiled: CompiledRules,
    intake: IntakeSettings,
    zip: ZipLimits,
}

impl Plan {
    pub fn new(acc: &Account<'_>, rules: &FolderRules, compiled: &CompiledRules) -> Plan {
        Plan {
            source: acc.cfg.name.clone(),
            account: acc.cfg.account(),
            rules: rules.clone(),
            compiled: compiled.clone(),
            intake: acc.ctx.intake.clone(),
            zip: ZipLimits {
                max_entries: acc.cfg.zip_max_entries,
                max_total_bytes: acc.cfg.zip_max_total_mb.saturating_mul(1024 * 1024),
                max_depth: acc.cfg.zip_max_depth,
            },
        }
    }
}

/// Decides what to record for one fetched message.
pub fn prepare(plan: &Plan, key: &MailKey, body: &[u8]) -> (MailRecord, Vec<MailPart>) {
    let (rules, compiled) = (&plan.rules, &plan.compiled);
    let opts = MimeOptions {
        inline: rules.inline,
        xml_body: rules.xml_body,
        filename: compiled.filename.as_ref(),
        intake: &plan.intake,
        zip: plan.zip,
    };
    let record = |meta, status, reason: Option<String>, action_pending| MailRecord {
        key: key.clone(),
        meta,
        status,
        reason,
        action_pending,
        // Mail the folder's rules skip is not ours to keep.
        eml: (rules.keep_eml && status != MailStatus::Skipped).then(|| Eml(body.to_vec())),
    };
    let x = match mime::extract(body, &opts) {
        Ok(x) => x,
        Err(e) => {
            return (
                record(
                    Default::default(),
                    MailStatus::Failed,
                    Some(e.to_string()),
                    false,
                ),
                Vec::new(),
            )
        }
    };
    let mismatch = [
        (
            "from",
            &compiled.from,
            x.meta.from.clone().unwrap_or_default(),
        ),
        ("to", &compiled.to, x.to.join(", ")),
        (
            "subject",
            &compiled.subject,
            x.meta.subject.clone().unwrap_or_default(),
        ),
    ]
    .into_iter()
    .find(|(_, re, value)| re.as_ref().is_some_and(|re| !re.is_match(value)));
    if let Some((field, _, value)) = mismatch {
        let why = format!("{field} '{value}' does not match the folder's {field} rule");
        return (
            record(x.meta, MailStatus::Skipped, Some(why), false),
            Vec::new(),
        );
    }
    let mut parts = Vec::with_capacity(x.pieces.len());
    let (mut taken, mut refused) = (0, Vec::new());
    for p in x.pieces {
        let verdict = match p.verdict {
            Verdict::Take(bytes) => {
                taken += 1;
                PartVerdict::Take(RawDocument {
                    bytes,
                    name: p.name.clone(),
                    origin: Origin::Imap {
                        source: plan.source.clone(),
                        account: plan.account.clone(),
                        folder: key.folder.clone(),
                        uidvalidity: key.uidvalidity,
                        uid: key.uid,
                        message_id: x.meta.message_id.clone(),
                        from: x.meta.from.clone(),
                        part: p.path.clone(),
                    },
                })
            }
            Verdict::Refused(why) => {
                let label = if p.path.ends_with(&p.name) {
                    p.path.clone()
                } else {
                    format!("{} (part {})", p.name, p.path)
                };
                refused.push((label, why.clone()));
                PartVerdict::Refused(why)
            }
            Verdict::Ignored(why) => PartVerdict::Ignored(why),
        };
        parts.push(MailPart {
            part: p.path,
            file_name: p.name,
            size: p.size,
            verdict,
        });
    }
    let (status, reason, action) = if !refused.is_empty() {
        (MailStatus::Refused, Some(refusals(&refused)), false)
    } else if taken > 0 {
        (MailStatus::Imported, None, rules.action != ActionKind::None)
    } else {
        (
            MailStatus::Nothing,
            Some("no attachment facteur reads (PDF, XML, PNG, JPEG, TIFF, zip)".into()),
            false,
        )
    };
    (record(x.meta, status, reason, action), parts)
}

/// One line per distinct reason, naming its parts (a few, then a count): a mail of 30 zips over
/// the budget reads as one reason, not thirty.
fn refusals(refused: &[(String, String)]) -> String {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for (part, why) in refused {
        match reasons.iter_mut().find(|(w, _)| w == why) {
            Some((_, parts)) => parts.push(part),
            None => reasons.push((why, vec![part])),
        }
    }
    reasons
        .iter()
        .map(|(why, parts)| {
            let shown: Vec<&str> = parts.iter().take(3).copied().collect();
            let more = parts.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{why}: {}{tail}", shown.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
