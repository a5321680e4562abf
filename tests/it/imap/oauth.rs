//! XOAUTH2 end to end: the refresh token traded at a local HTTPS token endpoint (self-signed
//! certificate made in the test, trusted through `ca_file`; it rotates the token), the access token
//! presented to Dovecot's oauth2 passdb (which checks it at the same provider's plain-HTTP token
//! info port), mail taken; then the provider revokes the refresh token and `mail status` raises
//! the alert. An `http://` token URL is refused when the config loads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::*;
use crate::tls::SelfSigned;

/// Reads one HTTP request (head + Content-Length body).
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> String {
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

/// The provider as the tests see it: the token endpoint (HTTPS, for facteur), the token info
/// endpoint (plain HTTP on another port, for Dovecot), the certificate to trust, and every token
/// request it received.
pub(super) struct Provider {
    pub https_port: u16,
    pub http_port: u16,
    pub cert: SelfSigned,
    pub refreshes: Arc<AtomicUsize>,
    pub requests: Arc<std::sync::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct State {
    revoked: Arc<AtomicBool>,
    current: Arc<std::sync::Mutex<(u32, String)>>,
    refreshes: Arc<AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Access tokens are `at-SECRET-<n>`, refresh tokens `rt-SECRET-<name>`: distinctive, so tests can
/// look for them in logs.
pub(super) fn refresh_token(n: u32) -> String {
    match n {
        1 => "rt-SECRET-first".into(),
        2 => "rt-SECRET-second".into(),
        3 => "rt-SECRET-third".into(),
        k => format!("rt-SECRET-r{k}"),
    }
}

/// One request, one answer. Strict rotation (as Microsoft may do): each refresh token works once
/// and the answer carries the next; `revoked` flips all off.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, st: State) {
    let req = read_request(&mut s).await;
    let line = req.lines().next().unwrap_or("").to_string();
    let off = st.revoked.load(Ordering::SeqCst);
    let invalid_grant = || {
        (
            "400 Bad Request",
            r#"{"error":"invalid_grant"}"#.to_string(),
        )
    };
    let (status, body) = if line.starts_with("POST /token") {
        st.refreshes.fetch_add(1, Ordering::SeqCst);
        st.requests.lock().unwrap().push(req.clone());
        let next = {
            let mut cur = st.current.lock().unwrap();
            let hit = req.contains(&format!("refresh_token={}&", cur.1));
            hit.then(|| {
                cur.0 += 1;
                cur.1 = refresh_token(cur.0);
                (cur.0, cur.1.clone())
            })
        };
        match next {
            Some((n, rt)) if !off => (
                "200 OK",
                format!(r#"{{"access_token":"at-SECRET-{n}","refresh_token":"{rt}"}}"#),
            ),
            _ => invalid_grant(),
        }
    } else if line.contains("/tokeninfo?access_token=at-SECRET-") && !off {
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
}

/// Starts the provider; it serves until the test's runtime ends.
pub(super) async fn provider(revoked: Arc<AtomicBool>) -> Provider {
    let dir = tempfile::tempdir().unwrap();
    let cert = SelfSigned::new(dir.path());
    let acceptor = cert.acceptor();
    let https = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let st = State {
        revoked,
        current: Arc::new(std::sync::Mutex::new((1, refresh_token(1)))),
        refreshes: Arc::new(AtomicUsize::new(0)),
        requests: Arc::new(std::sync::Mutex::new(Vec::new())),
    };
    let provider = Provider {
        https_port: https.local_addr().unwrap().port(),
        http_port: http.local_addr().unwrap().port(),
        cert,
        refreshes: st.refreshes.clone(),
        requests: st.requests.clone(),
        _dir: dir,
    };
    let st2 = st.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = https.accept().await {
            let (acceptor, st) = (acceptor.clone(), st2.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    answer(tls, st).await;
                }
            });
        }
    });
    tokio::spawn(async move {
        while let Ok((s, _)) = http.accept().await {
            tokio::spawn(answer(s, st.clone()));
        }
    });
    provider
}

/// Dovecot with the oauth2 passdb asking `p`'s token info endpoint; `mailboxes` beside INBOX.
pub(super) fn dovecot_oauth2(
    p: &Provider,
    mailboxes: &[&str],
) -> (Dovecot, tempfile::NamedTempFile) {
    let oauth_conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        oauth_conf.path(),
        format!(
            "tokeninfo_url = http://127.0.0.1:{}/tokeninfo?access_token=\n\
             username_attribute = username\nactive_attribute = active\nactive_value = true\n",
            p.http_port
        ),
    )
    .unwrap();
    let dv = Dovecot::start_conf(
        mailboxes,
        &format!(
            "auth_mechanisms = plain login xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
            oauth_conf.path().display()
        ),
    );
    (dv, oauth_conf)
}

/// The `[oauth2]` table for `p`, with the first refresh token in `rt_file`.
pub(super) fn oauth2_table(p: &Provider, rt_file: &std::path::Path) -> String {
    format!(
        "[oauth2]\ntoken_url = \"https://127.0.0.1:{}/token\"\nclient_id = \"facteur\"\n\
         scope = \"https://mail.google.com/\"\nrefresh_token_file = \"{}\"\nca_file = \"{}\"\n",
        p.https_port,
        rt_file.display(),
        p.cert.cert_path.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_login_with_a_rotating_refresh_token() {
    let revoked = Arc::new(AtomicBool::new(false));
    let p = provider(revoked.clone()).await;
    let (dv, _conf) = dovecot_oauth2(&p, &["Processed"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    let rt = dv.dir.path().join("refresh-token");
    std::fs::write(&rt, format!("{}\n", refresh_token(1))).unwrap();
    let text = format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\n{}",
        dv.port,
        oauth2_table(&p, &rt)
    );
    let cfg: ImapConfig = toml::from_str(&text).unwrap();
    let c = ctx(store.clone(), 100);

    dv.append("INBOX", &[docs.invoice_mail(0).0]).await;
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 1);
    assert_eq!(
        store.mail_refresh_token("ap").await.unwrap(),
        Some(refresh_token(2))
    );
    // The form is encoded by the client (the scope's reserved characters included).
    let first = p.requests.lock().unwrap()[0].clone();
    assert!(first.contains("grant_type=refresh_token"), "{first}");
    assert!(
        first.contains("scope=https%3A%2F%2Fmail.google.com%2F"),
        "{first}"
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

/// Without `ca_file` the self-signed provider is not trusted: the refresh fails with the TLS
/// reason, and nothing is sent in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_token_endpoint_is_refused() {
    let p = provider(Arc::new(AtomicBool::new(false))).await;
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let rt = dir.path().join("rt");
    std::fs::write(&rt, format!("{}\n", refresh_token(1))).unwrap();
    let table = oauth2_table(&p, &rt);
    let table: String = table
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let cfg: ImapConfig = toml::from_str(&format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nuser = \"{USER}\"\n{table}"
    ))
    .unwrap();
    let o = cfg.oauth2.as_ref().unwrap();
    let e = facteur::sources::imap::oauth2::access_token(o, "ap", store.as_ref())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert_eq!(
        p.refreshes.load(Ordering::SeqCst),
        0,
        "no request got through"
    );
}

/// `http://` token URLs are refused when the config loads, at the key's line and column.
#[test]
fn an_http_token_url_is_refused_at_load_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    let main = dir.path().join("facteur.toml");
    std::fs::write(&main, "").unwrap();
    std::fs::write(
        dir.path().join("pipelines/mail.toml"),
        "[[source]]\ntype = \"imap\"\nname = \"ap\"\nhost = \"h\"\nuser = \"u\"\n\
         [source.oauth2]\nclient_id = \"facteur\"\nrefresh_token_env = \"RT\"\n\
         token_url = \"http://login.example.com/token\"\n",
    )
    .unwrap();
    let e = facteur::config::Settings::load(&main, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mail.toml:9:1: source ap: [source.oauth2] token_url must be an https:// URL"),
        "{e}"
    );
}

/// IDLE watchers log in with the fetching session's token instead of each spending the refresh
/// token at once (which a strictly rotating provider would revoke); mail in the third folder
/// arrives by IDLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_with_idle_on_three_folders() {
    let p = provider(Arc::new(AtomicBool::new(false))).await;
    let (dv, _conf) = dovecot_oauth2(&p, &["Processed", "A", "B"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let rt = dv.dir.path().join("refresh-token");
    std::fs::write(&rt, format!("{}\n", refresh_token(1))).unwrap();
    let cfg: ImapConfig = toml::from_str(&format!(
        "name = \"ap\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"{USER}\"\n\
         poll_interval_secs = 120\nfull_check_secs = 600\nlease_secs = 90\n\
         [[folder]]\nname = \"INBOX\"\n[[folder]]\nname = \"A\"\n[[folder]]\nname = \"B\"\n{}",
        dv.port,
        oauth2_table(&p, &rt)
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
        p.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for the session and its three watchers"
    );
}
