//! Users' side of the store: accounts with their role and hashed secrets, single-use recovery
//! codes, browser sessions (only a hash of the cookie's token is kept), sign-in attempts (the
//! throttle counts them) and the audit of what people do in the web UI.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::{sql, Row};
use super::{SqlStore, StoreError};
use crate::users::totp::TotpSecret;
use crate::users::{Email, PasswordHash, Role};

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub password: PasswordHash,
    /// Enrolled second factor.
    pub totp: Option<TotpSecret>,
    pub totp_last_step: Option<i64>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Where a session is in the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still asked.
    Password,
    SignedIn,
}

impl SessionStage {
    fn as_str(&self) -> &'static str {
        match self {
            SessionStage::Password => "password",
            SessionStage::SignedIn => "signed_in",
        }
    }
}

/// A session to open: the token's hash (the cookie holds the token).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user: i64,
    pub stage: SessionStage,
    /// The nonce every form of the session carries.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub stage: SessionStage,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// One line of the web audit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditLine {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` when the address is taken.
    async fn add_user(
        &self,
        email: &Email,
        role: Role,
        password: &PasswordHash,
        by: &str,
    ) -> Result<i64, StoreError>;

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// Every user, by address.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Changes a user's role, password or standing; `NotFound` for an unknown address. A
    /// disabled user's sessions end at once.
    async fn update_user(&self, email: &Email, change: &UserChange) -> Result<(), StoreError>;

    /// Enrols (or replaces) the second factor with fresh recovery codes (their hashes).
    async fn enrol_totp(
        &self,
        user: i64,
        secret: &TotpSecret,
        recovery_hashes: &[String],
    ) -> Result<(), StoreError>;

    /// Marks TOTP step `step` used; false if it (or a later one) already was: a code works once.
    async fn use_totp_step(&self, user: i64, step: i64) -> Result<bool, StoreError>;

    /// Uses a recovery code (by hash); false if it is not one of the user's unused codes.
    async fn use_recovery_code(&self, user: i64, hash: &str) -> Result<bool, StoreError>;

    /// Records a sign-in attempt.
    async fn record_sign_in(
        &self,
        email: &str,
        ip: Option<&str>,
        ok: bool,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Failed attempts since `since`: of the account (after its last success), and from the
    /// address; oldest first.
    async fn sign_in_failures(
        &self,
        email: &str,
        ip: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<(Vec<DateTime<Utc>>, Vec<DateTime<Utc>>), StoreError>;

    async fn open_session(&self, s: &NewSession) -> Result<(), StoreError>;

    /// The session whose token hashes to `token_hash`, if live at `now` and its user enabled.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError>;

    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError>;

    async fn audit_web(&self, line: &AuditLine) -> Result<(), StoreError>;

    /// The newest `limit` audit lines, newest first.
    async fn web_audit(&self, limit: u32) -> Result<Vec<AuditLine>, StoreError>;
}

/// A change to a user.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub password: Option<PasswordHash>,
    pub disabled: Option<bool>,
    /// Removes the second factor (a lost phone without recovery codes; an admin's act).
    pub clear_totp: bool,
}

const USER_COLUMNS: &str =
    "id, email, role, password_hash, totp_secret, totp_last_step, disabled_at, created_at";

/// `USER_COLUMNS` of the users table under alias `alias`, for a join.
pub(crate) fn user_columns_of(alias: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn user_from_row(r: &Row) -> Result<User, StoreError> {
    let role: String = r.get("role")?;
    Ok(User {
        id: r.get("id")?,
        email: r.get("email")?,
        role: Role::parse(&role).map_err(StoreError::Corrupt)?,
        password: PasswordHash(r.get("password_hash")?),
        totp: r
            .get::<Option<String>>("totp_secret")?
            .map(|s| TotpSecret::from_base32(&s).map_err(StoreError::Corrupt))
            .transpose()?,
        totp_last_step: r.get("totp_last_step")?,
        disabled: r.get::<Option<DateTime<Utc>>>("disabled_at")?.is_some(),
        created_at: r.get("created_at")?,
    })
}

fn times(rows: Vec<Row>) -> Result<Vec<DateTime<Utc>>, StoreError> {
    rows.iter().map(|r| r.get("at")).collect()
}

#[async_trait]
impl UserStore for SqlStore {
    async fn add_user(
        &self,
        email: &Email,
        role: Role,
        password: &PasswordHash,
        by: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.db.begin_write("adding a user").await?;
        let taken: Option<i64> = sql("SELECT id FROM users WHERE email = $1")
            .bind(email.as_str())
            .scalar(&mut tx, "looking up an address")
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a user {email} exists already; change it with `facteur users set`"
            )));
        }
        let id: Option<i64> = sql(
            "INSERT INTO users (email, role, password_hash, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(email.as_str())
        .bind(role.as_str())
        .bind(password.0.as_str())
        .bind(crate::domain::now_micros())
        .bind(by)
        .scalar(&mut tx, "adding a user")
        .await?;
        tx.commit("committing a user").await?;
        id.ok_or_else(|| StoreError::Corrupt("no id for a new user".into()))
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        sql(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.db, "reading a user")
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        sql(format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))
            .fetch_all(&self.db, "listing users")
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn update_user(&self, email: &Email, change: &UserChange) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write("changing a user").await?;
        let id: Option<i64> = sql("SELECT id FROM users WHERE email = $1")
            .bind(email.as_str())
            .scalar(&mut tx, "looking up a user")
            .await?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("user {email}")))?;
        if let Some(role) = change.role {
            sql("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(id)
                .execute(&mut tx, "changing a role")
                .await?;
        }
        if let Some(p) = &change.password {
            sql("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(p.0.as_str())
                .bind(id)
                .execute(&mut tx, "changing a password")
                .await?;
        }
        if let Some(off) = change.disabled {
            let at = off.then(crate::domain::now_micros);
            sql("UPDATE users SET disabled_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut tx, "disabling a user")
                .await?;
        }
        if change.clear_totp {
            sql("UPDATE users SET totp_secret = NULL, totp_last_step = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut tx, "removing a second factor")
                .await?;
            sql("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(id)
                .execute(&mut tx, "removing recovery codes")
                .await?;
        }
        // A new password, a new role or a disabled account: whoever was signed in signs in again.
        if change.password.is_some() || change.role.is_some() || change.disabled == Some(true) {
            sql("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut tx, "ending a user's sessions")
                .await?;
        }
        tx.commit("committing a user change").await
    }

    async fn enrol_totp(
        &self,
        user: i64,
        secret: &TotpSecret,
        recovery_hashes: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write("enrolling a second factor").await?;
        sql("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
            .bind(secret.to_base32())
            .bind(user)
            .execute(&mut tx, "saving a TOTP secret")
            .await?;
        sql("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user)
            .execute(&mut tx, "replacing recovery codes")
            .await?;
        for h in recovery_hashes {
            sql("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user)
                .bind(h.as_str())
                .execute(&mut tx, "saving a recovery code")
                .await?;
        }
        tx.commit("committing a second factor").await
    }

    async fn use_totp_step(&self, user: i64, step: i64) -> Result<bool, StoreError> {
        let n = sql("UPDATE users SET totp_last_step = $1 WHERE id = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)")
        .bind(step)
        .bind(user)
        .execute(&self.db, "using a TOTP step")
        .await?;
        Ok(n == 1)
    }

    async fn use_recovery_code(&self, user: i64, hash: &str) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
             AND used_at IS NULL",
        )
        .bind(crate::domain::now_micros())
        .bind(user)
        .bind(hash)
        .execute(&self.db, "using a recovery code")
        .await?;
        Ok(n == 1)
    }

    async fn record_sign_in(
        &self,
        email: &str,
        ip: Option<&str>,
        ok: bool,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql("INSERT INTO sign_ins (email, ip, ok, detail, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(email)
            .bind(ip)
            .bind(ok)
            .bind(detail)
            .bind(at)
            .execute(&self.db, "recording a sign-in")
            .await?;
        Ok(())
    }

    async fn sign_in_failures(
        &self,
        email: &str,
        ip: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<(Vec<DateTime<Utc>>, Vec<DateTime<Utc>>), StoreError> {
        let account = sql(
            "SELECT at FROM sign_ins WHERE email = $1 AND NOT ok AND at >= $2 AND at > \
             COALESCE((SELECT MAX(at) FROM sign_ins WHERE email = $1 AND ok), $2) ORDER BY at",
        )
        .bind(email)
        .bind(since)
        .fetch_all(&self.db, "counting an account's failed sign-ins")
        .await?;
        let address = match ip {
            Some(ip) => {
                sql("SELECT at FROM sign_ins WHERE ip = $1 AND NOT ok AND at >= $2 ORDER BY at")
                    .bind(ip)
                    .bind(since)
                    .fetch_all(&self.db, "counting an address's failed sign-ins")
                    .await?
            }
            None => Vec::new(),
        };
        Ok((times(account)?, times(address)?))
    }

    async fn open_session(&self, s: &NewSession) -> Result<(), StoreError> {
        sql(
            "INSERT INTO sessions (token_hash, user_id, stage, csrf, created_at, expires_at, ip, \
             user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.token_hash.as_str())
        .bind(s.user)
        .bind(s.stage.as_str())
        .bind(s.csrf.as_str())
        .bind(crate::domain::now_micros())
        .bind(s.expires_at)
        .bind(s.ip.as_deref())
        .bind(s.user_agent.as_deref())
        .execute(&self.db, "opening a session")
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let cols = user_columns_of("u");
        let Some(r) = sql(format!(
            "SELECT {cols}, s.stage, s.csrf, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 \
             AND u.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.db, "reading a session")
        .await?
        else {
            return Ok(None);
        };
        let stage = match r.get::<String>("stage")?.as_str() {
            "password" => SessionStage::Password,
            "signed_in" => SessionStage::SignedIn,
            other => return Err(StoreError::Corrupt(format!("session stage '{other}'"))),
        };
        Ok(Some(Session {
            user: user_from_row(&r)?,
            stage,
            csrf: r.get("csrf")?,
            expires_at: r.get("expires_at")?,
        }))
    }

    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sql("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.db, "ending a session")
            .await?;
        Ok(())
    }

    async fn audit_web(&self, line: &AuditLine) -> Result<(), StoreError> {
        sql(
            "INSERT INTO web_audit (at, actor, action, detail, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(line.at)
        .bind(line.actor.as_str())
        .bind(line.action.as_str())
        .bind(line.detail.as_str())
        .bind(line.ip.as_deref())
        .bind(line.user_agent.as_deref())
        .execute(&self.db, "auditing a web action")
        .await?;
        Ok(())
    }

    async fn web_audit(&self, limit: u32) -> Result<Vec<AuditLine>, StoreError> {
        sql(
            "SELECT at, actor, action, detail, ip, user_agent FROM web_audit \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db, "reading the web audit")
        .await?
        .iter()
        .map(|r| {
            Ok(AuditLine {
                at: r.get("at")?,
                actor: r.get("actor")?,
                action: r.get("action")?,
                detail: r.get("detail")?,
                ip: r.get("ip")?,
                user_agent: r.get("user_agent")?,
            })
        })
        .collect()
    }
}
