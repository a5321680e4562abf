//! Connecting and logging in: TCP, then TLS (tokio-rustls with the webpki roots), STARTTLS, or
//! plain for a local test server; the greeting is read before anything is sent (servers that get
//! LOGIN before their greeting drop the connection), then LOGIN or AUTHENTICATE XOAUTH2.
//!
//! Passwords and tokens travel as `Secret` (`crate::secret::SecretString`), whose `Debug` prints `***`.
//! One leak is outside this crate: async-imap writes every command, LOGIN and AUTHENTICATE
//! included, at `log` TRACE level; the logging set-up (cli/logging.rs) drops those records behind
//! a filter no `--log-level` can override (tested at trace against Dovecot, tests/it/imap/secrets.rs).

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::config::{ImapConfig, Security};

pub use crate::secret::SecretString as Secret;

/// How to log in.
#[derive(Debug, Clone)]
pub enum Credentials {
    Password(Secret),
    /// XOAUTH2 with this access token.
    Bearer(Secret),
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach {addr}: {source}")]
    Tcp {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {host} failed: {why}")]
    Tls { host: String, why: String },
    #[error("{host} did not greet: {why}")]
    Greeting { host: String, why: String },
    #[error("{host} refused STARTTLS: {why}")]
    Starttls { host: String, why: String },
    #[error("login as {user} on {host} refused: {why}")]
    Login {
        user: String,
        host: String,
        why: String,
    },
    #[error("{what} on {host} took longer than {secs} s")]
    Timeout {
        what: &'static str,
        host: String,
        secs: u64,
    },
    #[error("cannot read the password of source {source_name}: {why}")]
    Secret { source_name: String, why: String },
}

/// The byte stream under the IMAP session.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<ImapStream>;
type Client = async_imap::Client<ImapStream>;

/// Reads the password from the environment or its file.
pub fn password(cfg: &ImapConfig) -> Result<Secret, ConnectError> {
    let err = |why: String| ConnectError::Secret {
        source_name: cfg.name.clone(),
        why,
    };
    if let Some(var) = &cfg.password_env {
        return std::env::var(var)
            .map(Secret::new)
            .map_err(|_| err(format!("environment variable {var} is not set")));
    }
    if let Some(file) = &cfg.password_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| err(format!("cannot read {}: {e}", file.display())))?;
        return Ok(Secret::new(text.lines().next().unwrap_or("")));
    }
    Err(err("no password_env or password_file".into()))
}

fn tls_connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read tls_ca_file {}: {e}", path.display()))?;
        let mut n = 0;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("tls_ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("tls_ca_file {}: {e}", path.display()))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!(
                "tls_ca_file {} holds no PEM certificate",
                path.display()
            ));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn tls(
    host: &str,
    ca_file: Option<&Path>,
    tcp: TcpStream,
) -> Result<ImapStream, ConnectError> {
    let err = |why: String| ConnectError::Tls {
        host: host.to_string(),
        why,
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| err(format!("'{host}' is not a valid server name: {e}")))?;
    let stream = tls_connector(ca_file)
        .map_err(err)?
        .connect(name, tcp)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(ImapStream::Tls(Box::new(stream)))
}

async fn greet(client: &mut Client, host: &str) -> Result<(), ConnectError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ConnectError::Greeting {
            host: host.into(),
            why: "the connection closed".into(),
        }),
        Err(e) => Err(ConnectError::Greeting {
            host: host.into(),
            why: e.to_string(),
        }),
    }
}

struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
}

impl async_imap::Authenticator for &XOAuth2<'_> {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// Connects, reads the greeting, secures the line as configured, and logs in.
pub async fn connect(cfg: &ImapConfig, creds: &Credentials) -> Result<Session, ConnectError> {
    let secs = cfg.timeout_secs.max(1);
    tokio::time::timeout(Duration::from_secs(secs), connect_inner(cfg, creds))
        .await
        .map_err(|_| ConnectError::Timeout {
            what: "connecting and logging in",
            host: cfg.host.clone(),
            secs,
        })?
}

async fn connect_inner(cfg: &ImapConfig, creds: &Credentials) -> Result<Session, ConnectError> {
    let host = cfg.host.as_str();
    let addr = format!("{host}:{}", cfg.port());
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|source| ConnectError::Tcp {
            addr: addr.clone(),
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    let client = match cfg.security {
        Security::Tls => {
            let mut c = Client::new(tls(host, cfg.tls_ca_file.as_deref(), tcp).await?);
            greet(&mut c, host).await?;
            c
        }
        Security::None => {
            let mut c = Client::new(ImapStream::Plain(tcp));
            greet(&mut c, host).await?;
            c
        }
        Security::Starttls => {
            let mut c = Client::new(ImapStream::Plain(tcp));
            greet(&mut c, host).await?;
            c.run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| ConnectError::Starttls {
                    host: host.into(),
                    why: e.to_string(),
                })?;
            let ImapStream::Plain(tcp) = c.into_inner() else {
                return Err(ConnectError::Starttls {
                    host: host.into(),
                    why: "the line was already encrypted".into(),
                });
            };
            Client::new(tls(host, cfg.tls_ca_file.as_deref(), tcp).await?)
        }
    };
    let login_err = |why: String| ConnectError::Login {
        user: cfg.user.clone(),
        host: host.into(),
        why,
    };
    match creds {
        Credentials::Password(p) => client
            .login(&cfg.user, p.expose())
            .await
            .map_err(|(e, _)| login_err(e.to_string())),
        Credentials::Bearer(t) => {
            let auth = XOAuth2 {
                user: &cfg.user,
                token: t.expose(),
            };
            client
                .authenticate("XOAUTH2", &auth)
                .await
                .map_err(|(e, _)| login_err(e.to_string()))
        }
    }
}
