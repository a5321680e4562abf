//! OAuth2 for XOAUTH2 logins: trade the refresh token for an access token at the provider's token
//! endpoint, keep the refresh token the provider rotates to (in the store: the old one stops
//! working), and raise an alert (log + `facteur mail status`) when refreshing fails.
//!
//! A deliberately small HTTP/1.0 client (one POST, `Connection: close`, no chunked bodies) over
//! tokio and tokio-rustls, so no HTTP stack joins the build for one request per connection.
//! Tested against a local token endpoint and through Dovecot's oauth2 passdb (tests/it/imap/oauth.rs);
//! never against Google or Microsoft from here.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use super::config::OAuth2Config;
use super::connection::Secret;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("token_url '{0}' is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("cannot read the {what}: {why}")]
    Secret { what: &'static str, why: String },
    #[error("token endpoint {url}: {why}")]
    Http { url: String, why: String },
    #[error("token endpoint {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
}

fn read_secret(
    env: &Option<String>,
    file: &Option<std::path::PathBuf>,
    what: &'static str,
) -> Result<Option<String>, OAuthError> {
    if let Some(var) = env {
        return std::env::var(var)
            .map(Some)
            .map_err(|_| OAuthError::Secret {
                what,
                why: format!("environment variable {var} is not set"),
            });
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| OAuthError::Secret {
            what,
            why: format!("{}: {e}", path.display()),
        })?;
        return Ok(Some(text.lines().next().unwrap_or("").trim().to_string()));
    }
    Ok(None)
}

/// Form-encodes one value.
fn form(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One lock per account and token endpoint: refreshes run one at a time in this process, so IDLE
/// watchers reconnecting together never spend the same refresh token twice (providers that rotate
/// it revoke the old one on first use); each refresh reads the token the previous one saved.
fn refresh_lock(cfg: &OAuth2Config, account: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::OnceLock::new();
    let key = format!("{account}\u{1}{}", cfg.token_url);
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key).or_default().clone()
}

/// A fresh access token for `account`; persists a rotated refresh token; records the outcome.
pub async fn access_token(
    cfg: &OAuth2Config,
    account: &str,
    store: &dyn Store,
) -> Result<Secret, OAuthError> {
    let lock = refresh_lock(cfg, account);
    let _one_at_a_time = lock.lock().await;
    let result = refresh(cfg, account, store).await;
    match &result {
        Ok(_) => store.mail_auth_result(account, None).await?,
        Err(e) => {
            tracing::error!(source = account, error = %e, "OAuth2 refresh failed: mail cannot be fetched until it works");
            // Best effort: the store may be the failure.
            let _ = store.mail_auth_result(account, Some(&e.to_string())).await;
        }
    }
    result
}

async fn refresh(
    cfg: &OAuth2Config,
    account: &str,
    store: &dyn Store,
) -> Result<Secret, OAuthError> {
    let refresh_token = match store.mail_refresh_token(account).await? {
        Some(t) => t,
        None => read_secret(
            &cfg.refresh_token_env,
            &cfg.refresh_token_file,
            "refresh token",
        )?
        .ok_or(OAuthError::Secret {
            what: "refresh token",
            why: "set refresh_token_env or refresh_token_file".into(),
        })?,
    };
    let secret = read_secret(
        &cfg.client_secret_env,
        &cfg.client_secret_file,
        "client secret",
    )?;
    let mut body = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        form(&refresh_token),
        form(&cfg.client_id)
    );
    if let Some(s) = secret {
        body.push_str(&format!("&client_secret={}", form(&s)));
    }
    if let Some(scope) = &cfg.scope {
        body.push_str(&format!("&scope={}", form(scope)));
    }
    let (status, text) = tokio::time::timeout(Duration::from_secs(30), post(&cfg.token_url, &body))
        .await
        .map_err(|_| OAuthError::Http {
            url: cfg.token_url.clone(),
            why: "no answer within 30 s".into(),
        })??;
    if status != 200 {
        // Provider errors (`invalid_grant`) carry no secret; keep them short for the status view.
        return Err(OAuthError::Refused {
            url: cfg.token_url.clone(),
            status,
            body: text.chars().take(300).collect(),
        });
    }
    let parsed: TokenResponse = serde_json::from_str(&text).map_err(|e| OAuthError::Http {
        url: cfg.token_url.clone(),
        why: format!("the answer is not a token response: {e}"),
    })?;
    if let Some(new) = parsed.refresh_token.filter(|n| *n != refresh_token) {
        store.mail_save_refresh_token(account, &new).await?;
        tracing::info!(
            source = account,
            "the provider rotated the refresh token; kept the new one"
        );
    }
    Ok(Secret::new(parsed.access_token))
}

async fn post(url: &str, body: &str) -> Result<(u16, String), OAuthError> {
    let bad = || OAuthError::BadUrl(url.to_string());
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let (hostport, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (hostport, if tls { 443 } else { 80 }),
    };
    let http = |why: String| OAuthError::Http {
        url: url.to_string(),
        why,
    };
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| http(e.to_string()))?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = if tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| http(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|_| bad())?;
        let s = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| http(e.to_string()))?;
        exchange(s, &request).await
    } else {
        exchange(tcp, &request).await
    }
    .map_err(|e| http(e.to_string()))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| http("no HTTP header".into()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            http(format!(
                "bad status line '{}'",
                head.lines().next().unwrap_or("")
            ))
        })?;
    Ok((status, body.to_string()))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> std::io::Result<Vec<u8>> {
    s.write_all(request.as_bytes()).await?;
    s.flush().await?;
    let mut out = Vec::new();
    // A token answer is small; a megabyte is a broken or hostile endpoint.
    (&mut s).take(1 << 20).read_to_end(&mut out).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A token endpoint that rotates the refresh token once, then refuses the old one.
    async fn endpoint() -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", l.local_addr().unwrap());
        let h = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let (status, body) = if req.contains("refresh_token=first") && seen.is_empty() {
                    (
                        "200 OK",
                        r#"{"access_token":"at1","refresh_token":"second","expires_in":3600}"#,
                    )
                } else if req.contains("refresh_token=second") {
                    ("200 OK", r#"{"access_token":"at2","expires_in":3600}"#)
                } else {
                    ("400 Bad Request", r#"{"error":"invalid_grant"}"#)
                };
                seen.push(req);
                let resp =
                    format!("HTTP/1.0 {status}\r\nContent-Type: application/json\r\n\r\n{body}");
                s.write_all(resp.as_bytes()).await.unwrap();
            }
            seen
        });
        (url, h)
    }

    #[tokio::test]
    async fn rotated_refresh_tokens_are_kept_and_failures_alert() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = crate::store::open(&url, 2).await.unwrap();
        let (token_url, server) = endpoint().await;
        let rt = dir.path().join("rt");
        std::fs::write(&rt, "first\n").unwrap();
        let cfg = OAuth2Config {
            token_url,
            client_id: "facteur".into(),
            client_secret_env: None,
            client_secret_file: None,
            refresh_token_env: None,
            refresh_token_file: Some(rt),
            scope: Some("https://mail.google.com/".into()),
        };
        let t1 = access_token(&cfg, "ap", store.as_ref()).await.unwrap();
        assert_eq!(t1.expose(), "at1");
        assert_eq!(format!("{t1:?}"), "***");
        assert_eq!(
            store.mail_refresh_token("ap").await.unwrap().as_deref(),
            Some("second")
        );
        // The stored (rotated) token wins over the file's first one.
        let t2 = access_token(&cfg, "ap", store.as_ref()).await.unwrap();
        assert_eq!(t2.expose(), "at2");
        // The provider revokes it: an alert in status.
        store
            .mail_save_refresh_token("ap", "revoked")
            .await
            .unwrap();
        let e = access_token(&cfg, "ap", store.as_ref()).await.unwrap_err();
        assert!(e.to_string().contains("invalid_grant"), "{e}");
        let status = store.mail_status().await.unwrap();
        let acct = status.accounts.iter().find(|a| a.account == "ap").unwrap();
        assert!(acct
            .auth_error
            .as_deref()
            .unwrap_or("")
            .contains("invalid_grant"));
        let seen = server.await.unwrap();
        assert!(seen[0].contains("grant_type=refresh_token"));
        assert!(seen[0].contains("scope=https%3A%2F%2Fmail.google.com%2F"));
    }
}
