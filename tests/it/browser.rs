//! The dashboard in a real browser: Debian's headless Chromium driven over WebDriver by its
//! chromedriver (both installed by scripts/setup; nothing is downloaded), against the real server
//! on SQLite, with a workspace of real corpus invoices read by the real reader. A person signs in
//! with a password and a TOTP code, opens the inbox, accepts a reading held for review and
//! corrects a field of an invoice in approval, approves an invoice on /approvals, sees the
//! aged-balance chart drawn (its SVG bars), and downloads a FEC from /ledger. Then, as the admin,
//! issues a draft on /receivables and adds a user on /settings; that new person signs in,
//! enrols a second factor on /account (reading the secret off the page, typing the code), and
//! is asked for a code at the next sign-in.
//!
//! Screenshots (PNG) of the inbox, a review, the approvals, the ledger, the reports, the cash
//! forecast, the receivables, the settings and the account (after enrolment: no secret shown)
//! are saved
//! into docs/screenshots/ when `FACTEUR_SCREENSHOTS=1` (the README shows them), else into a
//! temporary folder. Without chromium and chromedriver the test fails, unless
//! `FACTEUR_SKIP_BROWSER=1` says skipping is allowed on this machine: then it says so and passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use facteur::domain::DocumentState;
use facteur::ledger::Journal;
use facteur::users::totp::TotpSecret;
use facteur::users::Role;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::approval::Approvals;
use crate::helpers::{corpus, free_port, Backend, TestDb};
use crate::web::{add, now_unix, PASSWORD};

/// One rule: the person of this test approves every invoice.
const PIPELINE: &str = r#"
[[approval.rule]]
name = "default"
steps = [ { approvers = ["daf@example.test"] } ]
"#;

/// `[web]`, `[company]` and `[sales]` lines (the FEC needs the SIREN, an issued invoice the
/// seller's mentions), and a review threshold that holds doubtful readings for a person while
/// certain ones go through.
fn web() -> String {
    format!(
        "lang = \"en\"\n{}\n[read]\nreview_threshold = 0.999\n",
        crate::receivables::COMPANY
    )
}

/// Real invoices of the corpus: a Factur-X PDF, a ZUGFeRD PDF and text-layer PDFs.
const DOCUMENTS: [&str; 4] = [
    "akretion-facturx/pdf__invoice_EN16931.pdf",
    "mustang/library__src__test__resources__EN16931_Einfach.pdf",
    "invoice2data/AmazonWebServices.pdf",
    "invoice2data/free_fiber.pdf",
];

/// A program on the PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(chromium: &Path, driver: &Path, downloads: &Path) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-GB", "--no-first-run"],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            },
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("a JSON object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if start.elapsed() < Duration::from_secs(15) => {
                tracing::debug!(error = %e, "chromedriver not ready yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a Chromium session through chromedriver: {e}"),
        }
    }
}

/// Where screenshots go: the README's folder when asked, else a temporary one.
fn screenshot_dir(tmp: &Path) -> PathBuf {
    if std::env::var("FACTEUR_SCREENSHOTS").is_ok_and(|v| v == "1") {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots"))
    } else {
        tmp.join("screenshots")
    }
}

async fn shoot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

/// The text of the page shown now (none while a page is being replaced).
async fn page_text(c: &Client) -> String {
    match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page shown is under `path` and reads `want`: a click on a form's button does
/// not always wait for the answer to its POST (a redirect, then the next page). Its text.
async fn settle(c: &Client, path: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let here = c.current_url().await.map(|u| u.path().to_string());
        let text = page_text(c).await;
        if here.as_deref().is_ok_and(|h| h.starts_with(path)) && text.contains(want) {
            return text;
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("waited for {path} reading '{want}'; at {here:?}: {text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_person_signs_in_with_two_factors_reviews_approves_and_exports_in_chromium() {
    let found = (
        on_path(&["chromium", "chromium-browser", "google-chrome"]),
        on_path(&["chromedriver"]),
    );
    let (Some(chromium), Some(chromedriver)) = found else {
        if std::env::var("FACTEUR_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            eprintln!(
                "SKIPPED browser test: chromium or chromedriver is not installed \
                 (bash scripts/setup installs them) and FACTEUR_SKIP_BROWSER=1 allows skipping"
            );
            return;
        }
        panic!(
            "the browser test needs Debian's chromium and chromium-driver: run bash scripts/setup, \
             or set FACTEUR_SKIP_BROWSER=1 where they cannot be installed"
        );
    };
    let started = Instant::now();
    let db = TestDb::new(Backend::Sqlite).await;
    let mut a = Approvals::start_full(&db, PIPELINE, &web()).await;
    let mut docs = Vec::new();
    for f in DOCUMENTS {
        let bytes = std::fs::read(corpus().join(f)).unwrap();
        let name = f.rsplit('/').next().unwrap();
        docs.push(a.file(bytes, name).await);
    }
    let mut states = Vec::new();
    for d in &docs {
        states.push(a.state(*d).await);
    }
    let count = |want: DocumentState| states.iter().filter(|s| **s == want).count();
    assert!(
        count(DocumentState::PendingApproval) >= 1 && count(DocumentState::NeedsReview) >= 1,
        "certain readings wait for approval, doubtful ones for review: {states:?}"
    );
    let user = add(&a.store, "daf@example.test", Role::Admin).await;
    let secret = TotpSecret::generate();
    a.store.enrol_totp(user, &secret, &[]).await.unwrap();
    let customer = a
        .store
        .add_customer(&crate::receivables::customer(
            "Hôtel du Parc SARL",
            "552100554",
            "fr",
        ))
        .await
        .unwrap();
    let file: facteur::receivables::sale::DraftFile = toml::from_str(&format!(
        "customer = \"{}\"\n[[line]]\ndescription = \"Lighting study\"\nquantity = 3\n\
         unit_price = \"450.00\"\nvat_rate = 20\n",
        customer.account
    ))
    .unwrap();
    let sale =
        facteur::receivables::sale::NewSale::draft(customer.id, a.settings.company.currency, file)
            .unwrap();
    let sale = a.store.save_draft(&sale).await.unwrap().id;
    let seeded = started.elapsed();

    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let shots = screenshot_dir(tmp.path());
    let (_driver, c) = browser(&chromium, &chromedriver, &downloads).await;
    let base = format!("http://127.0.0.1:{}", a.port);

    // Sign in: the password, then the code of the authenticator.
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    fill(&c, "#email", "daf@example.test").await;
    fill(&c, "#password", PASSWORD).await;
    click(&c, "form[action='/login'] button").await;
    settle(&c, "/login/code", "authenticator").await;
    fill(&c, "#code", &secret.code_at(now_unix()).unwrap()).await;
    click(&c, "form[action='/login/code'] button").await;
    let inbox = settle(&c, "/", "daf@example.test (admin)").await;
    assert!(inbox.contains("pending_approval"), "{inbox}");
    shoot(&c, &shots, "inbox").await;

    // Review: accept a reading held for review, with a reason…
    let held = docs[states
        .iter()
        .position(|s| *s == DocumentState::NeedsReview)
        .unwrap()];
    c.goto(&format!("{base}/documents/{}", held.0))
        .await
        .unwrap();
    shoot(&c, &shots, "review").await;
    fill(&c, "#reason", "checked against the original").await;
    click(&c, "button[value='accept']").await;
    let review = format!("/documents/{}/review", held.0);
    settle(&c, &review, "needs_review → pending_approval").await;
    // … and correct a field of an invoice in approval: it is checked again and comes back to
    // approval with the new number.
    let corrected = docs[states
        .iter()
        .position(|s| *s == DocumentState::PendingApproval)
        .unwrap()];
    c.goto(&format!("{base}/documents/{}", corrected.0))
        .await
        .unwrap();
    fill(&c, "#fields", "invoice_number=CHECKED-42").await;
    click(&c, "button[value='correct']").await;
    let review = format!("/documents/{}/review", corrected.0);
    settle(&c, &review, "pending_approval → read").await;
    a.run().await;
    let record = a.store.document(corrected).await.unwrap();
    assert_eq!(record.summary.invoice_number.as_deref(), Some("CHECKED-42"));
    for d in [held, corrected] {
        assert_eq!(a.state(d).await, DocumentState::PendingApproval);
    }

    // Approve one invoice on /approvals, then the others.
    c.goto(&format!("{base}/approvals")).await.unwrap();
    shoot(&c, &shots, "approvals").await;
    let first = c.find(Locator::Css("div.card")).await.unwrap();
    let card_id = first.attr("id").await.unwrap().unwrap();
    fill(&c, &format!("#{card_id} textarea"), "fine by me").await;
    let cards = c.find_all(Locator::Css("div.card")).await.unwrap().len();
    click(&c, &format!("#{card_id} button.approve")).await;
    let path = format!("/approvals/{}", card_id.trim_start_matches("request-"));
    settle(&c, &path, "Decision recorded").await;
    for left in (0..cards - 1).rev() {
        click(&c, "div.card button.approve").await;
        settle(&c, "/approvals/", &format!("{left} invoice(s) wait")).await;
    }
    a.run().await;
    let posted = a
        .store
        .ledger_entries(None, None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.body.journal == Journal::Purchases)
        .expect("an approved invoice is posted");

    // The aged balance chart: SVG bars drawn by the server, rendered by the browser.
    c.goto(&format!("{base}/reports")).await.unwrap();
    let bars = c
        .find_all(Locator::Css("svg#aged-chart rect.bar"))
        .await
        .unwrap();
    assert!(!bars.is_empty(), "the aged balance has bars");
    let size = bars[0].rectangle().await.unwrap();
    assert!(size.2 > 1.0 && size.3 > 1.0, "a bar is drawn: {size:?}");
    shoot(&c, &shots, "reports").await;

    // The FEC of the posted invoice's fiscal year, downloaded from /ledger.
    c.goto(&format!("{base}/ledger")).await.unwrap();
    shoot(&c, &shots, "ledger").await;
    let year = posted.fiscal_year.to_string();
    c.find(Locator::Css("#year"))
        .await
        .unwrap()
        .select_by_value(&year)
        .await
        .unwrap();
    click(&c, "#fec button").await;
    let name = format!("732829320FEC{year}1231.txt");
    let file = downloads.join(&name);
    let start = Instant::now();
    while !file.is_file() && start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fec = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name} downloaded: {e}"));
    assert!(
        fec.starts_with("JournalCode\tJournalLib\tEcritureNum"),
        "{fec}"
    );
    assert!(fec.contains(&posted.body.piece_ref), "{fec}");

    // Receivables: issue the draft.
    c.goto(&format!("{base}/receivables")).await.unwrap();
    click(&c, &format!("#sale-{sale} form[action$='/issue'] button")).await;
    let issued = settle(&c, "/receivables/", "Issued:").await;
    let number = a.store.sale(sale).await.unwrap().number.expect("issued");
    assert!(issued.contains(&number), "{issued}");
    shoot(&c, &shots, "receivables").await;
    // The same page on a phone: one column, the wide table scrolls in its own box.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}/receivables")).await.unwrap();
    shoot(&c, &shots, "receivables-phone").await;
    c.set_window_size(1280, 1000).await.unwrap();

    // The cash forecast, below the other charts, with the invoice just issued to come in.
    c.goto(&format!("{base}/reports")).await.unwrap();
    let forecast = c
        .find(Locator::Css("svg#forecast-chart"))
        .await
        .expect("the forecast chart");
    c.execute(
        "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -70)",
        vec![serde_json::to_value(&forecast).unwrap()],
    )
    .await
    .unwrap();
    shoot(&c, &shots, "forecast").await;

    // Settings: the admin adds a person.
    c.goto(&format!("{base}/settings")).await.unwrap();
    shoot(&c, &shots, "settings").await;
    fill(&c, "#new-email", "clerk@example.test").await;
    c.find(Locator::Css("#new-role"))
        .await
        .unwrap()
        .select_by_value("approver")
        .await
        .unwrap();
    fill(&c, "#new-password", PASSWORD).await;
    click(&c, "form[action='/settings/users'] button").await;
    settle(
        &c,
        "/settings/users",
        "User added: clerk@example.test (approver)",
    )
    .await;

    // The new person signs in and enrols a second factor from the page.
    click(&c, "nav form button").await;
    settle(&c, "/login", "Sign in").await;
    c.goto(&format!("{base}/account")).await.unwrap();
    fill(&c, "#email", "clerk@example.test").await;
    fill(&c, "#password", PASSWORD).await;
    click(&c, "form[action='/login'] button").await;
    settle(&c, "/account", "Enrol a second factor").await;
    let qr = c.find(Locator::Css("#totp-qr svg")).await.unwrap();
    let size = qr.rectangle().await.unwrap();
    assert!(size.2 >= 150.0, "the QR code is drawn: {size:?}");
    let shown = c
        .find(Locator::Css("#totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let theirs = TotpSecret::from_base32(&shown).expect("the secret on the page");
    fill(&c, "#totp-code", &theirs.code_at(now_unix()).unwrap()).await;
    click(&c, "form[action='/account/totp'] button").await;
    let done = settle(&c, "/account/totp", "The second factor is active.").await;
    assert!(done.contains("recovery codes"), "{done}");
    c.goto(&format!("{base}/account")).await.unwrap();
    let after = settle(&c, "/account", "Second factor").await;
    assert!(
        !after.contains(&shown),
        "no secret on the page once active: {after}"
    );
    shoot(&c, &shots, "account").await;

    // The next sign-in asks for a code: the one of the next step (the confirming code is spent).
    click(&c, "nav form button").await;
    settle(&c, "/login", "Sign in").await;
    c.goto(&format!("{base}/")).await.unwrap();
    fill(&c, "#email", "clerk@example.test").await;
    fill(&c, "#password", PASSWORD).await;
    click(&c, "form[action='/login'] button").await;
    settle(&c, "/login/code", "authenticator").await;
    fill(&c, "#code", &theirs.code_at(now_unix() + 30).unwrap()).await;
    click(&c, "form[action='/login/code'] button").await;
    settle(&c, "/", "clerk@example.test (approver)").await;
    c.close().await.unwrap();
    eprintln!(
        "browser test: seeded in {:.1} s, whole run {:.1} s, screenshots in {}",
        seeded.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        shots.display()
    );
}
