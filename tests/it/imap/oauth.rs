//! XOAUTH2 end to end: the refresh token traded at a local token endpoint (which rotates it), the
//! access token presented to Dovecot's oauth2 passdb (which checks it at the same local server),
//! mail taken; then the provider revokes the refresh token and `mail status` raises the alert.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// Reads one HTTP request (head + Content-Length body).
async fn read_request(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// Token endpoint + token info for Dovecot. Rotates `first` → `second` once; `revoked` flips all off.
async fn provider(revoked: Arc<AtomicBool>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let revoked = revoked.clone();
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                let line = req.lines().next().unwrap_or("").to_string();
                let off = revoked.load(Ordering::SeqCst);
                let (status, body) = if line.starts_with("POST /token") {
                    if off {
                        (
                            "400 Bad Request",
                            r#"{"error":"invalid_grant"}"#.to_string(),
                        )
                    } else if req.contains("refresh_token=first") {
                        (
                            "200 OK",
                            r#"{"access_token":"tok-1","refresh_token":"second"}"#.to_string(),
                        )
                    } else if req.contains("refresh_token=second") {
                        ("200 OK", r#"{"access_token":"tok-2"}"#.to_string())
                    } else {
                        (
                            "400 Bad Request",
                            r#"{"error":"invalid_grant"}"#.to_string(),
                        )
                    }
                } else if line.contains("/tokeninfo?access_token=tok-") && !off {
                    (
                        "200 OK",
                        format!(r#"{{"username":"{USER}","active":"true"}}"#),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error":"invalid_token"}"#.to_string(),
                    )
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_login_with_a_rotating_refresh_token() {
    let revoked = Arc::new(AtomicBool::new(false));
    let port = provider(revoked.clone()).await;
    let oauth_conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        oauth_conf.path(),
        format!(
            "tokeninfo_url = http://127.0.0.1:{port}/tokeninfo?access_token=\n\
             username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        ),
    )
    .unwrap();
    let dv = Dovecot::start_conf(
        &["Processed"],
        &format!(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
            oauth_conf.path().display()
        ),
    );
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    let rt = dv.dir.path().join("refresh-token");
    std::fs::write(&rt, "first\n").unwrap();
    let text = format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\n\
         [oauth2]\ntoken_url = \"http://127.0.0.1:{port}/token\"\nclient_id = \"facteur\"\n\
         refresh_token_file = \"{}\"\n",
        dv.port,
        rt.display()
    );
    let cfg: ImapConfig = toml::from_str(&text).unwrap();
    let c = ctx(store.clone(), 100);

    dv.append("INBOX", &[docs.invoice_mail(0).0]).await;
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1);
    assert_eq!(
        store.mail_refresh_token("ap").await.unwrap().as_deref(),
        Some("second")
    );
    // The rotated token (now in the store) logs in again; the file's first one is spent.
    dv.append("INBOX", &[docs.invoice_mail(1).0]).await;
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1);
    assert_eq!(store.counts().await.unwrap().documents, 1 + 2);

    // Dovecot really asked the provider about the token.
    let log = std::fs::read_to_string(dv.dir.path().join("dovecot.log")).unwrap_or_default();
    assert!(
        log.contains("Login: user=<ap@example.test>, method=XOAUTH2"),
        "{log}"
    );

    revoked.store(true, Ordering::SeqCst);
    let e = format!("{:#}", check_once(&cfg, &c).await.unwrap_err());
    assert!(e.contains("invalid_grant"), "{e}");
    let status = store.mail_status().await.unwrap();
    let alert = facteur::cli::mail::render(&status);
    assert!(
        alert.contains("ALERT ap: OAuth2 refresh failing"),
        "{alert}"
    );
}
