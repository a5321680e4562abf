//! `facteur users add|list|set|totp|token`: the people who sign in to the dashboard. A password is
//! read from `--password-env VAR`, `--password-file FILE` or the first line of standard input,
//! never from the command line (it would stay in the shell's history and in `ps`). `totp`
//! enrols a second factor: it prints the QR code to scan, the secret, and ten recovery codes,
//! once. `token add|list|revoke` manages a user's REST API tokens: a new token is printed once
//! (only its hash is kept).

use std::io::BufRead as _;
use std::path::PathBuf;

use serde::Serialize;

use super::{table, Cli, CmdResult, Failure};
use crate::store::api::NewApiToken;
use crate::store::users::UserChange;
use crate::store::StoreError;
use crate::users::api_token::{self, Scope};
use crate::users::totp::{qr_text, recovery_codes, recovery_hash, TotpSecret};
use crate::users::{Email, Password, Role};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a user: `facteur users add daf@example.com --role admin` (password on stdin).
    Add {
        email: String,
        /// viewer, approver, accountant or admin.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Every user with role, second factor and standing.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role or password, disable or enable them, or remove their second factor.
    Set {
        email: String,
        #[arg(long)]
        role: Option<String>,
        /// Read a new password (from --password-env/--password-file, else stdin).
        #[arg(long)]
        new_password: bool,
        #[command(flatten)]
        password: PasswordSource,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        /// Remove the second factor (a lost phone and no recovery code left).
        #[arg(long)]
        remove_totp: bool,
    },
    /// Enrol a second factor (TOTP): prints the QR code to scan and the recovery codes, once.
    Totp { email: String },
    /// REST API tokens: add (printed once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// A new token for a user, printed once: `facteur users token add ci@example.com --scope read`.
    Add {
        email: String,
        /// read (GET only) or write (also uploads, decisions, exports, as far as the role goes).
        #[arg(long)]
        scope: String,
        /// What the token is for, shown in lists [default: the scope and the day].
        #[arg(long)]
        name: Option<String>,
    },
    /// Every token: its user, scope, first characters, last use, standing.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (see `token list`): it stops working at once.
    Revoke { id: i64 },
}

#[derive(Debug, Clone, clap::Args)]
pub struct PasswordSource {
    /// Take the password from this environment variable.
    #[arg(long)]
    password_env: Option<String>,
    /// Take the password from the first line of this file.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

impl PasswordSource {
    fn read(&self) -> Result<Password, Failure> {
        let text = if let Some(var) = &self.password_env {
            std::env::var(var).map_err(|_| {
                Failure::Config(format!("--password-env {var}: the variable is not set"))
            })?
        } else if let Some(f) = &self.password_file {
            let t = std::fs::read_to_string(f)
                .map_err(|e| Failure::Config(format!("--password-file {}: {e}", f.display())))?;
            t.lines().next().unwrap_or("").to_string()
        } else {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::Other(e.into()))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        };
        Password::parse(&text).map_err(Failure::Config)
    }
}

#[derive(Serialize)]
struct Listed {
    email: String,
    role: Role,
    second_factor: bool,
    disabled: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn run(cli: &Cli, cmd: &Command) -> CmdResult {
    let (settings, store) = super::open_workspace(cli).await?;
    let fail = |e: StoreError| match e {
        StoreError::NotFound(what) => Failure::Config(format!("{what}: see `facteur users list`")),
        StoreError::Conflict(why) | StoreError::Invalid(why) => Failure::Config(why),
        e => Failure::Other(e.into()),
    };
    let email = |s: &str| Email::parse(s).map_err(Failure::Config);
    let role = |s: &str| Role::parse(s).map_err(Failure::Config);
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match cmd {
        Command::Add {
            email: e,
            role: r,
            password,
        } => {
            let (e, r) = (email(e)?, role(r)?);
            let hash = password.read()?.hash().map_err(Failure::Config)?;
            store.add_user(&e, r, &hash, &by).await.map_err(fail)?;
            outln!("user {e} added as {r}");
            if settings.web.require_2fa.contains(&r) {
                outln!(
                    "the {r} role signs in with a second factor: run `facteur users totp {e}` next"
                );
            }
        }
        Command::List { json } => {
            let users = store.users().await.map_err(fail)?;
            let listed: Vec<Listed> = users
                .into_iter()
                .map(|u| Listed {
                    email: u.email,
                    role: u.role,
                    second_factor: u.totp.is_some(),
                    disabled: u.disabled,
                    created_at: u.created_at,
                })
                .collect();
            if *json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&listed).map_err(anyhow::Error::from)?
                );
            } else if listed.is_empty() {
                outln!("no users yet: `facteur users add EMAIL --role admin`");
            } else {
                let rows: Vec<Vec<String>> = listed
                    .iter()
                    .map(|u| {
                        vec![
                            u.email.clone(),
                            u.role.to_string(),
                            if u.second_factor { "totp" } else { "—" }.into(),
                            if u.disabled { "disabled" } else { "active" }.into(),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(&["email", "role", "2nd factor", "standing"], &rows, 0, 100)
                );
            }
        }
        Command::Set {
            email: e,
            role: r,
            new_password,
            password,
            disable,
            enable,
            remove_totp,
        } => {
            let e = email(e)?;
            let change = UserChange {
                role: r.as_deref().map(role).transpose()?,
                password: if *new_password {
                    Some(password.read()?.hash().map_err(Failure::Config)?)
                } else {
                    None
                },
                disabled: (*disable || *enable).then_some(*disable),
                clear_totp: *remove_totp,
            };
            store.update_user(&e, &change).await.map_err(fail)?;
            outln!("user {e} changed");
        }
        Command::Totp { email: e } => {
            let e = email(e)?;
            let user = store
                .user_by_email(&e)
                .await
                .map_err(fail)?
                .ok_or_else(|| Failure::Config(format!("no user {e}: see `facteur users list`")))?;
            let secret = TotpSecret::generate();
            let codes = recovery_codes();
            let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
            let uri = secret.uri(e.as_str()).map_err(Failure::Config)?;
            store
                .enrol_totp(user.id, &secret, &hashes)
                .await
                .map_err(fail)?;
            outln!("Scan this with an authenticator app (or type the secret):\n");
            outln!("{}", qr_text(&uri).map_err(Failure::Config)?);
            outln!("secret: {}\nuri:    {uri}\n", secret.to_base32());
            outln!("Recovery codes (each works once; keep them apart from the phone):");
            for c in &codes {
                outln!("  {c}");
            }
        }
        Command::Token(t) => token(store.as_ref(), t, &by).await.map_err(fail)?,
    }
    Ok(())
}

/// `users token …`. Errors the caller maps for people, like every users command's.
async fn token(
    store: &dyn crate::store::Store,
    cmd: &TokenCommand,
    by: &str,
) -> Result<(), StoreError> {
    let config = |why: String| StoreError::Invalid(why);
    match cmd {
        TokenCommand::Add { email, scope, name } => {
            let e = Email::parse(email).map_err(config)?;
            let scope = Scope::parse(scope).map_err(config)?;
            let user = store
                .user_by_email(&e)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("user {e}")))?;
            if user.disabled {
                return Err(config(format!(
                    "{e} is disabled: enable them first (`facteur users set {e} --enable`)"
                )));
            }
            let (text, hash) = api_token::generate();
            let now = crate::domain::now_micros();
            let name = name
                .clone()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{scope} {}", now.format("%Y-%m-%d")));
            let id = store
                .add_api_token(&NewApiToken {
                    user: user.id,
                    name: name.clone(),
                    scope,
                    token_hash: hash,
                    shown: api_token::shown(&text),
                    by: by.to_string(),
                })
                .await?;
            outln!(
                "token {id} '{name}' for {e} ({}, scope {scope}):",
                user.role
            );
            outln!("{text}");
            outln!("It is shown once: keep it in your secret store. Revoke it with `facteur users token revoke {id}`.");
        }
        TokenCommand::List { json } => {
            let tokens = store.api_tokens().await?;
            if *json {
                let text = serde_json::to_string_pretty(&tokens)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                outln!("{text}");
            } else if tokens.is_empty() {
                outln!("no API tokens yet: `facteur users token add EMAIL --scope read`");
            } else {
                let day = |d: Option<chrono::DateTime<chrono::Utc>>| {
                    d.map_or("—".to_string(), |d| {
                        d.format("%Y-%m-%d %H:%M").to_string()
                    })
                };
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.user.clone(),
                            t.name.clone(),
                            t.scope.to_string(),
                            format!("{}…", t.shown),
                            day(t.last_used_at),
                            match t.revoked_at {
                                Some(at) => format!("revoked {}", day(Some(at))),
                                None => "active".into(),
                            },
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table::render(
                        &[
                            "id",
                            "user",
                            "name",
                            "scope",
                            "token",
                            "last used",
                            "standing"
                        ],
                        &rows,
                        2,
                        100
                    )
                );
            }
        }
        TokenCommand::Revoke { id } => {
            store
                .revoke_api_token(*id, crate::domain::now_micros())
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => config(format!(
                        "there is no API token {id}: see `facteur users token list`"
                    )),
                    e => e,
                })?;
            outln!("token {id} revoked");
        }
    }
    Ok(())
}
