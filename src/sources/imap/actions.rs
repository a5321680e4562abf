//! Mailbox changes, made only after the store committed: the folder's action (UID MOVE, or COPY +
//! \Deleted + UID EXPUNGE where MOVE is missing; a flag or keyword; delete) and the
//! `$FacteurFailed` keyword on permanently failing mail.
//!
//! Each command takes a whole batch of UIDs. A failed action leaves the messages' `action_pending`
//! set in the store; the next check applies it again without importing anything again. Plain
//! EXPUNGE is never sent: without UIDPLUS it would also remove mail other clients marked deleted.

use futures::TryStreamExt;

use super::config::{ActionKind, FolderRules};
use super::connection::Session;
use super::utf7;

/// The keyword on mail facteur could not take; people search for it.
pub const FAILED_KEYWORD: &str = "$FacteurFailed";

#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub idle: bool,
    pub mv: bool,
    pub uidplus: bool,
}

impl Caps {
    pub async fn of(session: &mut Session) -> Result<Caps, async_imap::error::Error> {
        let c = session.capabilities().await?;
        Ok(Caps {
            idle: c.has_str("IDLE"),
            mv: c.has_str("MOVE"),
            uidplus: c.has_str("UIDPLUS"),
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{what} on UIDs {uids} of {folder} failed: {source}")]
pub struct ActionError {
    pub what: String,
    pub uids: String,
    pub folder: String,
    #[source]
    pub source: async_imap::error::Error,
}

/// `1:3,7,9:10` from sorted or unsorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = v.get(i) {
        let mut end = start;
        while v.get(i + 1) == Some(&end.wrapping_add(1)) {
            end += 1;
            i += 1;
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

async fn store_flags(
    session: &mut Session,
    set: &str,
    flags: &str,
) -> Result<(), async_imap::error::Error> {
    let stream = session
        .uid_store(set, format!("+FLAGS.SILENT ({flags})"))
        .await?;
    let _: Vec<_> = stream.try_collect().await?;
    Ok(())
}

async fn expunge(session: &mut Session, set: &str) -> Result<(), async_imap::error::Error> {
    let stream = session.uid_expunge(set).await?;
    let _: Vec<_> = stream.try_collect().await?;
    Ok(())
}

/// Applies the folder's action to `uids` (the folder is selected).
pub async fn apply(
    session: &mut Session,
    rules: &FolderRules,
    caps: Caps,
    uids: &[u32],
) -> Result<(), ActionError> {
    if uids.is_empty() || rules.action == ActionKind::None {
        return Ok(());
    }
    let set = uid_set(uids);
    let err = |what: String| {
        let (set, folder) = (set.clone(), rules.name.clone());
        move |source| ActionError {
            what,
            uids: set,
            folder,
            source,
        }
    };
    match rules.action {
        ActionKind::Move if caps.mv => session
            .uid_mv(&set, utf7::encode(&rules.move_to))
            .await
            .map_err(err(format!("UID MOVE to {}", rules.move_to))),
        ActionKind::Move => {
            session
                .uid_copy(&set, utf7::encode(&rules.move_to))
                .await
                .map_err(err(format!("UID COPY to {}", rules.move_to)))?;
            store_flags(session, &set, "\\Deleted")
                .await
                .map_err(err("marking copied mail \\Deleted".into()))?;
            if caps.uidplus {
                expunge(session, &set)
                    .await
                    .map_err(err("UID EXPUNGE".into()))?;
            }
            Ok(())
        }
        ActionKind::Flag => store_flags(session, &set, &rules.flag)
            .await
            .map_err(err(format!("adding {}", rules.flag))),
        ActionKind::Delete => {
            store_flags(session, &set, "\\Deleted")
                .await
                .map_err(err("marking mail \\Deleted".into()))?;
            if caps.uidplus {
                expunge(session, &set)
                    .await
                    .map_err(err("UID EXPUNGE".into()))?;
            }
            Ok(())
        }
        ActionKind::None => Ok(()),
    }
}

/// Marks permanently failing mail with `$FacteurFailed`.
pub async fn flag_failed(
    session: &mut Session,
    folder: &str,
    uids: &[u32],
) -> Result<(), ActionError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    store_flags(session, &set, FAILED_KEYWORD)
        .await
        .map_err(|source| ActionError {
            what: format!("adding {FAILED_KEYWORD}"),
            uids: set.clone(),
            folder: folder.to_string(),
            source,
        })
}

/// The SEARCH criteria for mail still to look at in a folder with these rules.
pub fn search_criteria(rules: &FolderRules) -> String {
    let mut c = String::from("UNDELETED");
    if rules.action == ActionKind::Flag {
        let f = rules.flag.as_str();
        let not = match f.to_ascii_lowercase().as_str() {
            "\\seen" => "UNSEEN".to_string(),
            "\\flagged" => "UNFLAGGED".to_string(),
            "\\answered" => "UNANSWERED".to_string(),
            _ if !f.starts_with('\\') => format!("UNKEYWORD {f}"),
            _ => String::new(),
        };
        if !not.is_empty() {
            c.push(' ');
            c.push_str(&not);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[7, 1, 2, 3, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(
            uid_set(&[u32::MAX, u32::MAX - 1]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }
}
