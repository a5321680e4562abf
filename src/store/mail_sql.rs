//! The mail SQL both backends run, written once (the `MailStore` half of sql.rs's idea).
//!
//! `impl_mail_store!` expands, in a backend's module, to the `MailStore` impl; it relies on the
//! backend's `BEGIN` and on `intake_in` from `impl_store!`, so a message and its documents commit
//! in one transaction. Everything sits in an anonymous `const` block so its `use`s cannot clash
//! with the ones `impl_store!` makes in the same module.

macro_rules! impl_mail_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use std::collections::HashSet;
            use std::time::Duration;

            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use $crate::domain::now_micros;
            use $crate::store::mail::{
                backoff_at, AccountAuth, ConnectBackoff, FailingMessage, FailureFate, FolderStatus,
                MailKey, MailPart, MailRecord, MailStatus, MailStatusReport, MessageMeta,
                MessageOfDocument, PartVerdict, Recorded,
            };
            use $crate::store::{Context, IntakeOutcome, StoreError};

            const KEY: &str = "account = $1 AND folder = $2 AND uidvalidity = $3";

            #[async_trait::async_trait]
            impl $crate::store::mail::MailStore for $store {
                async fn mail_skip_set(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: u32,
                ) -> Result<HashSet<u32>, StoreError> {
                    let rows: Vec<i64> = sqlx::query_scalar(&format!(
                        "SELECT uid FROM mail_messages WHERE {KEY} \
                         AND NOT (status = 'retrying' AND next_attempt_at <= $4)"
                    ))
                    .bind(account)
                    .bind(folder)
                    .bind(i64::from(uidvalidity))
                    .bind(now_micros())
                    .fetch_all(&self.pool)
                    .await
                    .ctx("listing recorded messages")?;
                    Ok(rows.into_iter().filter_map(|u| u32::try_from(u).ok()).collect())
                }

                async fn mail_record(
                    &self,
                    record: &MailRecord,
                    parts: &[MailPart],
                ) -> Result<Recorded, StoreError> {
                    let now = now_micros();
                    let k = &record.key;
                    let taken = parts
                        .iter()
                        .filter(|p| matches!(p.verdict, PartVerdict::Take(_)))
                        .count() as i64;
                    let flag = matches!(record.status, MailStatus::Refused | MailStatus::Failed);
                    let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting a mail record")?;
                    let eml_sha = record.eml.as_ref().map(|e| $crate::domain::ContentHash::of(&e.0));
                    if let (Some(e), Some(sha)) = (&record.eml, &eml_sha) {
                        sqlx::query(
                            "INSERT INTO blobs (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (hash) DO NOTHING",
                        )
                        .bind(sha.as_str())
                        .bind(e.0.len() as i64)
                        .bind(&e.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .ctx("storing a kept message")?;
                    }
                    let r = sqlx::query(
                        "INSERT INTO mail_messages (account, folder, uidvalidity, uid, message_id, sender, \
                         subject, status, reason, documents, action_pending, flag_pending, attempts, \
                         fetched_at, updated_at, eml_sha256) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $13, $14) \
                         ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE SET \
                         message_id = excluded.message_id, sender = excluded.sender, \
                         subject = excluded.subject, status = excluded.status, reason = excluded.reason, \
                         documents = excluded.documents, action_pending = excluded.action_pending, \
                         flag_pending = excluded.flag_pending, next_attempt_at = NULL, \
                         updated_at = excluded.updated_at, eml_sha256 = excluded.eml_sha256 \
                         WHERE mail_messages.status = 'retrying'",
                    )
                    .bind(&k.account)
                    .bind(&k.folder)
                    .bind(i64::from(k.uidvalidity))
                    .bind(i64::from(k.uid))
                    .bind(record.meta.message_id.as_deref())
                    .bind(record.meta.from.as_deref())
                    .bind(record.meta.subject.as_deref())
                    .bind(record.status.as_str())
                    .bind(record.reason.as_deref())
                    .bind(taken)
                    .bind(record.action_pending)
                    .bind(flag)
                    .bind(now)
                    .bind(eml_sha.as_ref().map(|h| h.as_str().to_string()))
                    .execute(&mut *tx)
                    .await
                    .ctx("recording a message")?;
                    if r.rows_affected() == 0 {
                        tx.rollback().await.ctx("rolling back a duplicate mail record")?;
                        return Ok(Recorded::AlreadyRecorded);
                    }
                    let mut outcomes = Vec::new();
                    for p in parts {
                        let (sha, doc, outcome, reason) = match &p.verdict {
                            PartVerdict::Take(raw) => {
                                let o = Self::intake_in(&mut tx, raw, now).await?;
                                outcomes.push(o);
                                let label = match o {
                                    IntakeOutcome::Created(_) => "created",
                                    IntakeOutcome::Rearrived(_) => "rearrived",
                                };
                                let sha = $crate::domain::ContentHash::of(&raw.bytes);
                                (Some(sha.as_str().to_string()), Some(o.document().0), label, None)
                            }
                            PartVerdict::Refused(why) => (None, None, "refused", Some(why.as_str())),
                            PartVerdict::Ignored(why) => (None, None, "ignored", Some(why.as_str())),
                        };
                        sqlx::query(
                            "INSERT INTO mail_parts (account, folder, uidvalidity, uid, part, file_name, \
                             size, sha256, document_id, outcome, reason) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(&k.account)
                        .bind(&k.folder)
                        .bind(i64::from(k.uidvalidity))
                        .bind(i64::from(k.uid))
                        .bind(&p.part)
                        .bind(&p.file_name)
                        .bind(i64::try_from(p.size).unwrap_or(i64::MAX))
                        .bind(sha)
                        .bind(doc)
                        .bind(outcome)
                        .bind(reason)
                        .execute(&mut *tx)
                        .await
                        .ctx("recording a message part")?;
                    }
                    tx.commit().await.ctx("committing a mail record")?;
                    Ok(Recorded::Committed(outcomes))
                }

                async fn mail_record_failure(
                    &self,
                    key: &MailKey,
                    meta: &MessageMeta,
                    error: &str,
                    max_attempts: u32,
                    backoff: Duration,
                ) -> Result<FailureFate, StoreError> {
                    let now = now_micros();
                    let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting a mail failure")?;
                    let prev = sqlx::query(&format!(
                        "SELECT status, attempts FROM mail_messages WHERE {KEY} AND uid = $4"
                    ))
                    .bind(&key.account)
                    .bind(&key.folder)
                    .bind(i64::from(key.uidvalidity))
                    .bind(i64::from(key.uid))
                    .fetch_optional(&mut *tx)
                    .await
                    .ctx("reading a message's attempts")?;
                    let attempts = match prev {
                        None => 1,
                        Some(row) => {
                            let status: String = row.try_get("status").ctx("reading a message")?;
                            if status != "retrying" {
                                // Recorded for good meanwhile (another worker): nothing to count.
                                return Ok(FailureFate::Permanent);
                            }
                            let a: i64 = row.try_get("attempts").ctx("reading a message")?;
                            u32::try_from(a).unwrap_or(u32::MAX).saturating_add(1)
                        }
                    };
                    let permanent = attempts >= max_attempts.max(1);
                    let at = backoff_at(now, backoff, attempts);
                    let (status, reason) = if permanent {
                        ("failed", format!("gave up after {attempts} attempt(s): {error}"))
                    } else {
                        ("retrying", error.to_string())
                    };
                    sqlx::query(
                        "INSERT INTO mail_messages (account, folder, uidvalidity, uid, message_id, sender, \
                         subject, status, reason, documents, action_pending, flag_pending, attempts, \
                         next_attempt_at, fetched_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13, $14, $14) \
                         ON CONFLICT (account, folder, uidvalidity, uid) DO UPDATE SET \
                         status = excluded.status, reason = excluded.reason, \
                         flag_pending = excluded.flag_pending, attempts = excluded.attempts, \
                         next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at \
                         WHERE mail_messages.status = 'retrying'",
                    )
                    .bind(&key.account)
                    .bind(&key.folder)
                    .bind(i64::from(key.uidvalidity))
                    .bind(i64::from(key.uid))
                    .bind(meta.message_id.as_deref())
                    .bind(meta.from.as_deref())
                    .bind(meta.subject.as_deref())
                    .bind(status)
                    .bind(&reason)
                    .bind(false)
                    .bind(permanent)
                    .bind(i64::from(attempts))
                    .bind((!permanent).then_some(at))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .ctx("recording a failed message")?;
                    tx.commit().await.ctx("committing a mail failure")?;
                    Ok(if permanent { FailureFate::Permanent } else { FailureFate::Retry { at } })
                }

                async fn mail_pending_actions(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: u32,
                ) -> Result<Vec<u32>, StoreError> {
                    pending(&self.pool, "action_pending", account, folder, uidvalidity).await
                }

                async fn mail_pending_flags(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: u32,
                ) -> Result<Vec<u32>, StoreError> {
                    pending(&self.pool, "flag_pending", account, folder, uidvalidity).await
                }

                async fn mail_actions_applied(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: u32,
                    uids: &[u32],
                    error: Option<&str>,
                ) -> Result<(), StoreError> {
                    let now = now_micros();
                    let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting action bookkeeping")?;
                    for uid in uids {
                        sqlx::query(&format!(
                            "UPDATE mail_messages SET action_pending = $5, action_error = $6, updated_at = $7 \
                             WHERE {KEY} AND uid = $4"
                        ))
                        .bind(account)
                        .bind(folder)
                        .bind(i64::from(uidvalidity))
                        .bind(i64::from(*uid))
                        .bind(error.is_some())
                        .bind(error)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .ctx("recording a mailbox action")?;
                    }
                    tx.commit().await.ctx("committing action bookkeeping")?;
                    Ok(())
                }

                async fn mail_flags_applied(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: u32,
                    uids: &[u32],
                ) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin_with(BEGIN).await.ctx("starting flag bookkeeping")?;
                    for uid in uids {
                        sqlx::query(&format!(
                            "UPDATE mail_messages SET flag_pending = $5 WHERE {KEY} AND uid = $4"
                        ))
                        .bind(account)
                        .bind(folder)
                        .bind(i64::from(uidvalidity))
                        .bind(i64::from(*uid))
                        .bind(false)
                        .execute(&mut *tx)
                        .await
                        .ctx("recording a failure flag")?;
                    }
                    tx.commit().await.ctx("committing flag bookkeeping")?;
                    Ok(())
                }

                async fn mail_folder_checked(
                    &self,
                    account: &str,
                    folder: &str,
                    uidvalidity: Option<u32>,
                    backlog: u64,
                    error: Option<&str>,
                ) -> Result<(), StoreError> {
                    let now = now_micros();
                    let sql = if error.is_none() {
                        "INSERT INTO mail_folders (account, folder, uidvalidity, last_check_at, \
                         last_success_at, backlog) VALUES ($1, $2, $3, $4, $4, $5) \
                         ON CONFLICT (account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, \
                         last_check_at = excluded.last_check_at, last_success_at = excluded.last_success_at, \
                         backlog = excluded.backlog, last_error = NULL, last_error_at = NULL"
                    } else {
                        "INSERT INTO mail_folders (account, folder, uidvalidity, last_check_at, \
                         last_error, last_error_at, backlog) VALUES ($1, $2, $3, $4, $6, $4, $5) \
                         ON CONFLICT (account, folder) DO UPDATE SET \
                         uidvalidity = COALESCE(excluded.uidvalidity, mail_folders.uidvalidity), \
                         last_check_at = excluded.last_check_at, last_error = excluded.last_error, \
                         last_error_at = excluded.last_error_at"
                    };
                    let mut q = sqlx::query(sql)
                        .bind(account)
                        .bind(folder)
                        .bind(uidvalidity.map(i64::from))
                        .bind(now)
                        .bind(i64::try_from(backlog).unwrap_or(i64::MAX));
                    if let Some(e) = error {
                        q = q.bind(e);
                    }
                    q.execute(&self.pool).await.ctx("recording a folder check")?;
                    Ok(())
                }

                async fn mail_status(&self) -> Result<MailStatusReport, StoreError> {
                    let mut folders = Vec::new();
                    for r in sqlx::query(
                        "SELECT account, folder, uidvalidity, last_check_at, last_success_at, last_error, \
                         last_error_at, backlog FROM mail_folders ORDER BY account, folder",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading folder status")?
                    {
                        folders.push(FolderStatus {
                            account: r.try_get("account").ctx("reading folder status")?,
                            folder: r.try_get("folder").ctx("reading folder status")?,
                            uidvalidity: r.try_get("uidvalidity").ctx("reading folder status")?,
                            last_check_at: r.try_get("last_check_at").ctx("reading folder status")?,
                            last_success_at: r.try_get("last_success_at").ctx("reading folder status")?,
                            last_error: r.try_get("last_error").ctx("reading folder status")?,
                            last_error_at: r.try_get("last_error_at").ctx("reading folder status")?,
                            backlog: r.try_get("backlog").ctx("reading folder status")?,
                            ..FolderStatus::default()
                        });
                    }
                    let counts = sqlx::query_as::<_, (String, String, String, i64)>(
                        "SELECT account, folder, status, COUNT(*) FROM mail_messages \
                         GROUP BY account, folder, status",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .ctx("counting messages")?;
                    let owed = sqlx::query_as::<_, (String, String, i64)>(
                        "SELECT account, folder, COUNT(*) FROM mail_messages \
                         WHERE action_pending = $1 GROUP BY account, folder",
                    )
                    .bind(true)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("counting owed actions")?;
                    let entry = |folders: &mut Vec<FolderStatus>, a: &str, f: &str| -> usize {
                        match folders.iter().position(|s| s.account == a && s.folder == f) {
                            Some(i) => i,
                            None => {
                                folders.push(FolderStatus {
                                    account: a.to_string(),
                                    folder: f.to_string(),
                                    ..FolderStatus::default()
                                });
                                folders.len() - 1
                            }
                        }
                    };
                    for (a, f, status, n) in counts {
                        let i = entry(&mut folders, &a, &f);
                        if let Some(s) = folders.get_mut(i) {
                            match status.as_str() {
                                "imported" => s.imported += n,
                                "nothing" => s.nothing += n,
                                "skipped" => s.skipped += n,
                                "retrying" => s.retrying += n,
                                _ => s.failing += n,
                            }
                        }
                    }
                    let kept = sqlx::query_as::<_, (String, String, i64)>(
                        "SELECT account, folder, COUNT(*) FROM mail_messages \
                         WHERE eml_sha256 IS NOT NULL GROUP BY account, folder",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .ctx("counting kept messages")?;
                    for (a, f, n) in kept {
                        let i = entry(&mut folders, &a, &f);
                        if let Some(s) = folders.get_mut(i) {
                            s.eml_kept = n;
                        }
                    }
                    for (a, f, n) in owed {
                        let i = entry(&mut folders, &a, &f);
                        if let Some(s) = folders.get_mut(i) {
                            s.actions_pending = n;
                        }
                    }
                    let failing = sqlx::query(
                        "SELECT account, folder, uidvalidity, uid, message_id, sender, subject, status, \
                         reason, attempts, next_attempt_at FROM mail_messages \
                         WHERE status IN ('failed', 'refused', 'retrying') \
                         ORDER BY account, folder, uidvalidity, uid",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .ctx("listing failing messages")?
                    .iter()
                    .map(|r| {
                        Ok(FailingMessage {
                            account: r.try_get("account").ctx("reading a failing message")?,
                            folder: r.try_get("folder").ctx("reading a failing message")?,
                            uidvalidity: r.try_get("uidvalidity").ctx("reading a failing message")?,
                            uid: r.try_get("uid").ctx("reading a failing message")?,
                            message_id: r.try_get("message_id").ctx("reading a failing message")?,
                            sender: r.try_get("sender").ctx("reading a failing message")?,
                            subject: r.try_get("subject").ctx("reading a failing message")?,
                            status: r.try_get("status").ctx("reading a failing message")?,
                            reason: r.try_get("reason").ctx("reading a failing message")?,
                            attempts: r.try_get("attempts").ctx("reading a failing message")?,
                            next_attempt_at: r.try_get("next_attempt_at").ctx("reading a failing message")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    let accounts = sqlx::query(
                        "SELECT account, token_updated_at, auth_error, auth_error_at, retry_delay_secs, \
                         retry_at, connect_error FROM mail_accounts ORDER BY account",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading mail accounts")?
                    .iter()
                    .map(|r| {
                        Ok(AccountAuth {
                            account: r.try_get("account").ctx("reading a mail account")?,
                            token_updated_at: r.try_get("token_updated_at").ctx("reading a mail account")?,
                            auth_error: r.try_get("auth_error").ctx("reading a mail account")?,
                            auth_error_at: r.try_get("auth_error_at").ctx("reading a mail account")?,
                            retry_delay_secs: r.try_get("retry_delay_secs").ctx("reading a mail account")?,
                            retry_at: r.try_get("retry_at").ctx("reading a mail account")?,
                            connect_error: r.try_get("connect_error").ctx("reading a mail account")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                    Ok(MailStatusReport { folders, failing, accounts })
                }

                async fn mail_refresh_token(&self, account: &str) -> Result<Option<String>, StoreError> {
                    let t: Option<Option<String>> =
                        sqlx::query_scalar("SELECT refresh_token FROM mail_accounts WHERE account = $1")
                            .bind(account)
                            .fetch_optional(&self.pool)
                            .await
                            .ctx("reading a refresh token")?;
                    Ok(t.flatten())
                }

                async fn mail_save_refresh_token(&self, account: &str, token: &str) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO mail_accounts (account, refresh_token, token_updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (account) DO UPDATE SET refresh_token = excluded.refresh_token, \
                         token_updated_at = excluded.token_updated_at",
                    )
                    .bind(account)
                    .bind(token)
                    .bind(now_micros())
                    .execute(&self.pool)
                    .await
                    .ctx("saving a refresh token")?;
                    Ok(())
                }

                async fn mail_auth_result(&self, account: &str, error: Option<&str>) -> Result<(), StoreError> {
                    let at: Option<DateTime<Utc>> = error.map(|_| now_micros());
                    sqlx::query(
                        "INSERT INTO mail_accounts (account, auth_error, auth_error_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (account) DO UPDATE SET auth_error = excluded.auth_error, \
                         auth_error_at = excluded.auth_error_at",
                    )
                    .bind(account)
                    .bind(error)
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .ctx("recording an OAuth2 refresh")?;
                    Ok(())
                }

                async fn mail_connect_result(
                    &self,
                    account: &str,
                    failure: Option<(&str, Duration)>,
                ) -> Result<(), StoreError> {
                    let now = now_micros();
                    let (delay, at, error) = match failure {
                        Some((e, d)) => (
                            Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
                            Some(now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))),
                            Some(e),
                        ),
                        None => (None, None, None),
                    };
                    sqlx::query(
                        "INSERT INTO mail_accounts (account, retry_delay_secs, retry_at, connect_error) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (account) DO UPDATE SET \
                         retry_delay_secs = excluded.retry_delay_secs, retry_at = excluded.retry_at, \
                         connect_error = excluded.connect_error",
                    )
                    .bind(account)
                    .bind(delay)
                    .bind(at)
                    .bind(error)
                    .execute(&self.pool)
                    .await
                    .ctx("recording a connection outcome")?;
                    Ok(())
                }

                async fn mail_connect_backoff(
                    &self,
                    account: &str,
                ) -> Result<Option<ConnectBackoff>, StoreError> {
                    let row: Option<(Option<i64>, Option<DateTime<Utc>>)> = sqlx::query_as(
                        "SELECT retry_delay_secs, retry_at FROM mail_accounts WHERE account = $1",
                    )
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading a connection retry")?;
                    Ok(match row {
                        Some((Some(d), Some(at))) => Some(ConnectBackoff {
                            delay: Duration::from_secs(u64::try_from(d).unwrap_or(0)),
                            retry_at: at,
                        }),
                        _ => None,
                    })
                }

                async fn mail_messages_of_document(
                    &self,
                    document: $crate::domain::DocumentId,
                ) -> Result<Vec<MessageOfDocument>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT DISTINCT m.account, m.folder, m.uidvalidity, m.uid, m.message_id, \
                         m.sender, m.subject, m.eml_sha256 FROM mail_messages m JOIN mail_parts p \
                         ON p.account = m.account AND p.folder = m.folder \
                         AND p.uidvalidity = m.uidvalidity AND p.uid = m.uid \
                         WHERE p.document_id = $1 ORDER BY m.account, m.folder, m.uidvalidity, m.uid",
                    )
                    .bind(document.0)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("listing a document's messages")?;
                    rows.iter()
                        .map(|r| {
                            Ok(MessageOfDocument {
                                account: r.try_get("account").ctx("reading a document's message")?,
                                folder: r.try_get("folder").ctx("reading a document's message")?,
                                uidvalidity: r.try_get("uidvalidity").ctx("reading a document's message")?,
                                uid: r.try_get("uid").ctx("reading a document's message")?,
                                message_id: r.try_get("message_id").ctx("reading a document's message")?,
                                sender: r.try_get("sender").ctx("reading a document's message")?,
                                subject: r.try_get("subject").ctx("reading a document's message")?,
                                eml_sha256: r.try_get("eml_sha256").ctx("reading a document's message")?,
                            })
                        })
                        .collect()
                }
            }

            async fn pending(
                pool: &sqlx::Pool<$db>,
                column: &str,
                account: &str,
                folder: &str,
                uidvalidity: u32,
            ) -> Result<Vec<u32>, StoreError> {
                let rows: Vec<i64> = sqlx::query_scalar(&format!(
                    "SELECT uid FROM mail_messages WHERE {KEY} AND {column} = $4 ORDER BY uid"
                ))
                .bind(account)
                .bind(folder)
                .bind(i64::from(uidvalidity))
                .bind(true)
                .fetch_all(pool)
                .await
                .ctx("listing owed mailbox changes")?;
                Ok(rows.into_iter().filter_map(|u| u32::try_from(u).ok()).collect())
            }
        };
    };
}

pub(crate) use impl_mail_store;
