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
        ActionKind::Flag => store_flags(session, &set, &action_flags(rules))
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

/// Set beside a system flag under `action = "flag"`, and searched for.
pub const IMPORTED_KEYWORD: &str = "$FacteurImported";

/// The keyword that says "facteur took this" under `action = "flag"`: the configured flag when it
/// is a keyword (only facteur sets it), else `$FacteurImported`, set beside the system flag. A
/// person may open, flag or answer mail before facteur sees it: searching UNSEEN for
/// `flag = "\Seen"` missed such mail forever.
fn done_keyword(rules: &FolderRules) -> &str {
    if rules.flag.starts_with('\\') {
        IMPORTED_KEYWORD
    } else {
        &rules.flag
    }
}

/// The flags `action = "flag"` stores.
fn action_flags(rules: &FolderRules) -> String {
    let kw = done_keyword(rules);
    if kw == rules.flag {
        kw.to_string()
    } else {
        format!("{} {kw}", rules.flag)
    }
}

/// The SEARCH criteria for mail still to look at in a folder with these rules.
pub fn search_criteria(rules: &FolderRules) -> String {
    match rules.action {
        ActionKind::Flag => format!("UNDELETED UNKEYWORD {}", done_keyword(rules)),
        _ => "UNDELETED".to_string(),
    }
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

    #[test]
    fn flag_actions_search_by_facteur_s_keyword() {
        let mut rules: FolderRules =
            toml::from_str("name = \"INBOX\"\naction = \"flag\"\nflag = \"\\\\Seen\"\n")
                .expect("folder rules");
        assert_eq!(rules.flag, "\\Seen");
        assert_eq!(
            search_criteria(&rules),
            "UNDELETED UNKEYWORD $FacteurImported"
        );
        assert_eq!(action_flags(&rules), "\\Seen $FacteurImported");
        rules.flag = "$Facteur".into();
        assert_eq!(search_criteria(&rules), "UNDELETED UNKEYWORD $Facteur");
        assert_eq!(action_flags(&rules), "$Facteur");
    }
}
