//! The dashboard's sign-in over real HTTP against the real axum server, on SQLite and
//! PostgreSQL: a password then a TOTP code (computed from the enrolled secret), each step on a
//! fresh session token (a token planted before is dead after), a code that works once, recovery
//! codes, sign-out guarded by the session's nonce, throttling after five failures, and an
//! approval link above `web.login_above` that decides only for its approver signed in.

use std::sync::Arc;

use facteur::store::Store;
use facteur::users::totp::{recovery_hash, TotpSecret};
use facteur::users::{Email, Password, Role};

use crate::approval::{http, Reply};
use crate::both_backends;
use crate::helpers::TestDb;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The web server alone on a free port.
async fn serve(store: Arc<dyn Store>) -> u16 {
    let listener = facteur::web::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = facteur::web::WebState::new(store, "http://127.0.0.1");
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(facteur::web::serve(listener, state, stop));
    port
}

pub(crate) async fn add(store: &Arc<dyn Store>, email: &str, role: Role) -> i64 {
    let hash = Password::parse(PASSWORD).unwrap().hash().unwrap();
    store
        .add_user(&Email::parse(email).unwrap(), role, &hash, "test")
        .await
        .unwrap()
}

fn location(r: &Reply) -> String {
    r.head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("location:"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// Posts the password form as a browser does: the form's cookie and nonce.
async fn password(port: u16, email: &str, pw: &str, carried: Option<&str>) -> Reply {
    let page = http(port, "GET", "/login?next=/", &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form_cookie = page.cookie().expect("the form's nonce cookie");
    let csrf = page.hidden("csrf").expect("the form's nonce");
    let cookies = match carried {
        Some(c) => format!("{form_cookie}; {c}"),
        None => form_cookie,
    };
    let body = format!(
        "csrf={csrf}&next=%2F&email={}&password={}",
        email.replace('@', "%40"),
        pw.replace(' ', "+")
    );
    http(
        port,
        "POST",
        "/login",
        &[
            ("Cookie", &cookies),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
    .await
}

/// Posts a second-factor code with the session of the password step.
async fn code(port: u16, session: &str, code: &str) -> Reply {
    let page = http(
        port,
        "GET",
        "/login/code?next=/",
        &[("Cookie", session)],
        "",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.hidden("csrf").expect("the session's nonce");
    http(
        port,
        "POST",
        "/login/code",
        &[
            ("Cookie", session),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("csrf={csrf}&next=%2F&code={}", code.replace(' ', "+")),
    )
    .await
}

pub(crate) fn now_unix() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

both_backends!(
    a_user_signs_in_with_a_password_then_a_code_on_fresh_tokens,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = add(&store, "daf@example.test", Role::Admin).await;
        let secret = TotpSecret::generate();
        let recovery = "abcde-fghij";
        store
            .enrol_totp(id, &secret, &[recovery_hash(recovery)])
            .await
            .unwrap();
        let port = serve(store.clone()).await;

        let away = http(port, "GET", "/", &[], "").await;
        assert_eq!(away.status, 303);
        assert!(location(&away).starts_with("/login"), "{}", away.head);

        let wrong = password(port, "daf@example.test", "not the password", None).await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
        assert!(wrong.body.contains("Wrong address or password"));
        let unknown = password(port, "nobody@example.test", PASSWORD, None).await;
        assert_eq!(
            unknown.status, 401,
            "the same answer for an unknown address"
        );

        // A token planted before the sign-in (fixation) is not the one that comes out.
        let planted = format!("facteur_session={}", "ab".repeat(32));
        let step1 = password(port, "DAF@example.test", PASSWORD, Some(&planted)).await;
        assert_eq!(step1.status, 303, "{}", step1.body);
        assert!(
            location(&step1).starts_with("/login/code"),
            "{}",
            step1.head
        );
        let half = step1.cookie().expect("a session cookie");
        assert_ne!(half, planted);
        assert!(step1.head.contains("HttpOnly") && step1.head.contains("SameSite=Lax"));
        let not_yet = http(port, "GET", "/", &[("Cookie", &half)], "").await;
        assert_eq!(not_yet.status, 303, "a password alone does not sign in");

        let c = secret.code_at(now_unix()).unwrap();
        let step2 = code(port, &half, &c).await;
        assert_eq!(step2.status, 303, "{}", step2.body);
        let full = step2.cookie().expect("a new session cookie");
        assert_ne!(full, half, "a fresh token after the second factor");
        let inbox = http(port, "GET", "/", &[("Cookie", &full)], "").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        assert!(
            inbox.body.contains("daf@example.test (admin)"),
            "{}",
            inbox.body
        );
        let dead = http(port, "GET", "/login/code", &[("Cookie", &half)], "").await;
        assert_eq!(dead.status, 303, "the password-step token is dead");

        // The same code again (a replay) fails; a recovery code works once.
        let again = password(port, "daf@example.test", PASSWORD, None).await;
        let half2 = again.cookie().unwrap();
        let replay = code(port, &half2, &c).await;
        assert_eq!(replay.status, 401, "{}", replay.body);
        let rescued = code(port, &half2, "ABCDE FGHIJ").await;
        assert_eq!(rescued.status, 303, "{}", rescued.body);
        let again = password(port, "daf@example.test", PASSWORD, None).await;
        let used = code(port, &again.cookie().unwrap(), recovery).await;
        assert_eq!(used.status, 401, "a recovery code works once");

        // Sign-out needs the session's nonce.
        let bare = http(
            port,
            "POST",
            "/logout",
            &[
                ("Cookie", &full),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "csrf=0000",
        )
        .await;
        assert_eq!(bare.status, 403);
        let csrf = inbox.hidden("csrf").unwrap();
        let out = http(
            port,
            "POST",
            "/logout",
            &[
                ("Cookie", &full),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(out.status, 303);
        assert_eq!(
            http(port, "GET", "/", &[("Cookie", &full)], "")
                .await
                .status,
            303,
            "signed out"
        );
        let audit = store.web_audit(10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["sign_out", "sign_in", "sign_in"], "{audit:?}");
    }
);

both_backends!(
    five_failures_hold_an_account_and_roles_needing_two_factors_are_refused_without,
    |db: TestDb| async move {
        let store = db.store().await;
        add(&store, "clerk@example.test", Role::Viewer).await;
        add(&store, "ctl@example.test", Role::Accountant).await;
        let port = serve(store.clone()).await;
        for _ in 0..5 {
            let r = password(port, "clerk@example.test", "wrong password!", None).await;
            assert_eq!(r.status, 401);
        }
        let held = password(port, "clerk@example.test", PASSWORD, None).await;
        assert_eq!(held.status, 429, "{}", held.body);
        assert!(held.body.contains("try again in"), "{}", held.body);
        let csrf_less = http(
            port,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "email=ctl%40example.test&password=x",
        )
        .await;
        assert_eq!(csrf_less.status, 403, "a form not from our page");
        // An accountant must enrol a second factor first (web.require_2fa's default).
        let refused = password(port, "ctl@example.test", PASSWORD, None).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("second factor"), "{}", refused.body);
    }
);

both_backends!(
    ready_and_metrics_name_every_series_from_the_start,
    |db: TestDb| async move {
        let store = db.store().await;
        let port = serve(store.clone()).await;
        let ready = http(port, "GET", "/ready", &[], "").await;
        assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));
        let before = http(port, "GET", "/metrics", &[], "").await;
        assert_eq!(before.status, 200);
        assert!(
            before.head.contains("text/plain; version=0.0.4"),
            "{}",
            before.head
        );
        for series in [
            "facteur_documents{state=\"received\"} 0",
            "facteur_documents{state=\"paid\"} 0",
            "facteur_queue_depth{stage=\"read\"} 0",
            "facteur_queue_oldest_job_age_seconds{stage=\"approve\"} 0",
            "facteur_outbox_pending 0",
            "facteur_approval_requests_open 0",
            "facteur_stage_runs_total{stage=\"read\",outcome=\"done\"}",
            "facteur_documents_read_total{method=\"ocr\"}",
        ] {
            assert!(before.body.contains(series), "{series}\n{}", before.body);
        }
        let raw = facteur::domain::RawDocument {
            bytes: crate::helpers::invoice_pdf("F-1", "100.00", "20.00", "120.00"),
            name: "f.pdf".into(),
            origin: facteur::domain::Origin::Cli {
                path: "f.pdf".into(),
            },
        };
        store.intake(&raw).await.unwrap();
        let after = http(port, "GET", "/metrics", &[], "").await;
        assert!(
            after
                .body
                .contains("facteur_documents{state=\"received\"} 1"),
            "{}",
            after.body
        );
        assert!(after.body.contains("facteur_queue_depth{stage=\"read\"} 1"));
        let line = after
            .body
            .lines()
            .find(|l| l.starts_with("facteur_queue_oldest_job_age_seconds{stage=\"read\"}"))
            .unwrap();
        let age: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((0.0..60.0).contains(&age), "{line}");
    }
);

/// Reads every queued document with the real reader (the facteur binary's sandbox).
async fn read_all(db: &TestDb, store: Arc<dyn Store>) {
    let config = db.dir.path().join("facteur.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{}\"\n", db.url)).unwrap();
    let settings = facteur::config::Settings::load(&config, false).unwrap();
    let mut w = facteur::worker::Worker::new(&settings, store.clone());
    let mut sandbox = settings.read.sandbox_config();
    sandbox.program = Some(crate::helpers::facteur_bin().into());
    sandbox.workers = 1;
    w.ctx = Arc::new(facteur::stages::StageContext {
        store,
        sandbox: facteur::read::sandbox::SandboxPool::new(sandbox),
        read_options: settings.read.read_options(),
        review_threshold: settings.read.review_threshold,
        dedupe: settings.dedupe.thresholds(),
        routing: facteur::worker::routing(&settings),
        company: settings.company.clone(),
    });
    w.drain().await.unwrap();
}

/// Signs in with a password and, when `secret` is given, a code: the session cookie.
pub(crate) async fn signed_in(port: u16, email: &str, secret: Option<&TotpSecret>) -> String {
    let step1 = password(port, email, PASSWORD, None).await;
    assert_eq!(step1.status, 303, "{}", step1.body);
    let cookie = step1.cookie().unwrap();
    match secret {
        None => cookie,
        Some(s) => {
            let step2 = code(port, &cookie, &s.code_at(now_unix()).unwrap()).await;
            assert_eq!(step2.status, 303, "{}", step2.body);
            step2.cookie().unwrap()
        }
    }
}

both_backends!(
    an_accountant_corrects_a_document_beside_its_original_and_a_viewer_cannot,
    |db: TestDb| async move {
        let store = db.store().await;
        let raw = facteur::domain::RawDocument {
            bytes: crate::helpers::invoice_pdf("F-9", "100.00", "20.00", "120.00"),
            name: "f9.pdf".into(),
            origin: facteur::domain::Origin::Cli {
                path: "f9.pdf".into(),
            },
        };
        let doc = store.intake(&raw).await.unwrap().document();
        read_all(&db, store.clone()).await;
        let seen = store.document(doc).await.unwrap().summary.state;
        assert_eq!(seen, facteur::domain::DocumentState::PendingApproval);
        let ctl = add(&store, "ctl@example.test", Role::Accountant).await;
        let secret = TotpSecret::generate();
        store.enrol_totp(ctl, &secret, &[]).await.unwrap();
        add(&store, "look@example.test", Role::Viewer).await;
        let port = serve(store.clone()).await;

        let accountant = signed_in(port, "ctl@example.test", Some(&secret)).await;
        let path = format!("/documents/{}", doc.0);
        let page = http(port, "GET", &path, &[("Cookie", &accountant)], "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page
            .body
            .contains(&format!("src=\"/documents/{}/original\"", doc.0)));
        assert!(
            page.body.contains("F-9") && page.body.contains("120.00"),
            "{}",
            page.body
        );
        assert!(page.head.contains("frame-src 'self'"), "{}", page.head);
        let original = http(
            port,
            "GET",
            &format!("{path}/original"),
            &[("Cookie", &accountant)],
            "",
        )
        .await;
        assert!(original.head.contains("application/pdf") && original.head.contains("SAMEORIGIN"));
        assert!(original.body.starts_with("%PDF"));
        let anonymous = http(port, "GET", &format!("{path}/original"), &[], "").await;
        assert_eq!(anonymous.status, 401);

        let csrf = page.hidden("csrf").unwrap();
        let form = |action: &str, extra: &str| {
            format!("csrf={csrf}&seen=pending_approval&action={action}&reason=&{extra}")
        };
        let post = |cookie: String, body: String| {
            let path = format!("{path}/review");
            async move {
                http(
                    port,
                    "POST",
                    &path,
                    &[
                        ("Cookie", &cookie),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ],
                    &body,
                )
                .await
            }
        };
        // An HTML payload in a field comes back escaped, never as markup.
        let bad = post(
            accountant.clone(),
            form(
                "correct",
                "fields=total_gross%3D%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            ),
        )
        .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(!bad.body.contains("<script>alert"), "{}", bad.body);
        assert!(bad.body.contains("&lt;script&gt;alert(1)"), "{}", bad.body);
        let fixed = post(
            accountant.clone(),
            form(
                "correct",
                "fields=total_net%3D150.00%0Atotal_tax%3D30.00%0Atotal_gross%3D180.00",
            ),
        )
        .await;
        assert_eq!(fixed.status, 200, "{}", fixed.body);
        assert!(
            fixed.body.contains("pending_approval → read"),
            "{}",
            fixed.body
        );
        let x = store.document(doc).await.unwrap().extraction.unwrap();
        assert_eq!(x.invoice.total_gross, "180.00".parse().ok());

        let viewer = signed_in(port, "look@example.test", None).await;
        let vpage = http(port, "GET", &path, &[("Cookie", &viewer)], "").await;
        assert!(
            !vpage.body.contains("name=\"action\""),
            "no decision form for a viewer"
        );
        let vcsrf = vpage.hidden("csrf").unwrap();
        let refused = post(
            viewer,
            format!("csrf={vcsrf}&seen=read&action=reject&reason=no"),
        )
        .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let forged = post(
            accountant,
            "csrf=00&seen=read&action=reject&reason=x".into(),
        )
        .await;
        assert_eq!(forged.status, 403, "a form without the session's nonce");
        let audit = store.web_audit(10).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "review correct" && a.actor == "ctl@example.test"),
            "{audit:?}"
        );
    }
);
