//! The REST API (issue 14) over real HTTP against the real axum server, on SQLite and PostgreSQL:
//! every endpoint; the authorisation matrix (role × scope × endpoint, no token, a revoked token,
//! a disabled user) as a table; idempotent uploads and the upload limits; problem+json for every
//! error, in English and French; cursor pages walked while documents and entries are added;
//! decisions under the emailed links' rules (whose turn, separation of duties, audited) through
//! the real reader, approval and posting stages; FEC and CSV exports; SQL and HTML in text fields
//! coming back unchanged; tokens made and revoked with the CLI; and the OpenAPI document, which
//! must list every route and pass an independent validator.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use facteur::config::Settings;
use facteur::domain::{DocumentId, DocumentState, Origin, RawDocument};
use facteur::read::sandbox::SandboxPool;
use facteur::stages::StageContext;
use facteur::store::api::NewApiToken;
use facteur::store::users::UserChange;
use facteur::store::Store;
use facteur::users::api_token::{self, Scope};
use facteur::users::{Email, Password, Role};
use facteur::worker::Worker;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_backends;
use crate::helpers::{facteur_bin, invoice_pdf, nth_invoice, TestDb};
use crate::ledger::purchase;

const PASSWORD: &str = "correct horse battery staple";
/// The company's SIREN (valid Luhn), which names the FEC.
const SIREN: &str = "552100554";

/// Two steps: the manager, then the DAF.
const TWO_STEPS: &str = r#"
[[approval.rule]]
name = "default"
steps = [ { approvers = ["manager@example.test"] }, { approvers = ["daf@example.test"] } ]
"#;

/// One answer, as read off the socket.
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        let name = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.head, self.text()))
    }

    /// Asserts an RFC 9457 problem of `status` for `path`, and returns it.
    fn problem(&self, status: u16, path: &str) -> Value {
        assert_eq!(self.status, status, "{} {}", self.head, self.text());
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            self.head
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(
            p["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:facteur:problem:")),
            "{p}"
        );
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        let bare = path.split('?').next().unwrap_or(path);
        assert_eq!(p["instance"], bare, "{p}");
        p
    }
}

/// One HTTP/1.1 request on a fresh connection. The body is written while the answer is read, so
/// a server that answers early (413) is heard.
async fn call(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Resp {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut rd, mut wr) = s.into_split();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(req.as_bytes()).await;
        let _ = wr.write_all(&body).await;
        wr
    });
    let mut out = Vec::new();
    let _ = rd.read_to_end(&mut out).await;
    drop(writer.await);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let mut body = out.get(split + 4..).unwrap_or_default().to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Resp { status, head, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

const BOUNDARY: &str = "facteur-test-7d3f0a";

/// A multipart/form-data body with the document in field `file`.
fn form(file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

fn multipart() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A PDF-looking file of about `kib` KiB, distinct per `n` (intake checks the first bytes only).
fn padded_pdf(n: usize, kib: usize) -> Vec<u8> {
    let mut b = format!("%PDF-1.4\n% padded test file {n}\n").into_bytes();
    b.resize(kib * 1024, b'%');
    b
}

/// A workspace, its store, and the web server of `facteur serve` on it.
struct Served {
    store: Arc<dyn Store>,
    settings: Settings,
    config: PathBuf,
    port: u16,
}

impl Served {
    async fn start(db: &TestDb, pipeline: &str) -> Served {
        let store = db.store().await;
        let listener = facteur::web::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ws = db.dir.path().join("ws");
        std::fs::create_dir_all(ws.join("pipelines")).unwrap();
        std::fs::write(ws.join("pipelines/default.toml"), pipeline).unwrap();
        let config = ws.join("facteur.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{}\"\n[web]\npublic_url = \"http://127.0.0.1:{port}/\"\n\
                 [company]\nname = \"Boulangerie Martin\"\nsiren = \"{SIREN}\"\n",
                db.url
            ),
        )
        .unwrap();
        let settings = Settings::load(&config, false).unwrap();
        let mut state = facteur::web::WebState::from_settings(store.clone(), &settings.web);
        state.api = facteur::web::api::ApiSettings::from_settings(&settings);
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(facteur::web::serve(listener, state, stop));
        Served {
            store,
            settings,
            config,
            port,
        }
    }

    async fn user(&self, email: &str, role: Role) -> i64 {
        let hash = Password::parse(PASSWORD).unwrap().hash().unwrap();
        self.store
            .add_user(&Email::parse(email).unwrap(), role, &hash, "test")
            .await
            .unwrap()
    }

    /// A token for `user`, as `facteur users token add` makes it: (id, text).
    async fn token(&self, user: i64, scope: Scope) -> (i64, String) {
        let (text, hash) = api_token::generate();
        let id = self
            .store
            .add_api_token(&NewApiToken {
                user,
                name: format!("{scope} test"),
                scope,
                token_hash: hash,
                shown: api_token::shown(&text),
                by: "test".into(),
            })
            .await
            .unwrap();
        (id, text)
    }

    async fn get(&self, token: Option<&str>, path: &str) -> Resp {
        self.send(token, "GET", path, &[], Vec::new()).await
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        call(self.port, method, &format!("/api/v1{path}"), &headers, body).await
    }

    async fn upload(&self, token: &str, name: &str, bytes: &[u8], key: Option<&str>) -> Resp {
        let ct = multipart();
        let mut h = vec![("Content-Type", ct.as_str())];
        if let Some(k) = key {
            h.push(("Idempotency-Key", k));
        }
        self.send(Some(token), "POST", "/documents", &h, form(name, bytes))
            .await
    }

    async fn post_json(&self, token: &str, path: &str, body: Value) -> Resp {
        self.send(
            Some(token),
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await
    }

    /// A document taken in directly (no reading), as a source would.
    async fn intake(&self, n: usize) -> DocumentId {
        let raw = RawDocument {
            bytes: nth_invoice(n),
            name: format!("invoice-{n}.pdf"),
            origin: Origin::Cli {
                path: format!("invoice-{n}.pdf"),
            },
        };
        self.store.intake(&raw).await.unwrap().document()
    }

    /// A worker whose reader children are the facteur binary (this test binary cannot be one).
    fn worker(&self) -> Worker {
        let mut w = Worker::new(&self.settings, self.store.clone());
        let mut sandbox = self.settings.read.sandbox_config();
        sandbox.program = Some(facteur_bin().into());
        sandbox.workers = 1;
        w.ctx = Arc::new(StageContext {
            store: self.store.clone(),
            sandbox: SandboxPool::new(sandbox),
            read_options: self.settings.read.read_options(),
            review_threshold: self.settings.read.review_threshold,
            dedupe: self.settings.dedupe.thresholds(),
            routing: facteur::worker::routing(&self.settings),
            company: self.settings.company.clone(),
        });
        w
    }

    /// Uploads an invoice and runs the stages on it, as `facteur run` would; returns its id.
    async fn submitted(&self, token: &str, name: &str, pdf: Vec<u8>) -> i64 {
        let up = self.upload(token, name, &pdf, None).await;
        assert_eq!(up.status, 201, "{}", up.text());
        self.run_stages().await;
        up.json()["id"].as_i64().unwrap()
    }

    async fn run_stages(&self) {
        self.worker().drain().await.unwrap();
    }

    async fn state(&self, id: i64) -> DocumentState {
        self.store
            .document(DocumentId(id))
            .await
            .unwrap()
            .summary
            .state
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(facteur_bin())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("PW", PASSWORD)
            .output()
            .expect("run facteur")
    }
}

/// What one cell of the matrix expects.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Ok(u16),
    /// 401: no token, or not a valid one.
    Auth,
    /// 403: a read token asked to write.
    Scope,
    /// 403: the role does not allow it.
    Role,
    /// 403: allowed, but the document asks nothing of this user.
    NotAsked,
}

use Want::{Auth, NotAsked, Role as R, Scope as S};
const OK: Want = Want::Ok(200);
const NEW: Want = Want::Ok(201);

/// Every route of the API (method, path as the OpenAPI document writes it).
const ROUTES: [(&str, &str); 10] = [
    ("GET", "/me"),
    ("GET", "/documents"),
    ("POST", "/documents"),
    ("GET", "/documents/{id}"),
    ("GET", "/documents/{id}/original"),
    ("POST", "/documents/{id}/approve"),
    ("POST", "/documents/{id}/reject"),
    ("GET", "/ledger/entries"),
    ("POST", "/exports"),
    ("GET", "/openapi.json"),
];

/// Columns: viewer read/write, approver read/write, accountant read/write, admin read/write,
/// no token, a revoked token, a disabled user's write token.
const MATRIX: [[Want; 11]; 10] = [
    [OK, OK, OK, OK, OK, OK, OK, OK, Auth, Auth, Auth],
    [OK, OK, OK, OK, OK, OK, OK, OK, Auth, Auth, Auth],
    [S, R, S, NEW, S, NEW, S, NEW, Auth, Auth, Auth],
    [OK, OK, OK, OK, OK, OK, OK, OK, Auth, Auth, Auth],
    [OK, OK, OK, OK, OK, OK, OK, OK, Auth, Auth, Auth],
    [
        S, R, S, NotAsked, S, NotAsked, S, NotAsked, Auth, Auth, Auth,
    ],
    [
        S, R, S, NotAsked, S, NotAsked, S, NotAsked, Auth, Auth, Auth,
    ],
    [OK, OK, OK, OK, OK, OK, OK, OK, Auth, Auth, Auth],
    [S, R, S, R, S, OK, S, OK, Auth, Auth, Auth],
    [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
];

both_backends!(
    the_authorisation_matrix_holds_for_every_role_scope_and_route,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let doc = s.intake(1).await.0;
        let mut callers: Vec<(String, Option<String>)> = Vec::new();
        for (role, name) in [
            (Role::Viewer, "viewer"),
            (Role::Approver, "approver"),
            (Role::Accountant, "accountant"),
            (Role::Admin, "admin"),
        ] {
            let u = s.user(&format!("{name}@example.test"), role).await;
            for scope in [Scope::Read, Scope::Write] {
                let (_, t) = s.token(u, scope).await;
                callers.push((format!("{name} {scope}"), Some(t)));
            }
        }
        callers.push(("no token".into(), None));
        let gone = s.user("gone@example.test", Role::Admin).await;
        let (revoked_id, revoked) = s.token(gone, Scope::Write).await;
        s.store
            .revoke_api_token(revoked_id, facteur::domain::now_micros())
            .await
            .unwrap();
        callers.push(("revoked".into(), Some(revoked)));
        let off = s.user("off@example.test", Role::Admin).await;
        let (_, disabled) = s.token(off, Scope::Write).await;
        assert_eq!(s.get(Some(&disabled), "/me").await.status, 200);
        s.store
            .update_user(
                &Email::parse("off@example.test").unwrap(),
                &UserChange {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        callers.push(("disabled user".into(), Some(disabled)));

        let mut uploads = 100;
        let mut checked = 0;
        for ((method, route), row) in ROUTES.iter().zip(MATRIX.iter()) {
            for ((who, token), want) in callers.iter().zip(row.iter()) {
                let path = route.replace("{id}", &doc.to_string());
                let r = match (*method, *route) {
                    ("POST", "/documents") => {
                        uploads += 1;
                        let ct = multipart();
                        s.send(
                            token.as_deref(),
                            "POST",
                            &path,
                            &[("Content-Type", &ct)],
                            form("m.pdf", &nth_invoice(uploads)),
                        )
                        .await
                    }
                    ("POST", "/exports") => {
                        s.send(
                            token.as_deref(),
                            "POST",
                            &path,
                            &[("Content-Type", "application/json")],
                            json!({"format": "fec", "year": 2026})
                                .to_string()
                                .into_bytes(),
                        )
                        .await
                    }
                    (m, _) => s.send(token.as_deref(), m, &path, &[], Vec::new()).await,
                };
                let at = format!("{method} {path} as {who}");
                let full = format!("/api/v1{path}");
                match want {
                    Want::Ok(code) => assert_eq!(r.status, *code, "{at}: {}", r.text()),
                    Auth => {
                        r.problem(401, &full);
                        assert!(r.header("www-authenticate").is_some(), "{at}");
                    }
                    S => {
                        let p = r.problem(403, &full);
                        assert!(
                            p["detail"].as_str().unwrap().contains("read-only"),
                            "{at}: {p}"
                        );
                    }
                    R => {
                        let p = r.problem(403, &full);
                        assert!(
                            p["detail"].as_str().unwrap().contains("role may not"),
                            "{at}: {p}"
                        );
                    }
                    NotAsked => {
                        let p = r.problem(403, &full);
                        assert!(
                            p["detail"].as_str().unwrap().contains("does not wait"),
                            "{at}: {p}"
                        );
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 110);
        // Nothing was decided, and only the allowed uploads made documents (3 of 11 callers).
        assert_eq!(s.state(doc).await, DocumentState::Received);
        assert_eq!(s.store.counts().await.unwrap().documents, 1 + 3);
        // Last use is recorded for tokens that authenticated, never for the revoked one.
        let tokens = s.store.api_tokens().await.unwrap();
        let used = |id: i64| tokens.iter().find(|t| t.id == id).unwrap().last_used_at;
        assert!(used(revoked_id).is_none());
        assert!(tokens.iter().filter(|t| t.last_used_at.is_some()).count() >= 9);
    }
);

both_backends!(
    every_endpoint_answers_what_it_documents,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let u = s.user("daf@example.test", Role::Accountant).await;
        let (_, t) = s.token(u, Scope::Write).await;
        let t = t.as_str();

        let me = s.get(Some(t), "/me").await;
        assert_eq!(me.status, 200, "{}", me.text());
        let me = me.json();
        assert_eq!(me["email"], "daf@example.test");
        assert_eq!(me["role"], "accountant");
        assert_eq!(me["scope"], "write");
        assert_eq!(me["may"], json!(["read", "upload", "decide", "export"]));

        // A 1 MiB upload: over the server's 16 KB default, under the API's 25 MB.
        let big = padded_pdf(1, 1024);
        let up = s.upload(t, "scan.pdf", &big, None).await;
        assert_eq!(up.status, 201, "{}", up.text());
        let item = up.json();
        let id = item["id"].as_i64().unwrap();
        assert_eq!(
            up.header("location"),
            Some(format!("/api/v1/documents/{id}"))
        );
        assert_eq!(item["state"], "received");
        assert_eq!(item["source"], "api");
        assert_eq!(item["file_name"], "scan.pdf");

        let orig = s.get(Some(t), &format!("/documents/{id}/original")).await;
        assert_eq!(orig.status, 200);
        assert_eq!(
            orig.header("content-type").as_deref(),
            Some("application/pdf")
        );
        assert_eq!(orig.body, big, "the original comes back byte for byte");

        let one = s.get(Some(t), &format!("/documents/{id}")).await;
        assert_eq!(one.status, 200, "{}", one.text());
        let one = one.json();
        assert_eq!(one["id"], id);
        assert_eq!(one["size"], 1024 * 1024);
        assert_eq!(one["original"], format!("/api/v1/documents/{id}/original"));
        assert!(one["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("API upload by daf@example.test"));

        let list = s.get(Some(t), "/documents").await.json();
        assert_eq!(list["items"][0]["id"], id);
        assert_eq!(list["next"], Value::Null);

        // With an entry posted: the list, in decimal strings with the currency.
        let posted = s
            .store
            .post_entry(&purchase("FA-1", 3, dec!(100.00)), 1)
            .await
            .unwrap();
        let entries = s.get(Some(t), "/ledger/entries").await;
        assert_eq!(entries.status, 200, "{}", entries.text());
        let e = &entries.json()["items"][0];
        assert_eq!(e["id"], posted.id);
        assert_eq!(e["journal"], "HA");
        assert_eq!(e["number"], posted.entry_number());
        assert_eq!(e["date"], "2026-03-03");
        assert_eq!(
            e["lines"][0]["debit"],
            json!({"amount": "100.00", "currency": "EUR"})
        );
        assert_eq!(
            e["lines"][2]["credit"],
            json!({"amount": "120.00", "currency": "EUR"})
        );
        assert_eq!(e["lines"][2]["auxiliary"], "F732829320");

        let fec = s
            .post_json(t, "/exports", json!({"format": "fec", "year": 2026}))
            .await;
        assert_eq!(fec.status, 200, "{}", fec.text());
        assert_eq!(
            fec.header("content-disposition"),
            Some(format!("attachment; filename=\"{SIREN}FEC20261231.txt\""))
        );
        assert!(fec.text().starts_with("JournalCode\t"), "{}", fec.text());
        assert!(fec.text().contains(&posted.entry_number()));

        let csv = s
            .post_json(
                t,
                "/exports",
                json!({"format": "csv", "from": "2026-01-01", "to": "2026-12-31"}),
            )
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text());
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(csv.text().contains("FA-1"), "{}", csv.text());
        // A batch: the same period again has nothing new, unless asked again.
        let again = s
            .post_json(
                t,
                "/exports",
                json!({"format": "csv", "from": "2026-01-01", "to": "2026-12-31"}),
            )
            .await;
        let p = again.problem(409, "/api/v1/exports");
        assert!(
            p["detail"].as_str().unwrap().contains("\"again\": true"),
            "{p}"
        );
        let forced = s
            .post_json(t, "/exports", json!({"format": "csv", "again": true}))
            .await;
        assert_eq!(forced.status, 200, "{}", forced.text());
        let no_year = s.post_json(t, "/exports", json!({"format": "fec"})).await;
        no_year.problem(422, "/api/v1/exports");
        let unknown = s.post_json(t, "/exports", json!({"format": "xls"})).await;
        unknown.problem(422, "/api/v1/exports");

        // What the API did is in the web audit, with the token that did it.
        let audit = s.store.web_audit(20).await.unwrap();
        assert!(audit
            .iter()
            .any(|a| a.action == "api upload" && a.actor.contains("daf@example.test (API token")));
        assert_eq!(audit.iter().filter(|a| a.action == "api export").count(), 3);
    }
);

both_backends!(
    an_upload_with_an_idempotency_key_happens_once,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let u = s.user("clerk@example.test", Role::Approver).await;
        let (_, t) = s.token(u, Scope::Write).await;
        let other = s.user("other@example.test", Role::Approver).await;
        let (_, t2) = s.token(other, Scope::Write).await;
        let (a, b) = (nth_invoice(1), nth_invoice(2));

        let first = s.upload(&t, "a.pdf", &a, Some("key-1")).await;
        assert_eq!(first.status, 201, "{}", first.text());
        let id = first.json()["id"].clone();
        // The same key and file: the same answer, said to be a replay.
        let replay = s.upload(&t, "a.pdf", &a, Some("key-1")).await;
        assert_eq!(replay.status, 201, "{}", replay.text());
        assert_eq!(replay.json()["id"], id);
        assert_eq!(
            replay.header("idempotent-replayed").as_deref(),
            Some("true")
        );
        // The same key, another file: refused, nothing made.
        let clash = s.upload(&t, "b.pdf", &b, Some("key-1")).await;
        let p = clash.problem(409, "/api/v1/documents");
        assert!(
            p["detail"].as_str().unwrap().contains("another file"),
            "{p}"
        );
        assert_eq!(s.store.counts().await.unwrap().documents, 1);
        // Known bytes under a new key, or none, or another user's same key: 200, the same document.
        for (token, key) in [(&t, Some("key-2")), (&t, None), (&t2, Some("key-1"))] {
            let known = s.upload(token, "again.pdf", &a, key).await;
            assert_eq!(known.status, 200, "{key:?}: {}", known.text());
            assert_eq!(known.json()["id"], id);
        }
        // …and the first answer of key-2 was 200: so is its replay.
        let replay2 = s.upload(&t, "again.pdf", &a, Some("key-2")).await;
        assert_eq!(replay2.status, 200);
        let fresh = s.upload(&t, "b.pdf", &b, Some("key-3")).await;
        assert_eq!(fresh.status, 201);
        assert_ne!(fresh.json()["id"], id);
        assert_eq!(s.store.counts().await.unwrap().documents, 2);
        // Every arrival is recorded against the document, as for any source.
        let rec = s
            .store
            .document(DocumentId(id.as_i64().unwrap()))
            .await
            .unwrap();
        assert_eq!(rec.arrivals.len(), 4, "{:?}", rec.arrivals);

        // Limits and refusals, each a problem.
        let too_big = padded_pdf(3, 25 * 1024 + 64);
        let r = s.upload(&t, "big.pdf", &too_big, Some("key-4")).await;
        let p = r.problem(413, "/api/v1/documents");
        assert!(p["detail"].as_str().unwrap().contains("25 MB"), "{p}");
        let r = s.upload(&t, "notes.txt", b"just some words", None).await;
        let p = r.problem(422, "/api/v1/documents");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("unsupported file type"),
            "{p}"
        );
        let r = s.upload(&t, "empty.pdf", b"", None).await;
        r.problem(422, "/api/v1/documents");
        let r = s
            .send(
                Some(&t),
                "POST",
                "/documents",
                &[("Content-Type", "application/json")],
                b"{}".to_vec(),
            )
            .await;
        r.problem(415, "/api/v1/documents");
        let no_file = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--{BOUNDARY}--\r\n");
        let ct = multipart();
        let r = s
            .send(
                Some(&t),
                "POST",
                "/documents",
                &[("Content-Type", &ct)],
                no_file.into_bytes(),
            )
            .await;
        let p = r.problem(422, "/api/v1/documents");
        assert!(p["detail"].as_str().unwrap().contains("named file"), "{p}");
        let r = s.upload(&t, "a.pdf", &a, Some("bad key with spaces")).await;
        r.problem(422, "/api/v1/documents");
        assert_eq!(s.store.counts().await.unwrap().documents, 2);
    }
);

/// Walks a list page by page, calling `between` after each page; returns the ids seen.
async fn walk(
    s: &Served,
    t: &str,
    first: &str,
    field: &str,
    mut between: impl AsyncFnMut(),
) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let sep = if first.contains('?') { '&' } else { '?' };
    for _ in 0..100 {
        let r = s.get(Some(t), &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5, "a page holds at most the limit");
        seen.extend(items.iter().map(|i| i[field].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(next) => {
                assert!(!items.is_empty());
                path = format!("{first}{sep}cursor={next}");
                between().await;
            }
            None => return seen,
        }
    }
    panic!("more than 100 pages");
}

both_backends!(
    cursor_pages_repeat_nothing_and_skip_nothing_while_rows_arrive,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let u = s.user("viewer@example.test", Role::Viewer).await;
        let (_, t) = s.token(u, Scope::Read).await;
        let mut before = Vec::new();
        for n in 1..=23 {
            before.push(s.intake(n).await.0);
        }
        let mut next_n = 100;
        let seen = walk(&s, &t, "/documents?limit=5", "id", async || {
            next_n += 1;
            s.intake(next_n).await;
            next_n += 1;
            s.intake(next_n).await;
        })
        .await;
        // Newest first, each once, exactly the documents there when the walk began.
        let mut expected = before.clone();
        expected.reverse();
        assert_eq!(seen, expected);
        let all = walk(&s, &t, "/documents?limit=5", "id", async || {}).await;
        assert_eq!(all.len(), 23 + 2 * 4, "a new walk sees what arrived");

        // Filters hold across pages; a cursor is tied to its filters and list.
        let filtered = walk(
            &s,
            &t,
            "/documents?limit=5&state=received&q=invoice-1",
            "id",
            async || {},
        )
        .await;
        assert_eq!(
            filtered.len(),
            1 + 10 + 8,
            "invoice-1, invoice-10…19, invoice-101…108"
        );
        let page = s.get(Some(&t), "/documents?limit=5").await.json();
        let cursor = page["next"].as_str().unwrap();
        let r = s
            .get(
                Some(&t),
                &format!("/documents?limit=5&state=posted&cursor={cursor}"),
            )
            .await;
        r.problem(422, "/api/v1/documents");
        let r = s
            .get(Some(&t), &format!("/ledger/entries?cursor={cursor}"))
            .await;
        r.problem(422, "/api/v1/ledger/entries");
        for bad in [
            "limit=0",
            "limit=201",
            "limit=many",
            "state=lost",
            "cursor=%2A%2A",
        ] {
            let r = s.get(Some(&t), &format!("/documents?{bad}")).await;
            r.problem(422, "/api/v1/documents");
        }
        assert_eq!(
            s.get(Some(&t), "/documents?limit=200").await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            31
        );

        // Entries in posting order; those posted during the walk come after, each once.
        let mut posted = Vec::new();
        for n in 1..=12u32 {
            posted.push(
                s.store
                    .post_entry(&purchase(&format!("E-{n}"), n, dec!(10.00)), 1)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let mut k = 12u32;
        let seen = walk(&s, &t, "/ledger/entries?limit=5", "id", async || {
            k += 1;
            s.store
                .post_entry(&purchase(&format!("E-{k}"), 20, dec!(10.00)), 1)
                .await
                .unwrap();
        })
        .await;
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "posting order, no repeat: {seen:?}"
        );
        assert_eq!(&seen[..12], &posted[..]);
        assert_eq!(
            seen.len() as u32,
            k,
            "every entry once, the new ones included"
        );
        let march_first_week = walk(
            &s,
            &t,
            "/ledger/entries?limit=5&journal=ha&from=2026-03-01&to=2026-03-07",
            "id",
            async || {},
        )
        .await;
        assert_eq!(march_first_week, posted[..7].to_vec());
        let bank = s.get(Some(&t), "/ledger/entries?journal=BQ").await.json();
        assert_eq!(bank["items"], json!([]));
        for bad in [
            "journal=XX",
            "from=2026-04-01&to=2026-03-01",
            "from=yesterday",
        ] {
            let r = s.get(Some(&t), &format!("/ledger/entries?{bad}")).await;
            r.problem(422, "/api/v1/ledger/entries");
        }
    }
);

both_backends!(
    decisions_follow_the_rules_of_the_emailed_links,
    |db: TestDb| async move {
        let s = Served::start(&db, TWO_STEPS).await;
        let mut tokens = std::collections::HashMap::new();
        for (email, role) in [
            ("manager@example.test", Role::Approver),
            ("daf@example.test", Role::Accountant),
            ("buyer@example.test", Role::Approver),
            ("viewer@example.test", Role::Viewer),
        ] {
            let u = s.user(email, role).await;
            tokens.insert((email, Scope::Write), s.token(u, Scope::Write).await.1);
            tokens.insert((email, Scope::Read), s.token(u, Scope::Read).await.1);
        }
        let w = |e: &'static str| tokens[&(e, Scope::Write)].clone();
        let invoice = |n: &str, gross: &str| {
            let g: Decimal = gross.parse().unwrap();
            let net = (g / Decimal::new(12, 1)).round_dp(2);
            invoice_pdf(n, &net.to_string(), &(g - net).to_string(), gross)
        };

        // Uploaded by the buyer, read, routed: the manager is asked first.
        let doc = s
            .submitted(
                &w("buyer@example.test"),
                "f1.pdf",
                invoice("F-2026-101", "240.00"),
            )
            .await;
        assert_eq!(s.state(doc).await, DocumentState::PendingApproval);
        let approve = format!("/documents/{doc}/approve");
        let full = format!("/api/v1{approve}");

        // Not their turn: the DAF (step 2), the buyer (not an approver of it).
        for who in ["daf@example.test", "buyer@example.test"] {
            let r = s.post_json(&w(who), &approve, json!({})).await;
            let p = r.problem(403, &full);
            assert!(
                p["detail"].as_str().unwrap().contains("does not wait"),
                "{who}: {p}"
            );
        }
        // The manager's read token may not; a body that is not a decision is refused.
        s.post_json(
            &tokens[&("manager@example.test", Scope::Read)],
            &approve,
            json!({}),
        )
        .await
        .problem(403, &full);
        s.post_json(
            &w("manager@example.test"),
            &approve,
            json!({"comments": "typo"}),
        )
        .await
        .problem(422, &full);
        assert_eq!(
            s.store.approval_audit(DocumentId(doc)).await.unwrap().len(),
            0
        );

        let ok = s
            .send(
                Some(&w("manager@example.test")),
                "POST",
                &approve,
                &[("User-Agent", "ap-robot/1.0")],
                Vec::new(),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text());
        assert_eq!(
            ok.json(),
            json!({"document": doc, "decision": "approve", "state": "pending_approval"})
        );
        let again = s
            .post_json(&w("manager@example.test"), &approve, json!({}))
            .await;
        let p = again.problem(409, &full);
        assert!(
            p["detail"].as_str().unwrap().contains("decided already"),
            "{p}"
        );
        s.run_stages().await;
        let ok = s
            .post_json(
                &w("daf@example.test"),
                &approve,
                json!({"comment": "ok pour moi"}),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text());
        assert_eq!(ok.json()["state"], "approved");
        s.run_stages().await;
        assert_eq!(s.state(doc).await, DocumentState::Posted);
        let closed = s
            .post_json(
                &w("daf@example.test"),
                &format!("/documents/{doc}/reject"),
                json!({}),
            )
            .await;
        closed.problem(409, &format!("/api/v1/documents/{doc}/reject"));

        // The decisions are in the approval audit, as a link's are, saying they came by the API.
        let audit = s.store.approval_audit(DocumentId(doc)).await.unwrap();
        let decided: Vec<(&str, &str)> = audit
            .iter()
            .map(|a| (a.actor.as_str(), a.decision.as_str()))
            .collect();
        assert_eq!(
            decided,
            [
                ("manager@example.test", "approve"),
                ("daf@example.test", "approve")
            ]
        );
        let agent = audit[0].user_agent.as_deref().unwrap();
        assert!(
            agent.contains("via the REST API") && agent.contains("ap-robot/1.0"),
            "{agent}"
        );
        assert_eq!(audit[1].comment.as_deref(), Some("ok pour moi"));
        let entries = s
            .get(
                Some(&w("viewer@example.test")),
                "/ledger/entries?journal=HA",
            )
            .await
            .json();
        assert_eq!(entries["items"][0]["document"], doc);
        assert_eq!(
            entries["items"][0]["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["credit"]["amount"] == "240.00")
                .count(),
            1
        );

        // Separation of duties: the manager uploaded this one and may not approve it.
        let own = s
            .submitted(
                &w("manager@example.test"),
                "f2.pdf",
                invoice("F-2026-102", "360.00"),
            )
            .await;
        let r = s
            .post_json(
                &w("manager@example.test"),
                &format!("/documents/{own}/approve"),
                json!({}),
            )
            .await;
        r.problem(403, &format!("/api/v1/documents/{own}/approve"));
        assert_eq!(s.state(own).await, DocumentState::PendingApproval);
        let audit = s.store.approval_audit(DocumentId(own)).await.unwrap();
        assert_eq!(audit.last().map(|a| a.decision.as_str()), Some("refused"));

        // A rejection keeps its comment as written, markup and quotes included.
        let third = s
            .submitted(
                &w("buyer@example.test"),
                "f3.pdf",
                invoice("F-2026-103", "480.00"),
            )
            .await;
        let why = "<b>double</b> facturation'; DROP TABLE approval_decisions; --";
        let r = s
            .post_json(
                &w("manager@example.test"),
                &format!("/documents/{third}/reject"),
                json!({"comment": why}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["state"], "rejected");
        let audit = s.store.approval_audit(DocumentId(third)).await.unwrap();
        assert_eq!(audit.last().unwrap().comment.as_deref(), Some(why));
        let shown = s
            .get(
                Some(&w("viewer@example.test")),
                &format!("/documents/{third}"),
            )
            .await
            .json();
        assert!(
            shown["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["reason"].as_str().unwrap().contains(why)),
            "{shown}"
        );

        // Document 999999 does not exist: 404, not "not your turn".
        s.post_json(
            &w("manager@example.test"),
            "/documents/999999/approve",
            json!({}),
        )
        .await
        .problem(404, "/api/v1/documents/999999/approve");
        // A viewer never decides.
        let p = s
            .post_json(
                &w("viewer@example.test"),
                &format!("/documents/{own}/reject"),
                json!({}),
            )
            .await
            .problem(403, &format!("/api/v1/documents/{own}/reject"));
        assert!(
            p["detail"].as_str().unwrap().contains("role may not"),
            "{p}"
        );
    }
);

both_backends!(
    text_with_sql_and_html_comes_back_unchanged,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let u = s.user("clerk@example.test", Role::Approver).await;
        let (_, t) = s.token(u, Scope::Write).await;
        let evil = "<script>alert(1)</script>' OR 1=1; DROP TABLE documents; --.pdf";
        let up = s.upload(&t, evil, &nth_invoice(1), None).await;
        assert_eq!(up.status, 201, "{}", up.text());
        assert_eq!(up.json()["file_name"], evil);
        assert!(
            up.text().contains("<script>alert(1)</script>"),
            "JSON is not HTML-escaped: {}",
            up.text()
        );
        assert!(!up.text().contains("&lt;"));
        assert_eq!(
            up.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert!(up
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        for (n, name) in [(2, "a_b.pdf"), (3, "axb.pdf"), (4, "100%.pdf")] {
            assert_eq!(s.upload(&t, name, &nth_invoice(n), None).await.status, 201);
        }
        let find = |q: &'static str| {
            let s = &s;
            let t = t.clone();
            async move {
                let enc: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
                let r = s.get(Some(&t), &format!("/documents?q={enc}")).await;
                assert_eq!(r.status, 200, "{q}: {}", r.text());
                let mut names: Vec<String> = r.json()["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["file_name"].as_str().unwrap().to_string())
                    .collect();
                names.sort();
                names
            }
        };
        assert_eq!(find("<script>").await, [evil]);
        assert_eq!(find("DROP TABLE documents").await, [evil]);
        assert_eq!(
            find("%' OR '1'='1").await,
            Vec::<String>::new(),
            "no injection through q"
        );
        assert_eq!(find("_").await, ["a_b.pdf"], "_ matches itself only");
        assert_eq!(find("%").await, ["100%.pdf"], "% matches itself only");
        assert_eq!(
            s.store.counts().await.unwrap().documents,
            4,
            "the table is still there"
        );
        let id = up.json()["id"].as_i64().unwrap();
        let one = s.get(Some(&t), &format!("/documents/{id}")).await.json();
        assert_eq!(one["file_name"], evil);
    }
);

both_backends!(
    every_error_is_problem_json_in_english_or_french,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let u = s.user("viewer@example.test", Role::Viewer).await;
        let (_, t) = s.token(u, Scope::Read).await;
        let t = Some(t.as_str());

        let p = s
            .get(t, "/nothing/here")
            .await
            .problem(404, "/api/v1/nothing/here");
        assert_eq!(p["type"], "urn:facteur:problem:unknown-route");
        let p = s
            .send(t, "DELETE", "/documents", &[], Vec::new())
            .await
            .problem(405, "/api/v1/documents");
        assert_eq!(p["type"], "urn:facteur:problem:method-not-allowed");
        s.send(t, "PUT", "/me", &[], Vec::new())
            .await
            .problem(405, "/api/v1/me");
        s.get(t, "/documents/abc")
            .await
            .problem(404, "/api/v1/documents/abc");
        s.get(t, "/documents/424242")
            .await
            .problem(404, "/api/v1/documents/424242");
        s.get(t, "/documents/424242/original")
            .await
            .problem(404, "/api/v1/documents/424242/original");
        for auth in ["Bearer nope", "Basic dXNlcjpwdw==", "Bearer fct_0000"] {
            let r = call(
                s.port,
                "GET",
                "/api/v1/me",
                &[("Authorization", auth)],
                Vec::new(),
            )
            .await;
            r.problem(401, "/api/v1/me");
        }
        // The same problem in French, as the client asks.
        let r = s
            .send(
                None,
                "GET",
                "/me",
                &[("Accept-Language", "fr-FR,fr;q=0.9")],
                Vec::new(),
            )
            .await;
        let p = r.problem(401, "/api/v1/me");
        assert_eq!(p["title"], "Authentification requise");
        assert!(p["detail"].as_str().unwrap().contains("jeton"), "{p}");
        assert_eq!(r.header("content-language").as_deref(), Some("fr"));
        let r = s
            .send(
                t,
                "GET",
                "/documents?limit=500",
                &[("Accept-Language", "fr")],
                Vec::new(),
            )
            .await;
        let p = r.problem(422, "/api/v1/documents");
        assert!(
            p["detail"].as_str().unwrap().contains("une page contient"),
            "{p}"
        );
        let r = s
            .send(
                t,
                "GET",
                "/documents?limit=500",
                &[("Accept-Language", "en-GB")],
                Vec::new(),
            )
            .await;
        assert!(r.problem(422, "/api/v1/documents")["detail"]
            .as_str()
            .unwrap()
            .contains("a page holds"));
        // Outside /api/v1 the dashboard keeps its own pages.
        let r = call(s.port, "GET", "/nothing/here", &[], Vec::new()).await;
        assert_ne!(
            r.header("content-type").as_deref(),
            Some("application/problem+json")
        );
    }
);

both_backends!(
    tokens_from_the_cli_work_until_revoked,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let out = s.cli(&[
            "users",
            "add",
            "robot@example.test",
            "--role",
            "approver",
            "--password-env",
            "PW",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = s.cli(&[
            "users",
            "token",
            "add",
            "robot@example.test",
            "--scope",
            "read",
            "--name",
            "nightly sync",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let token = stdout
            .lines()
            .find(|l| l.starts_with("fct_"))
            .expect("the token, printed once")
            .to_string();
        assert_eq!(token.len(), 68);

        let me = s.get(Some(&token), "/me").await;
        assert_eq!(me.status, 200, "{}", me.text());
        let me = me.json();
        assert_eq!(
            (me["scope"].as_str(), me["token_name"].as_str()),
            (Some("read"), Some("nightly sync"))
        );
        assert_eq!(me["may"], json!(["read"]));
        let id = me["token_id"].as_i64().unwrap();

        let out = s.cli(&["users", "token", "list", "--json"]);
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let row = &listed[0];
        assert_eq!(row["id"], id);
        assert_eq!(row["user"], "robot@example.test");
        assert_eq!(row["shown"], &token[..10]);
        assert!(row["last_used_at"].is_string(), "{row}");
        assert!(
            !out.stdout
                .windows(20)
                .any(|w| w == &token.as_bytes()[20..40]),
            "the secret is never listed"
        );
        let table = s.cli(&["users", "token", "list"]);
        assert!(String::from_utf8_lossy(&table.stdout).contains("nightly sync"));

        let out = s.cli(&["users", "token", "revoke", &id.to_string()]);
        assert!(out.status.success());
        s.get(Some(&token), "/me").await.problem(401, "/api/v1/me");
        let out = s.cli(&["users", "token", "revoke", &id.to_string()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("revoked already"));
        let out = s.cli(&["users", "token", "revoke", "999"]);
        assert_eq!(out.status.code(), Some(2));
        let out = s.cli(&[
            "users",
            "token",
            "add",
            "robot@example.test",
            "--scope",
            "admin",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("read or write"));
        let out = s.cli(&[
            "users",
            "token",
            "add",
            "nobody@example.test",
            "--scope",
            "read",
        ]);
        assert_eq!(out.status.code(), Some(2));

        // A disabled user's tokens stop working at once; enabled again, they work again.
        let out = s.cli(&[
            "users",
            "token",
            "add",
            "robot@example.test",
            "--scope",
            "write",
        ]);
        let write = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("fct_"))
            .unwrap()
            .to_string();
        assert_eq!(
            s.get(Some(&write), "/me").await.json()["may"],
            json!(["read", "upload", "decide"])
        );
        assert!(s
            .cli(&["users", "set", "robot@example.test", "--disable"])
            .status
            .success());
        s.get(Some(&write), "/me").await.problem(401, "/api/v1/me");
        assert!(s
            .cli(&["users", "set", "robot@example.test", "--enable"])
            .status
            .success());
        assert_eq!(s.get(Some(&write), "/me").await.status, 200);
    }
);

/// Runs the OpenAPI validator of PyPI's openapi-spec-validator (scripts/setup installs it) on
/// `spec`; Err with its message when it refuses.
fn validate_openapi(spec: &Value) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
    let lib = cache.join("facteur").join("pylib");
    let out = Command::new("python3")
        .env("PYTHONPATH", &lib)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(open(sys.argv[1])))",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !err.contains("No module named 'openapi_spec_validator'"),
        "openapi-spec-validator is missing: run scripts/setup ({err})"
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(err)
    }
}

both_backends!(
    the_openapi_document_lists_every_route_and_is_valid,
    |db: TestDb| async move {
        let s = Served::start(&db, "").await;
        let r = s.get(None, "/openapi.json").await;
        assert_eq!(r.status, 200);
        let spec = r.json();
        assert!(
            spec["openapi"].as_str().unwrap().starts_with("3."),
            "{}",
            spec["openapi"]
        );
        assert_eq!(spec["servers"][0]["url"], "/api/v1");
        let paths = spec["paths"].as_object().unwrap();
        // Every route of the router is documented…
        for (method, path) in ROUTES {
            let op = &paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} is not in the document"))[method.to_lowercase()];
            assert!(op.is_object(), "{method} {path} is not in the document");
            assert!(op["responses"].is_object());
        }
        // …and every documented operation is a route (no token: 401, never 404 or 405).
        let mut operations = 0;
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                operations += 1;
                let m = method.to_uppercase();
                assert!(
                    ROUTES.contains(&(m.as_str(), path.as_str())),
                    "{m} {path} is not in ROUTES"
                );
                let concrete = path.replace("{id}", "1");
                let r = s.send(None, &m, &concrete, &[], Vec::new()).await;
                let want = if path == "/openapi.json" { 200 } else { 401 };
                assert_eq!(r.status, want, "{m} {path}: {}", r.text());
            }
        }
        assert_eq!(operations, ROUTES.len());
        for schema in [
            "ProblemDetails",
            "DocumentPage",
            "DocumentDetail",
            "EntryPage",
            "Money",
            "Me",
        ] {
            assert!(
                spec["components"]["schemas"][schema].is_object(),
                "{schema}"
            );
        }
        assert_eq!(
            spec["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );

        validate_openapi(&spec)
            .unwrap_or_else(|e| panic!("the document is not valid OpenAPI: {e}"));
        // The validator does refuse a broken document.
        let mut broken = spec.clone();
        broken["paths"]["/me"]["get"]["responses"] = json!("none");
        assert!(
            validate_openapi(&broken).is_err(),
            "the validator accepts anything"
        );
        let mut broken = spec.clone();
        broken.as_object_mut().unwrap().remove("info");
        assert!(validate_openapi(&broken).is_err());
    }
);
