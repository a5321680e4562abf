//! XOAUTH2 end to end: the refresh token traded at a local token endpoint (which rotates it), the
//! access token presented to Dovecot's oauth2 passdb (which checks it at the same local server),
//! mail taken; then the provider revokes the refresh token and `mail status` raises the alert.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// Token endpoint + token info for Dovecot. Strict rotation (as Microsoft may do): each refresh
/// token works once and the answer carries the next (`first` → `second` → `third` → `r4` …);
/// `revoked` flips all off.
async fn provider(revoked: Arc<AtomicBool>) -> (u16, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let refreshes = Arc::new(AtomicUsize::new(0));
    let counter = refreshes.clone();
    let current = Arc::new(std::sync::Mutex::new((1u32, "first".to_string())));
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let (revoked, current, counter) = (revoked.clone(), current.clone(), counter.clone());
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                let line = req.lines().next().unwrap_or("").to_string();
                let off = revoked.load(Ordering::SeqCst);
                if line.starts_with("POST /token") {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let (status, body) = if line.starts_with("POST /token") {
                    if off {
                        (
                            "400 Bad Request",
                            r#"{"error":"invalid_grant"}"#.to_string(),
                        )
                    } else if let Some(n) = {
                        let mut cur = current.lock().unwrap();
                        let hit = req.contains(&format!("refresh_token={}&", cur.1));
                        hit.then(|| {
                            cur.0 += 1;
                            cur.1 = match cur.0 {
                                2 => "second".to_string(),
                                3 => "third".to_string(),
                                k => format!("r{k}"),
                            };
                            (cur.0, cur.1.clone())
                        })
                    } {
                        (
                            "200 OK",
                            format!(
                                r#"{{"access_token":"tok-{}","refresh_token":"{}"}}"#,
                                n.0, n.1
                            ),
                        )
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
    (port, refreshes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_login_with_a_rotating_refresh_token() {
    let revoked = Arc::new(AtomicBool::new(false));
    let (port, _) = provider(revoked.clone()).await;
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

/// IDLE watchers log in with the fetching session's token instead of each spending the refresh
/// token at once (which a strictly rotating provider would revoke); mail in the third folder
/// arrives by IDLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_with_idle_on_three_folders() {
    let (port, refreshes) = provider(Arc::new(AtomicBool::new(false))).await;
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
        &["Processed", "A", "B"],
        &format!(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
            oauth_conf.path().display()
        ),
    );
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let rt = dv.dir.path().join("refresh-token");
    std::fs::write(&rt, "first\n").unwrap();
    let cfg: ImapConfig = toml::from_str(&format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\n\
         poll_interval_secs = 120\nfull_check_secs = 600\nlease_secs = 90\n\
         [oauth2]\ntoken_url = \"http://127.0.0.1:{port}/token\"\nclient_id = \"facteur\"\n\
         refresh_token_file = \"{}\"\n\
         [[folder]]\nname = \"INBOX\"\n[[folder]]\nname = \"A\"\n[[folder]]\nname = \"B\"\n",
        dv.port,
        rt.display()
    ))
    .unwrap();
    let c = ctx(store.clone(), 100);
    let stop = c.shutdown.clone();
    let task = tokio::spawn(Box::new(ImapSource::new(cfg)).run(c));
    wait_for("the first check of three folders", 30, async || {
        let s = store.mail_status().await.unwrap();
        s.folders.len() == 3 && s.folders.iter().all(|f| f.last_success_at.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mail, n) = Docs::load().invoice_mail(4);
    dv.append("B", &[mail]).await;
    wait_for("the IDLE wake-up on the third folder", 5, async || {
        store.counts().await.unwrap().documents == n as i64
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let status = store.mail_status().await.unwrap();
    assert!(
        status.accounts.iter().all(|a| a.auth_error.is_none()),
        "{:?}",
        status.accounts
    );
    assert!(status.folders.iter().all(|f| f.last_error.is_none()));
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for the session and its three watchers"
    );
}
