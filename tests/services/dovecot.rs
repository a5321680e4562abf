//! A private Dovecot for one test: config, users file and Maildir under a temp dir, a free port,
//! plain auth on 127.0.0.1 (DESIGN.md §3), stopped by its PID on drop. Starts in tens of ms, so
//! every test gets its own and tests run in parallel.
//!
//! Also the mail side of the tests: an IMAP client to seed mail with APPEND and read the mailbox
//! back, and small MIME builders.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;

pub const USER: &str = "ap@example.test";
pub const PASSWORD: &str = "secret";

pub struct Dovecot {
    pub port: u16,
    /// The implicit-TLS port, when started with TLS (`start_tls`).
    pub imaps_port: Option<u16>,
    /// The CA that signed the server certificate (for `tls_ca_file`), when started with TLS.
    pub ca: Option<std::path::PathBuf>,
    pub dir: tempfile::TempDir,
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

impl Dovecot {
    /// Starts Dovecot without TLS; `extra_mailboxes` are auto-created beside INBOX.
    pub fn start(extra_mailboxes: &[&str]) -> Dovecot {
        Self::start_with(extra_mailboxes, false, "")
    }

    /// Starts Dovecot without TLS, with extra configuration lines (e.g. `imap_capability`).
    pub fn start_conf(extra_mailboxes: &[&str], extra_conf: &str) -> Dovecot {
        Self::start_with(extra_mailboxes, false, extra_conf)
    }

    /// Starts Dovecot with a certificate for 127.0.0.1 signed by a fresh test CA: STARTTLS on
    /// `port`, implicit TLS on `imaps_port`.
    pub fn start_tls(extra_mailboxes: &[&str]) -> Dovecot {
        Self::start_with(extra_mailboxes, true, "")
    }

    fn start_with(extra_mailboxes: &[&str], tls: bool, extra_conf: &str) -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let _ = Command::new("chown")
            .args(["65534:65534", &format!("{d}/mail")])
            .status();
        std::fs::write(
            dir.path().join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let mailboxes: String = extra_mailboxes
            .iter()
            .map(|m| format!("  mailbox \"{m}\" {{\n    auto = subscribe\n  }}\n"))
            .collect();
        let port = free_port();
        let imaps_port = if tls { free_port() } else { 0 };
        let ssl = if tls {
            make_certificates(dir.path());
            format!("ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n")
        } else {
            "ssl = no\n".to_string()
        };
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nmail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={d}/mail/%u\n}}\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n{mailboxes}}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n  }}\n}}\n\
             protocol imap {{\n  mail_max_userip_connections = 100\n}}\n{extra_conf}\n"
        );
        std::fs::write(dir.path().join("dovecot.conf"), conf).unwrap();
        let child = Command::new("dovecot")
            .args(["-F", "-c", &format!("{d}/dovecot.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot is installed (Debian dovecot-imapd)");
        let ca = tls.then(|| dir.path().join("ca.pem"));
        let imaps_port = tls.then_some(imaps_port);
        let dv = Dovecot {
            port,
            imaps_port,
            ca,
            dir,
            child,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return dv;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = std::fs::read_to_string(dv.dir.path().join("dovecot.log")).unwrap_or_default();
        panic!("dovecot did not start on port {port}:\n{log}");
    }

    /// A logged-in client session.
    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// APPENDs messages to `mailbox`.
    pub async fn append(&self, mailbox: &str, messages: &[Vec<u8>]) {
        let mut s = self.session().await;
        for m in messages {
            s.append(mailbox, None, None, m).await.unwrap();
        }
        s.logout().await.unwrap();
    }

    /// UIDs in `mailbox` matching `criteria`, and the mailbox's UIDVALIDITY.
    pub async fn search(&self, mailbox: &str, criteria: &str) -> (Vec<u32>, u32) {
        let mut s = self.session().await;
        let mb = s.select(mailbox).await.unwrap();
        let mut uids: Vec<u32> = s.uid_search(criteria).await.unwrap().into_iter().collect();
        uids.sort_unstable();
        s.logout().await.unwrap();
        (uids, mb.uid_validity.unwrap())
    }

    /// Seen flags of every message in `mailbox`.
    pub async fn seen_count(&self, mailbox: &str) -> usize {
        self.search(mailbox, "SEEN").await.0.len()
    }

    pub async fn command(&self, commands: &[&str]) {
        let mut s = self.session().await;
        for c in commands {
            s.run_command_and_check_ok(c).await.unwrap();
        }
        s.logout().await.unwrap();
    }

    /// Copies every message of `from` into `to` (used to rebuild a folder with a new UIDVALIDITY).
    pub async fn copy_all(&self, from: &str, to: &str) {
        let mut s = self.session().await;
        s.select(from).await.unwrap();
        s.uid_copy("1:*", to).await.unwrap();
        let _: Vec<_> = s
            .uid_fetch("1:*", "UID")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        s.logout().await.unwrap();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=facteur test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children (imap, auth) too.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 with line breaks every 76 characters.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 * 2 + 4);
    for (i, c) in bytes.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An attachment: a Content-Type and a Content-Disposition parameter list, already encoded.
pub struct Attachment {
    pub content_type: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    pub fn named(name: &str, content_type: &str, bytes: Vec<u8>) -> Attachment {
        Attachment {
            content_type: format!("{content_type}; name=\"{name}\""),
            disposition: format!("attachment; filename=\"{name}\""),
            bytes,
        }
    }
}

/// A multipart/mixed message with a text body and the attachments.
pub fn message(n: usize, from: &str, subject: &str, attachments: &[Attachment]) -> Vec<u8> {
    let boundary = format!("=_facteur_{n}");
    let mut m = format!(
        "From: Fournisseur <{from}>\r\nTo: {USER}\r\nSubject: {subject}\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <test-{n}@fournisseur.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVeuillez trouver ci-joint notre facture.\r\n"
    );
    for a in attachments {
        m.push_str(&format!(
            "--{boundary}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: {}\r\n\r\n{}\r\n",
            a.content_type,
            a.disposition,
            base64(&a.bytes)
        ));
    }
    m.push_str(&format!("--{boundary}--\r\n"));
    m.into_bytes()
}
