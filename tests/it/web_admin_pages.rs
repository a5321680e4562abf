//! The dashboard's receivables, account and settings pages, the cash forecast chart and the
//! inbox search, over real HTTP against the real server, on SQLite and PostgreSQL: who sees and
//! who acts (a viewer cannot issue, an approver cannot reach /settings), no nonce no change,
//! every action in the web audit, HTML in a customer's name, a dispute's reason and a user's
//! address escaped; a sale issued, sent, disputed, reminded and credited through the page as
//! `facteur sales` does; a second factor enrolled from the page; the forecast's CSV equal to
//! `reports::cash_forecast`.

use facteur::domain::DocumentState;
use facteur::users::totp::TotpSecret;
use facteur::users::Role;

use crate::approval::{Approvals, Reply, PIPELINE};
use crate::both_backends;
use crate::helpers::TestDb;
use crate::web_pages::{decide, get, people, post, request_of, WEB};

/// `[web]`, `[company]` and `[sales]` lines of a company that may issue invoices.
fn selling() -> String {
    format!("lang = \"en\"\n{}", crate::receivables::COMPANY)
}

/// A draft for `customer` (its account): two days of work at 20 % VAT.
async fn draft(a: &Approvals, customer: &str) -> i64 {
    let file: facteur::receivables::sale::DraftFile = toml::from_str(&format!(
        "customer = \"{customer}\"\n[[line]]\ndescription = \"Étude\"\nquantity = 2\n\
         unit_price = \"450.00\"\nvat_rate = 20\n"
    ))
    .unwrap();
    let c = a.store.customer(customer).await.unwrap();
    let sale = facteur::receivables::sale::NewSale::draft(c.id, a.settings.company.currency, file)
        .unwrap();
    a.store.save_draft(&sale).await.unwrap().id
}

/// Presses a button of /receivables as `cookie`'s browser does (the page's nonce).
async fn sales_action(a: &Approvals, cookie: &str, sale: i64, action: &str, extra: &str) -> Reply {
    let page = get(a, "/receivables", cookie).await;
    let csrf = page.hidden("csrf").expect("the session's nonce");
    post(
        a,
        &format!("/receivables/{sale}/{action}"),
        cookie,
        &format!("csrf={csrf}{extra}"),
    )
    .await
}

both_backends!(
    receivables_are_seen_by_everyone_and_acted_on_by_accountants_only,
    |db: TestDb| async move {
        const EVIL: &str = "<script>alert(1)</script> Client SA";
        let a = Approvals::start_full(&db, PIPELINE, &selling()).await;
        let p = people(&a).await;
        let c = a
            .store
            .add_customer(&crate::receivables::customer(EVIL, "552100554", "fr"))
            .await
            .unwrap();
        let sale = draft(&a, &c.account).await;

        let seen = get(&a, "/receivables", &p.viewer).await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        assert!(seen.body.contains(&format!("id=\"sale-{sale}\"")));
        assert!(
            !seen.body.contains("action=\"/receivables/"),
            "no form for a viewer"
        );
        assert!(!seen.body.contains("<script>"), "{}", seen.body);
        assert!(seen
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; Client SA"));

        // A viewer with their own nonce, a form without one, a forged one: nothing issued.
        let refused = sales_action(&a, &p.viewer, sale, "issue", "").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        for body in ["", "csrf=00ff"] {
            let r = post(
                &a,
                &format!("/receivables/{sale}/issue"),
                &p.accountant,
                body,
            )
            .await;
            assert_eq!(r.status, 403, "{body}: {}", r.body);
        }
        let approver = sales_action(&a, &p.approver, sale, "issue", "").await;
        assert_eq!(approver.status, 403, "an approver does not issue");
        let still = a.store.sale(sale).await.unwrap();
        assert_eq!(still.state, facteur::receivables::SaleState::Draft);

        let issued = sales_action(&a, &p.accountant, sale, "issue", "").await;
        assert_eq!(issued.status, 200, "{}", issued.body);
        let number = a.store.sale(sale).await.unwrap().number.expect("a number");
        assert!(
            issued.body.contains(&format!("Issued: {number}")),
            "{}",
            issued.body
        );
        let pdf = get(&a, &format!("/receivables/{sale}/pdf"), &p.viewer).await;
        assert!(pdf.head.contains("application/pdf"), "{}", pdf.head);
        assert!(pdf.body.starts_with("%PDF"), "the stored Factur-X PDF");

        let sent = sales_action(&a, &p.accountant, sale, "send", "").await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert!(sent.body.contains("compta@client.example"), "{}", sent.body);
        let twice = sales_action(&a, &p.accountant, sale, "send", "").await;
        assert_eq!(twice.status, 409, "sent before: {}", twice.body);
        assert!(
            twice
                .body
                .contains(&format!("action=\"/receivables/{sale}/send-again\"")),
            "{}",
            twice.body
        );
        let again = sales_action(&a, &p.accountant, sale, "send-again", "").await;
        assert_eq!(again.status, 200, "asked for: {}", again.body);

        // A dispute, with its reason escaped; the page lists it.
        let bare = sales_action(&a, &p.accountant, sale, "dispute", "&reason=").await;
        assert_eq!(bare.status, 409, "a dispute says why: {}", bare.body);
        let disputed = sales_action(
            &a,
            &p.accountant,
            sale,
            "dispute",
            "&reason=%3Cb%3Ewrong%3C%2Fb%3E+quantity",
        )
        .await;
        assert_eq!(disputed.status, 200, "{}", disputed.body);
        assert!(
            disputed.body.contains("id=\"disputes\"")
                && disputed.body.contains("&lt;b&gt;wrong&lt;/b&gt; quantity"),
            "{}",
            disputed.body
        );
        assert!(!disputed.body.contains("<b>wrong"), "{}", disputed.body);

        // Eight days past due (terms 45 days) the +7 step is due, held by the dispute. Sessions
        // last 12 hours, so the viewer signs in again on the moved clock (no second factor).
        let later = |on: bool| {
            let secs = if on { 53 * 86_400 } else { 0 };
            a.skew.store(secs, std::sync::atomic::Ordering::SeqCst);
        };
        later(true);
        let viewer = crate::web::signed_in(a.port, "look@example.test", None).await;
        let due = get(&a, "/receivables", &viewer).await;
        let held = regex::Regex::new(&format!(
            r"(?s)id=.reminders-due.*{number}.*held: in dispute: &lt;b&gt;wrong"
        ))
        .unwrap();
        assert!(held.is_match(&due.body), "{}", due.body);
        later(false);
        let resolved = sales_action(&a, &p.admin, sale, "resolve", "").await;
        assert_eq!(resolved.status, 200, "{}", resolved.body);
        assert!(
            resolved.body.contains("No open dispute."),
            "{}",
            resolved.body
        );
        later(true);
        let due = get(&a, "/receivables", &viewer).await;
        let row = regex::Regex::new(&format!(
            r"(?s)id=.reminders-due.*{number}.*sent by the next run"
        ))
        .unwrap();
        assert!(row.is_match(&due.body), "{}", due.body);
        let today = (chrono::Utc::now() + chrono::Duration::days(53)).date_naive();
        let run = facteur::worker::reminders::run(a.store.as_ref(), &a.settings, today)
            .await
            .unwrap();
        assert_eq!(run.queued.len(), 1, "{run:?}");
        let after = get(&a, "/receivables", &viewer).await;
        let sent_row = regex::Regex::new(&format!(r"(?s)id=.reminders-sent.*{number}")).unwrap();
        assert!(sent_row.is_match(&after.body), "{}", after.body);
        assert!(after.body.contains("No reminder is due."), "{}", after.body);
        later(false);

        let credited = sales_action(&a, &p.accountant, sale, "credit", "").await;
        assert_eq!(credited.status, 200, "{}", credited.body);
        assert!(
            credited.body.contains("Credit note issued"),
            "{}",
            credited.body
        );
        let notes: Vec<_> = a
            .store
            .sales()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.credits == Some(sale))
            .collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].state, facteur::receivables::SaleState::Issued);

        let audit = a.store.web_audit(50).await.unwrap();
        for (actor, action) in [
            ("ctl@example.test", "sales issue"),
            ("ctl@example.test", "sales send"),
            ("ctl@example.test", "sales dispute"),
            ("root@example.test", "sales resolve"),
            ("ctl@example.test", "sales credit"),
        ] {
            assert!(
                audit.iter().any(|l| l.actor == actor && l.action == action),
                "{actor} {action}: {audit:?}"
            );
        }
    }
);

/// The value of hidden field `name` whatever its alphabet (a TOTP secret is base32).
fn field(page: &Reply, name: &str) -> String {
    let re = regex::Regex::new(&format!(r#"name="{name}" value="([^"]+)""#)).unwrap();
    re.captures(&page.body)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no field {name}: {}", page.body))
}

both_backends!(
    only_an_admin_reaches_settings_and_everyone_enrols_their_own_second_factor,
    |db: TestDb| async move {
        let a = Approvals::start_full(&db, PIPELINE, WEB).await;
        let p = people(&a).await;
        let cookies = [&p.viewer, &p.approver, &p.accountant, &p.admin];
        for (path, want) in [
            ("/settings", [403, 403, 403, 200]),
            ("/account", [200, 200, 200, 200]),
            ("/receivables", [200, 200, 200, 200]),
            ("/reports/forecast.csv", [200, 200, 200, 200]),
        ] {
            for (cookie, status) in cookies.iter().zip(want) {
                let r = get(&a, path, cookie).await;
                assert_eq!(r.status, status, "{path}: {}", r.body);
            }
        }
        let settings = get(&a, "/settings", &p.admin).await;
        for want in [
            "id=\"sources\"",
            "id=\"rules\"",
            "manager@example.test (any)",
            "id=\"users\"",
        ] {
            assert!(settings.body.contains(want), "{want}: {}", settings.body);
        }
        let csrf = settings.hidden("csrf").unwrap();

        // An approver, even with their own nonce, and a form without one, add nobody.
        let acsrf = get(&a, "/account", &p.approver)
            .await
            .hidden("csrf")
            .unwrap();
        let new = "email=new%40example.test&role=approver&password=correct+horse+battery+staple";
        let r = post(
            &a,
            "/settings/users",
            &p.approver,
            &format!("csrf={acsrf}&{new}"),
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = post(&a, "/settings/users", &p.admin, new).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let email = facteur::users::Email::parse("new@example.test").unwrap();
        assert!(a.store.user_by_email(&email).await.unwrap().is_none());

        let short = "email=new%40example.test&role=approver&password=short";
        let r = post(
            &a,
            "/settings/users",
            &p.admin,
            &format!("csrf={csrf}&{short}"),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("at least 12 characters"), "{}", r.body);
        let r = post(
            &a,
            "/settings/users",
            &p.admin,
            &format!("csrf={csrf}&{new}"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let user = a.store.user_by_email(&email).await.unwrap().expect("added");
        assert_eq!(user.role, Role::Approver);
        let evil = "email=%3Cb%3Ex%3C%2Fb%3E%40example.test&role=viewer&password=correct+horse+battery+staple";
        let r = post(
            &a,
            "/settings/users",
            &p.admin,
            &format!("csrf={csrf}&{evil}"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains("<b>x</b>"), "{}", r.body);
        assert!(
            r.body.contains("&lt;b&gt;x&lt;/b&gt;@example.test"),
            "{}",
            r.body
        );

        let change = |id: i64, form: &str| {
            let body = format!("csrf={csrf}&{form}");
            let cookie = p.admin.clone();
            let a = &a;
            async move { post(a, &format!("/settings/users/{id}"), &cookie, &body).await }
        };
        assert_eq!(change(user.id, "op=role&role=accountant").await.status, 200);
        assert_eq!(change(user.id, "op=disable").await.status, 200);
        let got = a.store.user_by_email(&email).await.unwrap().unwrap();
        assert!(got.role == Role::Accountant && got.disabled, "{got:?}");
        assert_eq!(change(user.id, "op=enable").await.status, 200);
        let ctl = facteur::users::Email::parse("ctl@example.test").unwrap();
        let ctl = a.store.user_by_email(&ctl).await.unwrap().unwrap();
        assert!(ctl.totp.is_some());
        assert_eq!(change(ctl.id, "op=remove-totp").await.status, 200);
        let ctl = a
            .store
            .user_by_email(&facteur::users::Email::parse("ctl@example.test").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(ctl.totp.is_none(), "the lost factor is removed");
        let root = facteur::users::Email::parse("root@example.test").unwrap();
        let root = a.store.user_by_email(&root).await.unwrap().unwrap();
        let own = change(root.id, "op=disable").await;
        assert_eq!(own.status, 422, "{}", own.body);
        let own = change(root.id, "op=role&role=viewer").await;
        assert_eq!(own.status, 422, "{}", own.body);
        let root = a
            .store
            .user_by_email(&facteur::users::Email::parse("root@example.test").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(!root.disabled && root.role == Role::Admin);

        // The viewer enrols a second factor: a wrong code activates nothing, the right one does.
        let page = get(&a, "/account", &p.viewer).await;
        assert!(page.body.contains("<svg"), "the QR code: {}", page.body);
        let secret = field(&page, "secret");
        assert!(page.body.contains(&format!("id=\"totp-secret\">{secret}<")));
        let vcsrf = page.hidden("csrf").unwrap();
        let totp = TotpSecret::from_base32(&secret).unwrap();
        let now = crate::web::now_unix();
        let wrong = format!(
            "{:06}",
            (totp.code_at(now).unwrap().parse::<u32>().unwrap() + 1) % 1_000_000
        );
        let r = post(
            &a,
            "/account/totp",
            &p.viewer,
            &format!("csrf={vcsrf}&secret={secret}&code={wrong}"),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        let look = facteur::users::Email::parse("look@example.test").unwrap();
        assert!(a
            .store
            .user_by_email(&look)
            .await
            .unwrap()
            .unwrap()
            .totp
            .is_none());
        let r = post(
            &a,
            "/account/totp",
            &p.viewer,
            &format!(
                "csrf={csrf}&secret={secret}&code={}",
                totp.code_at(now).unwrap()
            ),
        )
        .await;
        assert_eq!(r.status, 403, "another session's nonce: {}", r.body);
        let code = totp.code_at(now).unwrap();
        let r = post(
            &a,
            "/account/totp",
            &p.viewer,
            &format!("csrf={vcsrf}&secret={secret}&code={code}"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let codes = regex::Regex::new(r"<li>([a-z2-7]{5}-[a-z2-7]{5})</li>").unwrap();
        assert_eq!(
            codes.captures_iter(&r.body).count(),
            10,
            "ten recovery codes: {}",
            r.body
        );
        let enrolled = a.store.user_by_email(&look).await.unwrap().unwrap();
        assert_eq!(enrolled.totp, Some(totp.clone()));
        assert!(
            enrolled.totp_last_step.is_some(),
            "the confirming code is spent"
        );
        let again = get(&a, "/account", &p.viewer).await;
        assert!(
            again.body.contains("<details id=\"totp-replace\">"),
            "{}",
            again.body
        );
        assert!(
            !again.body.contains(&secret),
            "the active secret is never shown again"
        );

        // Its own password: the current one first, the new one twice.
        let pw = |current: &str, new: &str, again: &str| {
            format!("csrf={vcsrf}&current={current}&new={new}&again={again}")
        };
        let good = "correct+horse+battery+staple";
        let fresh = "a+new+and+longer+sentence";
        let r = post(
            &a,
            "/account/password",
            &p.viewer,
            &pw("nope", fresh, fresh),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        let r = post(
            &a,
            "/account/password",
            &p.viewer,
            &pw(good, fresh, "other+sentence+here"),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        let r = post(&a, "/account/password", &p.viewer, &pw(good, fresh, fresh)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let changed = a.store.user_by_email(&look).await.unwrap().unwrap();
        assert!(changed.password.verify("a new and longer sentence"));

        let audit = a.store.web_audit(100).await.unwrap();
        for (actor, action) in [
            ("root@example.test", "users add"),
            ("root@example.test", "users role"),
            ("root@example.test", "users disable"),
            ("root@example.test", "users enable"),
            ("root@example.test", "users remove totp"),
            ("look@example.test", "account totp"),
            ("look@example.test", "account password"),
        ] {
            assert!(
                audit.iter().any(|l| l.actor == actor && l.action == action),
                "{actor} {action}: {audit:?}"
            );
        }
    }
);

both_backends!(
    the_cash_forecast_is_drawn_with_its_table_and_csv_and_the_inbox_searches,
    |db: TestDb| async move {
        let mut a = Approvals::start_full(&db, PIPELINE, WEB).await;
        let doc = a.invoice("120.00", None).await;
        let other = a.invoice("480.00", None).await;
        let p = people(&a).await;
        for _ in 0..2 {
            let page = get(&a, "/approvals", &p.approver).await;
            let r = decide(&a, &p.approver, request_of(&page), "approve", "").await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        a.run().await;
        assert_eq!(a.state(doc).await, DocumentState::Posted);
        assert_eq!(a.state(other).await, DocumentState::Posted);

        let reports = get(&a, "/reports", &p.viewer).await;
        let svg = regex::Regex::new(r#"(?s)<svg id="forecast-chart".*?</svg>"#).unwrap();
        let chart = svg
            .find(&reports.body)
            .expect("the forecast chart")
            .as_str();
        assert!(
            chart.contains("class=\"bar\"") && chart.contains("payments"),
            "{chart}"
        );
        assert!(reports.body.contains("id=\"forecast-table\""));
        let csv = get(&a, "/reports/forecast.csv", &p.viewer).await;
        assert!(csv.head.contains("text/csv"), "{}", csv.head);
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines[0], "week,start,end,receipts,payments,net,cash");
        assert_eq!(lines.len(), 2 + 13, "{}", csv.body);
        // The CSV is `report forecast`'s function, week by week; both invoices are to be paid.
        let today = chrono::Utc::now().date_naive();
        let f =
            facteur::reports::cash_forecast(a.store.as_ref(), today, &a.settings.company.currency)
                .await
                .unwrap();
        for (line, w) in lines[2..].iter().zip(&f.weeks) {
            let want = format!(
                "{},{},{},{},{},{},{}",
                w.number, w.start, w.end, w.receipts, w.payments, w.net, w.cash
            );
            assert_eq!(*line, want);
        }
        let paid: rust_decimal::Decimal = f
            .weeks
            .iter()
            .map(|w| w.payments)
            .sum::<rust_decimal::Decimal>()
            + f.later_payments;
        assert_eq!(paid, rust_decimal_macros::dec!(600.00), "{}", csv.body);
        // The inbox: by amount (as typed in French), by number, by supplier, by state.
        let number = a
            .store
            .document(other)
            .await
            .unwrap()
            .summary
            .invoice_number
            .unwrap();
        let link = regex::Regex::new(r#"href="/documents/(\d+)""#).unwrap();
        for (query, want) in [
            ("amount=480%2C00", vec![other]),
            ("amount=120.00&state=posted", vec![doc]),
            (&*format!("number={number}") as &str, vec![other]),
            ("supplier=nobody", vec![]),
        ] {
            let r = get(&a, &format!("/?{query}"), &p.viewer).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let found: Vec<i64> = link
                .captures_iter(&r.body)
                .map(|c| c[1].parse().unwrap())
                .collect();
            let want: Vec<i64> = want.iter().map(|d| d.0).collect();
            assert_eq!(found, want, "{query}");
        }
        let bad = get(&a, "/?amount=douze", &p.viewer).await;
        assert!(
            bad.body.contains("The amount is not a number"),
            "{}",
            bad.body
        );
    }
);
