//! OAuth2 for XOAUTH2 logins: trade the refresh token for an access token at the provider's token
//! endpoint, keep the refresh token the provider rotates to (in the store: the old one stops
//! working), and raise an alert (log + `facteur mail status`) when refreshing fails.
//!
//! The request goes through reqwest over rustls (ring), https only: the refresh token and the
//! client secret cross it. The trusted roots are the public web roots plus the PEM file `ca_file`
//! names (a company CA; the tests' own). Tested against a local HTTPS token endpoint and through
//! Dovecot's oauth2 passdb (tests/it/imap/oauth.rs); never against Google or Microsoft from here.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio_rustls::rustls;

use super::config::OAuth2Config;
use super::connection::Secret;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("token_url '{0}' is not an https:// URL")]
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
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", cfg.client_id.as_str()),
    ];
    if let Some(s) = &secret {
        form.push(("client_secret", s.as_str()));
    }
    if let Some(scope) = &cfg.scope {
        form.push(("scope", scope.as_str()));
    }
    let (status, text) = post(cfg, &form).await?;
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

/// The roots `token_url` is checked against: the public web roots and the PEM file `ca_file`.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
        let before = roots.len();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        }
        if roots.len() == before {
            return Err(format!(
                "ca_file {} holds no PEM certificate",
                path.display()
            ));
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// A token answer is small; more than this is a broken or hostile endpoint.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// POSTs the form to `token_url` (https only, 30 s); returns the status and the body.
async fn post(cfg: &OAuth2Config, form: &[(&str, &str)]) -> Result<(u16, String), OAuthError> {
    let url = cfg.token_url.as_str();
    if !url.starts_with("https://") {
        return Err(OAuthError::BadUrl(url.to_string()));
    }
    let http = |why: String| OAuthError::Http {
        url: url.to_string(),
        why,
    };
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(cfg.ca_file.as_deref()).map_err(http)?)
        .https_only(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| http(format!("{e:#}")))?;
    let mut response = client
        .post(url)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| http(error_chain(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http(error_chain(&e)))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(http(format!("the answer is over {MAX_ANSWER_BYTES} bytes")));
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// reqwest's error with its causes (the TLS or connection reason is in the chain). reqwest never
/// puts the request body (the tokens) in its errors.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(token_url: &str) -> OAuth2Config {
        OAuth2Config {
            token_url: token_url.into(),
            client_id: "facteur".into(),
            client_secret_env: None,
            client_secret_file: None,
            refresh_token_env: None,
            refresh_token_file: None,
            scope: None,
            ca_file: None,
        }
    }

    #[tokio::test]
    async fn plain_http_is_never_used() {
        let e = post(&config("http://127.0.0.1:9/token"), &[("a", "b")])
            .await
            .unwrap_err();
        assert!(matches!(e, OAuthError::BadUrl(_)), "{e}");
    }

    #[tokio::test]
    async fn a_ca_file_without_certificates_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let mut cfg = config("https://127.0.0.1:9/token");
        cfg.ca_file = Some(ca);
        let e = post(&cfg, &[("a", "b")]).await.unwrap_err().to_string();
        assert!(e.contains("ca.pem holds no PEM certificate"), "{e}");
    }
}
