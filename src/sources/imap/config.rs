//! Configuration of an IMAP source (`[[source]] type = "imap"` in a pipeline file): one account,
//! several folders, each with its own rules and mailbox action.
//!
//! Secrets never sit in the file nor in `Debug`: the config names where they are (`password_env`,
//! `password_file`, the OAuth2 client secret and first refresh token likewise), and they are read
//! when connecting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use super::diagnose::CompiledRules;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
    /// Plain connection upgraded with STARTTLS before login (port 143).
    Starttls,
    /// No encryption at all: for a local test server only; the password crosses in clear.
    None,
}

/// What happens to a message once its documents are committed.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// Move to `move_to` (UID MOVE; COPY + \Deleted + UID EXPUNGE where MOVE is missing).
    #[default]
    Move,
    /// Add the flag or keyword `flag` and leave the message where it is.
    Flag,
    /// Delete it (\Deleted + UID EXPUNGE).
    Delete,
    /// Leave the mailbox untouched (facteur still never fetches a recorded message again).
    None,
}

/// `[source.oauth2]`: XOAUTH2 login with an access token obtained from a refresh token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The provider's token endpoint, e.g. `https://oauth2.googleapis.com/token` or
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub token_url: String,
    pub client_id: String,
    /// Environment variable holding the client secret (omit for public clients).
    pub client_secret_env: Option<String>,
    /// File holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the first refresh token. When the provider rotates it, the new
    /// one is kept in the store and wins over this.
    pub refresh_token_env: Option<String>,
    /// File holding the first refresh token.
    pub refresh_token_file: Option<PathBuf>,
    /// Scope to ask for, when the provider needs one on refresh.
    pub scope: Option<String>,
    /// Extra CA certificates (PEM) to trust for `token_url`, beside the public web roots: for a
    /// provider behind a company CA. Relative to the pipeline file.
    pub ca_file: Option<PathBuf>,
}

/// `[[source.folder]]`: one mailbox folder and its rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderRules {
    /// Folder name as the server spells it (`INBOX`, `Factures/Fournisseurs`).
    pub name: String,
    #[serde(default)]
    pub action: ActionKind,
    /// Target of `action = "move"`; must exist on the server (otherwise the action stays owed and is
    /// retried every check, without importing again).
    #[serde(default = "default_move_to")]
    pub move_to: String,
    /// Flag or keyword of `action = "flag"` (`\Seen`, `$Facteur`).
    #[serde(default = "default_flag")]
    pub flag: String,
    /// Only messages whose From matches this regex (case-insensitive).
    pub from: Option<String>,
    /// Only messages whose To matches this regex (case-insensitive).
    pub to: Option<String>,
    /// Only messages whose Subject matches this regex (case-insensitive).
    pub subject: Option<String>,
    /// Only attachments whose file name matches this regex (case-insensitive).
    pub filename: Option<String>,
    /// Also take inline parts (images in the body). Off by default: they are mostly logos.
    #[serde(default)]
    pub inline: bool,
    /// Take an e-invoice sent as the message body (`text/xml`, or a body that is UBL/CII XML).
    #[serde(default = "default_true")]
    pub xml_body: bool,
    /// Keep the whole message (.eml) with its record, stored content-addressed in the database
    /// (`mail status` counts them; `documents show` lists the message of each document). The .eml
    /// is evidence, not a document: facteur reads PDF, XML and images, not mail. Messages skipped
    /// by the from/to/subject rules are not kept. Off by default (it stores every message twice
    /// over: once whole, once as its attachments).
    #[serde(default)]
    pub keep_eml: bool,
}

fn default_move_to() -> String {
    "Processed".into()
}
fn default_flag() -> String {
    "$FacteurImported".into()
}
fn default_true() -> bool {
    true
}

/// `[[source]] type = "imap"`: one mailbox account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// Unique source name, recorded on every document and message it delivers.
    pub name: String,
    pub host: String,
    /// Default: 993 with `tls`, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    /// Extra CA certificates to trust (PEM), for a server with a private CA; the public web roots
    /// (webpki-roots) are trusted as well. Relative to the pipeline file.
    pub tls_ca_file: Option<PathBuf>,
    /// Login name (also the XOAUTH2 user).
    pub user: String,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password (first line; relative to the pipeline file).
    pub password_file: Option<PathBuf>,
    /// XOAUTH2 instead of a password.
    pub oauth2: Option<OAuth2Config>,
    /// Folders to take mail from (default: INBOX, moved to Processed).
    #[serde(default = "default_folders", rename = "folder")]
    pub folders: Vec<FolderRules>,
    /// Wait for new mail with IDLE where the server supports it (new mail taken within seconds).
    #[serde(default = "default_true")]
    pub idle: bool,
    /// Most IDLE connections per account, one per folder in the order listed; folders past the cap
    /// are polled. Each counts against the server's per-user connection limit (Gmail 15, Microsoft
    /// 365 about 20), beside the one connection that fetches.
    #[serde(default = "default_idle_max")]
    pub idle_max_connections: usize,
    /// Seconds between checks of polled folders (no IDLE, or past `idle_max_connections`).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    /// Seconds between full checks of every folder even while IDLE reports nothing.
    #[serde(default = "default_full_check")]
    pub full_check_secs: u64,
    /// Messages fetched per FETCH command.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Messages taken per folder per check; the rest waits for the next check (shown as backlog).
    #[serde(default = "default_max_per_run")]
    pub max_messages_per_run: usize,
    /// Largest message downloaded, MiB; a bigger one is refused (flagged `$FacteurFailed`, listed)
    /// without being downloaded. Default: 1.4 × `intake.max_document_mb` + 1, since base64 makes
    /// an attachment a third bigger in the message.
    pub max_message_mb: Option<u64>,
    /// The account lease (one worker per mailbox across machines): a crashed worker's lease lapses
    /// after this many seconds.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Attempts on a failing message before it is flagged `$FacteurFailed` and listed.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First retry delay of a failing message or connection, seconds; doubles each time.
    #[serde(default = "default_backoff_secs")]
    pub backoff_secs: u64,
    /// Seconds allowed for connecting, logging in, or one command.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Zip attachments: most entries in all of one message's archives together.
    #[serde(default = "default_zip_entries")]
    pub zip_max_entries: usize,
    /// Zip attachments: most uncompressed MiB read from all of one message's archives (zip bombs).
    #[serde(default = "default_zip_total_mb")]
    pub zip_max_total_mb: u64,
    /// Zip attachments: zips inside zips are opened this deep.
    #[serde(default = "default_zip_depth")]
    pub zip_max_depth: u32,
}

fn default_folders() -> Vec<FolderRules> {
    vec![FolderRules {
        name: "INBOX".into(),
        action: ActionKind::Move,
        move_to: default_move_to(),
        flag: default_flag(),
        from: None,
        to: None,
        subject: None,
        filename: None,
        inline: false,
        xml_body: true,
        keep_eml: false,
    }]
}
fn default_idle_max() -> usize {
    4
}
fn default_poll_interval() -> u64 {
    60
}
fn default_full_check() -> u64 {
    300
}
fn default_batch_size() -> usize {
    25
}
fn default_max_per_run() -> usize {
    500
}
fn default_lease_secs() -> u64 {
    90
}
fn default_max_attempts() -> u32 {
    5
}
fn default_backoff_secs() -> u64 {
    60
}
fn default_timeout_secs() -> u64 {
    60
}
fn default_zip_entries() -> usize {
    100
}
fn default_zip_total_mb() -> u64 {
    100
}
fn default_zip_depth() -> u32 {
    2
}

impl ImapConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 993,
            Security::Starttls | Security::None => 143,
        })
    }

    /// The download limit in bytes (see `max_message_mb`).
    pub fn max_message_bytes(&self, intake: &crate::stages::intake::IntakeSettings) -> u64 {
        let mb = self
            .max_message_mb
            .unwrap_or_else(|| intake.max_document_mb.saturating_mul(14) / 10 + 1);
        mb.saturating_mul(1024 * 1024)
    }

    /// `user@host`, as recorded in origins.
    pub fn account(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// Resolves relative secret files against `base` (the pipeline file's folder).
    pub fn resolved(mut self, base: &Path) -> Self {
        let abs = |p: &mut Option<PathBuf>| {
            if let Some(x) = p.as_mut().filter(|x| x.is_relative()) {
                *x = base.join(&*x);
            }
        };
        abs(&mut self.password_file);
        abs(&mut self.tls_ca_file);
        if let Some(o) = self.oauth2.as_mut() {
            abs(&mut o.client_secret_file);
            abs(&mut o.refresh_token_file);
            abs(&mut o.ca_file);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::diagnose::ConfigError;
    use super::*;

    #[test]
    fn parses_a_documented_example_and_defaults() {
        let c: ImapConfig = toml::from_str(
            r#"
            name = "ap"
            host = "imap.example.com"
            user = "ap@example.com"
            password_env = "AP_IMAP_PASSWORD"
            [[folder]]
            name = "INBOX"
            move_to = "Traitées"
            subject = "factur|invoice"
            [[folder]]
            name = "Fournisseurs"
            action = "flag"
            "#,
        )
        .unwrap();
        assert_eq!(c.port(), 993);
        assert_eq!(c.folders.len(), 2);
        assert_eq!(c.folders[1].action, ActionKind::Flag);
        assert_eq!(c.folders[1].flag, "$FacteurImported");
        let rules = c.validate().unwrap();
        assert!(rules[0].subject.as_ref().unwrap().is_match("Votre FACTURE"));
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn relative_files_resolve_once_against_the_pipeline_folder() {
        let c: ImapConfig = toml::from_str(
            "name='a'\nhost='h'\nuser='u'\npassword_file='pw'\ntls_ca_file='/etc/ca.pem'\n\
             [oauth2]\ntoken_url='https://t/x'\nclient_id='c'\nrefresh_token_file='../rt'\n\
             ca_file='ca.pem'\n",
        )
        .unwrap();
        let c = c.resolved(Path::new("ws/pipelines"));
        assert_eq!(
            c.password_file.as_deref(),
            Some(Path::new("ws/pipelines/pw"))
        );
        assert_eq!(c.tls_ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        let o = c.oauth2.unwrap();
        assert_eq!(
            o.refresh_token_file.as_deref(),
            Some(Path::new("ws/pipelines/../rt"))
        );
        assert_eq!(o.ca_file.as_deref(), Some(Path::new("ws/pipelines/ca.pem")));
    }

    #[test]
    fn refuses_unknown_keys_two_credentials_and_bad_regexes() {
        let unknown = toml::from_str::<ImapConfig>(
            "name='a'\nhost='h'\nuser='u'\npassword_env='P'\npasword='x'\n",
        );
        assert!(unknown.is_err());
        let two: ImapConfig =
            toml::from_str("name='a'\nhost='h'\nuser='u'\npassword_env='P'\npassword_file='f'\n")
                .unwrap();
        assert!(matches!(two.validate(), Err(ConfigError::Credentials(_))));
        let bad: ImapConfig = toml::from_str(
            "name='a'\nhost='h'\nuser='u'\npassword_env='P'\n[[folder]]\nname='INBOX'\nfrom='('\n",
        )
        .unwrap();
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("`from` = '('"), "{e}");
    }
}
