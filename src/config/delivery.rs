//! `[smtp]` (how approval mail leaves) and `[web]` (where approvers' links point and the server
//! that answers them). Field doc comments are the manual; `problems` lists what types cannot say,
//! by key, for `Settings::check` to place at file:line:column.

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::approval::Lang;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Implicit TLS (usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, required (usually port 587).
    #[default]
    Starttls,
    /// No encryption: only to a server on this machine (127.0.0.1, ::1, localhost).
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default: 465 with `tls`, 587 with `starttls`, 25 with `none`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The sender address of approval mail, e.g. `facteur <ap@example.com>`.
    pub from: String,
    /// Login, when the server wants one; the password comes from `password_env` or `password_file`.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Relative to facteur.toml's folder.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A document larger than this is not attached (the mail says so and links to it), MiB.
    #[serde(default = "default_max_attachment_mb")]
    pub max_attachment_mb: u64,
    /// Seconds before a connection or a command is given up (the mail is retried later).
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
}

fn default_max_attachment_mb() -> u64 {
    10
}
fn default_smtp_timeout() -> u64 {
    30
}

impl SmtpSettings {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::None => 25,
        })
    }

    fn is_loopback(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// (key, message, hint) for each problem.
    pub fn problems(&self) -> Vec<(&'static str, String, Option<&'static str>)> {
        let mut out = Vec::new();
        if self.security == SmtpSecurity::None && !self.is_loopback() {
            out.push((
                "security",
                format!("smtp.security = \"none\" sends mail unencrypted, allowed only to this machine, not to '{}'", self.host),
                Some("use security = \"starttls\" or \"tls\""),
            ));
        }
        if !self.from.contains('@') {
            out.push((
                "from",
                format!("smtp.from '{}' is not an address", self.from),
                Some("from = \"facteur <ap@example.com>\""),
            ));
        }
        if self.password_env.is_some() && self.password_file.is_some() {
            out.push((
                "password_env",
                "smtp.password_env and password_file: write one of them".into(),
                None,
            ));
        }
        if self.user.is_none() && (self.password_env.is_some() || self.password_file.is_some()) {
            out.push(("user", "a password is given but no smtp.user".into(), None));
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Address the approval pages are served on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The base of every link in a mail, as approvers reach the server (a reverse proxy's
    /// https URL in production).
    #[serde(default = "default_public_url")]
    pub public_url: String,
    /// Language of mail and pages for approvers without their own `lang`.
    #[serde(default)]
    pub lang: Lang,
    /// Days an approval link stays valid.
    #[serde(default = "default_link_days")]
    pub link_days: u32,
    /// At or above this gross, an approval link decides only for its approver signed in to the
    /// dashboard (`facteur users add`): the confirmation page asks them to sign in first.
    #[serde(default)]
    pub login_above: Option<Decimal>,
    /// Roles that sign in to the dashboard only with a second factor (TOTP).
    #[serde(default = "default_require_2fa")]
    pub require_2fa: Vec<crate::users::Role>,
}

fn default_require_2fa() -> Vec<crate::users::Role> {
    vec![crate::users::Role::Admin, crate::users::Role::Accountant]
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_public_url() -> String {
    "http://127.0.0.1:8080".into()
}
fn default_link_days() -> u32 {
    7
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: default_listen(),
            public_url: default_public_url(),
            lang: Lang::default(),
            link_days: default_link_days(),
            login_above: None,
            require_2fa: default_require_2fa(),
        }
    }
}

impl WebSettings {
    /// `public_url` without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    pub fn problems(&self) -> Vec<(&'static str, String, Option<&'static str>)> {
        let mut out = Vec::new();
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            out.push((
                "listen",
                format!("web.listen '{}' is not an address and port", self.listen),
                Some("listen = \"127.0.0.1:8080\""),
            ));
        }
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            out.push((
                "public_url",
                format!("web.public_url '{}' is not an http(s) URL", self.public_url),
                Some("public_url = \"https://facteur.example.com\""),
            ));
        }
        if !(1..=90).contains(&self.link_days) {
            out.push((
                "link_days",
                format!("web.link_days {} is outside 1–90", self.link_days),
                None,
            ));
        }
        if self.login_above.is_some_and(|a| a.is_sign_negative()) {
            out.push((
                "login_above",
                "web.login_above is negative".into(),
                Some("login_above = \"10000.00\""),
            ));
        }
        out
    }
}
