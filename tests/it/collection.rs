//! Receivables after issuing (issue 13), on both backends, through the real binary and the real
//! SMTP server of the approval tests (aiosmtpd, tests/services/smtp.rs): an issued invoice is
//! mailed to the customer's invoice mailbox with its PDF attached, once unless asked again; the
//! reminder ladder steps in order on a controlled clock to the reminder contact, holds while the
//! invoice is disputed and resumes after, sends only the latest step when a run comes late,
//! never sends a step twice (run twice, or four runs racing), and stops once a bank statement
//! has paid the invoice; money in pays the customer invoice it names (or the payer's only one
//! of its amount), Dr 512 / Cr 411, and the AR aged balance goes to zero.

use crate::smtp;

use std::sync::Arc;

use chrono::NaiveDate;
use facteur::config::Settings;
use facteur::reports::{aged_balance, Side};
use facteur::store::Store;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use smtp::Smtp;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger::Books;
use crate::receivables::COMPANY;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// A workspace on the test database with the company of the receivables tests, a penalty rate,
/// and `[smtp]` pointing at a private server.
struct Ar {
    books: Books,
    store: Arc<dyn Store>,
    settings: Settings,
    smtp: Smtp,
}

impl Ar {
    async fn start(db: &TestDb) -> Ar {
        let smtp = Smtp::start();
        let books = Books::new(
            db,
            &format!("{COMPANY}late_penalty_percent = \"12\"\n{}", smtp.config()),
        );
        let settings = Settings::load(&books.config, false).unwrap();
        Ar {
            books,
            store: db.store().await,
            settings,
            smtp,
        }
    }

    /// Runs `facteur ARGS`, which must succeed; what it said.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.books.facteur(args);
        assert!(out.status.success(), "facteur {args:?}: {}", said(&out));
        said(&out)
    }

    /// Runs `facteur ARGS --json`-style commands, which must succeed; their stdout as JSON.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.books.facteur(args);
        assert!(out.status.success(), "facteur {args:?}: {}", said(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&out)))
    }

    /// A customer with 30 days' terms, invoices to `compta@`, reminders to `relances@`.
    fn customer(&self, name: &str, siren: &str, lang: &str) {
        self.ok(&[
            "customers",
            "add",
            "--name",
            name,
            "--address",
            "3 place du Marché",
            "--postcode",
            "69002",
            "--city",
            "Lyon",
            "--siren",
            siren,
            "--invoice-email",
            "compta@client.example",
            "--reminder-email",
            "relances@client.example",
            "--lang",
            lang,
            "--payment-terms-days",
            "30",
        ]);
    }

    /// Drafts and issues an invoice of `quantity` × 450.00 + 20 % for customer `C<siren>`
    /// on `date`; its sale id.
    async fn issue(&self, siren: &str, quantity: u32, date: NaiveDate) -> i64 {
        let file = self
            .books
            .ws
            .join(format!("draft-{siren}-{quantity}-{date}.toml"));
        std::fs::write(
            &file,
            format!(
                "customer = \"C{siren}\"\n[[line]]\ndescription = \"Conseil\"\n\
                 quantity = {quantity}\nunit_price = \"450.00\"\nvat_rate = 20\n"
            ),
        )
        .unwrap();
        let drafted = self.ok(&["sales", "draft", &file.display().to_string()]);
        let id: i64 = drafted
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("draft id in {drafted}"));
        self.ok(&[
            "sales",
            "issue",
            &id.to_string(),
            "--date",
            &date.to_string(),
        ]);
        id
    }

    /// Imports a CSV statement of one line of money in.
    fn statement(&self, date: NaiveDate, amount: &str, reference: &str, payer: &str) -> String {
        let file = self.books.ws.join(format!("releve-{date}-{amount}.csv"));
        std::fs::write(
            &file,
            format!(
                "date;amount;reference;counterparty;iban\n{date};{amount};{reference};{payer};\n"
            ),
        )
        .unwrap();
        self.ok(&["bank", "import", &file.display().to_string()])
    }

    /// Runs the reminders of `at` in process; how many were queued.
    async fn remind(&self, at: NaiveDate) -> usize {
        facteur::worker::reminders::run(self.store.as_ref(), &self.settings, at)
            .await
            .unwrap()
            .queued
            .len()
    }

    /// Delivers the outbox to the SMTP server; every message it holds, parsed: (to, subject,
    /// attachment names and bytes).
    async fn deliver(&self) -> Vec<Mail> {
        let smtp = self.settings.smtp.as_ref().unwrap();
        let sender = facteur::notify::SmtpSender::build(smtp, &self.settings.base_dir).unwrap();
        facteur::notify::send_due(
            self.store.as_ref(),
            &sender,
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
        self.smtp
            .messages()
            .iter()
            .map(|m| Mail::parse(m))
            .collect()
    }

    async fn open_ar(&self, at: NaiveDate) -> Decimal {
        let aged = aged_balance(self.store.as_ref(), Side::Ar, at)
            .await
            .unwrap();
        assert_eq!(
            aged.difference,
            Decimal::ZERO,
            "the aged balance reconciles"
        );
        aged.total
    }
}

/// A received message, as a mail client shows it.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    attachments: Vec<(String, Vec<u8>)>,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        use mail_parser::MimeHeaders;
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("a MIME message");
        Mail {
            to: m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string(),
            subject: m.subject().unwrap_or_default().to_string(),
            text: m.body_text(0).unwrap_or_default().to_string(),
            attachments: m
                .attachments()
                .map(|a| {
                    (
                        a.attachment_name().unwrap_or_default().to_string(),
                        a.contents().to_vec(),
                    )
                })
                .collect(),
        }
    }
}

both_backends!(
    an_issued_invoice_is_mailed_with_its_pdf,
    |db: TestDb| async move {
        let ar = Ar::start(&db).await;
        ar.customer("Harbour Lights Ltd", "552100554", "en");
        let id = ar.issue("552100554", 3, day(3, 2)).await;
        let sent = ar.ok(&["sales", "send", &id.to_string()]);
        assert!(
            sent.contains("FA-2026-00001 queued for compta@client.example (en)"),
            "{sent}"
        );
        // Sent once: again only when asked.
        let twice = ar.books.facteur(&["sales", "send", &id.to_string()]);
        assert_eq!(twice.status.code(), Some(2), "{}", said(&twice));
        assert!(said(&twice).contains("--again"), "{}", said(&twice));
        ar.ok(&["sales", "send", &id.to_string(), "--again", "--by", "alice"]);

        let mails = ar.deliver().await;
        assert_eq!(mails.len(), 2, "{mails:?}");
        let pdf = ar.store.sale_pdf(id).await.unwrap();
        for m in &mails {
            assert_eq!(m.to, "compta@client.example", "the invoice mailbox");
            assert_eq!(m.subject, "Invoice FA-2026-00001 from Atelier Lumière SAS");
            assert!(m.text.contains("due by 1 April 2026"), "{}", m.text);
            assert!(m.text.contains("€1,620.00"), "{}", m.text);
            assert_eq!(m.attachments.len(), 1);
            assert_eq!(m.attachments[0].0, "FA-2026-00001.pdf");
            assert!(
                m.attachments[0].1 == pdf,
                "the attachment is the issued PDF"
            );
        }
        let events = ar.json(&["sales", "history", &id.to_string(), "--json"]);
        let kinds: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["issued", "sent", "sent"]);
        assert_eq!(events[2]["actor"], "alice");
        assert!(events[2]["detail"].as_str().unwrap().contains("(again)"));
        // A draft is not sent.
        let file = ar.books.ws.join("d.toml");
        std::fs::write(
            &file,
            "customer = \"C552100554\"\n[[line]]\ndescription = \"x\"\nquantity = 1\n\
         unit_price = \"1\"\nvat_rate = 20\n",
        )
        .unwrap();
        ar.ok(&["sales", "draft", &file.display().to_string()]);
        let draft = ar.books.facteur(&["sales", "send", &(id + 1).to_string()]);
        assert_eq!(draft.status.code(), Some(2));
        assert!(
            said(&draft).contains("only an issued invoice"),
            "{}",
            said(&draft)
        );
    }
);

both_backends!(
    reminders_climb_the_ladder_hold_on_dispute_and_stop_when_paid,
    |db: TestDb| async move {
        let ar = Ar::start(&db).await;
        ar.customer("Boulangerie Martin", "552100554", "fr");
        // 1 620.00 issued on 2 March, due 1 April: steps on 27/03, 01/04, 08/04, 16/04,
        // 01/05 and 16/05.
        let id = ar.issue("552100554", 3, day(3, 2)).await;
        assert_eq!(ar.remind(day(3, 26)).await, 0, "six days before: nothing");
        assert_eq!(ar.remind(day(3, 27)).await, 1, "the courteous note");
        assert_eq!(ar.remind(day(3, 27)).await, 0, "run twice: sent once");
        assert_eq!(ar.remind(day(3, 31)).await, 0);

        // Disputed: the due-day reminder is held, and said so by the preview.
        ar.ok(&[
            "sales",
            "dispute",
            &id.to_string(),
            "--reason",
            "quantités livrées contestées",
            "--by",
            "bob",
        ]);
        let plan = ar.json(&["reminders", "preview", "--at", "2026-04-01", "--json"]);
        assert_eq!(plan[0]["step_label"], "D+0");
        assert_eq!(plan[0]["action"]["action"], "hold");
        assert_eq!(ar.remind(day(4, 1)).await, 0, "held while disputed");
        let again = ar
            .books
            .facteur(&["sales", "dispute", &id.to_string(), "--reason", "x"]);
        assert_eq!(again.status.code(), Some(2), "disputed already");
        ar.ok(&["sales", "resolve", &id.to_string(), "--by", "bob"]);
        let table = ar.ok(&["reminders", "preview", "--at", "2026-04-03"]);
        assert!(table.contains("D+0 due  send to relances@"), "{table}");
        assert_eq!(ar.remind(day(4, 3)).await, 1, "resumed: the due-day step");

        // Off until 20 April: +7 and +15 have both passed, only +15 goes out.
        assert_eq!(ar.remind(day(4, 20)).await, 1);
        assert_eq!(ar.remind(day(4, 21)).await, 0);

        // A partial payment: the final reminder states what is left.
        let paid = ar.statement(
            day(4, 24),
            "1000,00",
            "VIR FACTURE FA-2026-00001",
            "BOULANGERIE MARTIN",
        );
        assert!(
            paid.contains("pays invoice FA-2026-00001 (invoice number in the reference)"),
            "{paid}"
        );
        assert!(paid.contains("620.00 still open"), "{paid}");
        assert_eq!(ar.open_ar(day(4, 24)).await, dec!(620.00));
        assert_eq!(ar.remind(day(5, 1)).await, 1, "the final reminder");
        // Late again: only the formal notice.
        assert_eq!(ar.remind(day(6, 30)).await, 1, "the formal notice");
        assert_eq!(ar.remind(day(12, 31)).await, 0, "the ladder has ended");

        let mails = ar.deliver().await;
        let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "Échéance prochaine : facture FA-2026-00001",
                "Facture FA-2026-00001 arrivée à échéance",
                "Relance : facture FA-2026-00001 en retard de 19 jours",
                "Dernière relance avant mise en demeure : facture FA-2026-00001",
                "Mise en demeure de payer : facture FA-2026-00001",
            ]
        );
        assert!(
            mails.iter().all(|m| m.to == "relances@client.example"),
            "the reminder contact"
        );
        assert!(
            mails.iter().all(|m| m.attachments.len() == 1),
            "the invoice attached"
        );
        let final_reminder = &mails[3].text;
        assert!(final_reminder.contains("620,00\u{a0}€"), "{final_reminder}");
        let notice = &mails[4].text;
        assert!(notice.contains("au taux annuel de 12 %"), "{notice}");
        assert!(notice.contains("40,00\u{a0}€"), "{notice}");
        assert!(notice.contains("depuis 90 jours"), "{notice}");

        let events = ar.json(&["sales", "history", &id.to_string(), "--json"]);
        let kinds: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "issued", "reminded", "disputed", "resolved", "reminded", "reminded", "paid",
                "reminded", "reminded"
            ]
        );
    }
);

both_backends!(
    a_bank_statement_pays_the_customer_invoice_and_the_reminders_stop,
    |db: TestDb| async move {
        let ar = Ar::start(&db).await;
        ar.customer("Boulangerie Martin", "552100554", "fr");
        ar.customer("Café du Port", "732829320", "fr");
        let a = ar.issue("552100554", 3, day(3, 2)).await; // 1 620.00
        let b = ar.issue("732829320", 1, day(3, 3)).await; // 540.00
        let c = ar.issue("552100554", 1, day(3, 4)).await; // 540.00
        assert_eq!(ar.open_ar(day(3, 31)).await, dec!(2700.00));

        // Named in the reference: pays it whole. By amount and payer, no number: the Café's
        // own 540.00, not the Boulangerie's. An amount nobody owes waits for a person.
        let paid = ar.statement(
            day(3, 30),
            "1620,00",
            "VIR SEPA FA 2026 00001",
            "BOULANGERIE MARTIN SARL",
        );
        assert!(
            paid.contains("booked as BQ2026-000001, 0.00 still open"),
            "{paid}"
        );
        let by_payer = ar.statement(day(3, 31), "540,00", "REGLEMENT MARS", "CAFE DU PORT");
        assert!(
            by_payer.contains("pays invoice FA-2026-00002 (the amount and the customer's name)"),
            "{by_payer}"
        );
        let unknown = ar.statement(day(3, 31), "77,00", "VIREMENT", "INCONNU");
        assert!(
            unknown.contains("waits: money in: no open invoice"),
            "{unknown}"
        );
        // The same file again books nothing twice.
        let again = ar.statement(
            day(3, 30),
            "1620,00",
            "VIR SEPA FA 2026 00001",
            "BOULANGERIE MARTIN SARL",
        );
        assert!(again.contains("0 new, 1 already imported"), "{again}");

        assert_eq!(
            ar.open_ar(day(3, 31)).await,
            dec!(540.00),
            "only the third is owed"
        );
        assert_eq!(
            ar.remind(day(4, 1)).await,
            1,
            "only the third one is reminded"
        );
        let plan = facteur::worker::reminders::plan(ar.store.as_ref(), &ar.settings, day(4, 10))
            .await
            .unwrap();
        let numbers: Vec<&str> = plan.iter().map(|p| p.number.as_str()).collect();
        assert_eq!(numbers, ["FA-2026-00003"]);

        // A person matches the waiting line… to the wrong amount: refused; the third invoice
        // is then paid by its own line and everything is settled.
        let lines = ar.json(&["bank", "lines", "--unmatched", "--json"]);
        let waiting = lines[0]["id"].as_i64().unwrap().to_string();
        let wrong = ar
            .books
            .facteur(&["bank", "match", &waiting, "--sale", &a.to_string()]);
        assert_eq!(wrong.status.code(), Some(2), "{}", said(&wrong));
        assert!(said(&wrong).contains("which has 0"), "{}", said(&wrong));
        let third = ar.statement(day(4, 12), "540,00", "FA-2026-00003", "BOULANGERIE MARTIN");
        assert!(third.contains("0.00 still open"), "{third}");
        assert_eq!(ar.open_ar(day(4, 12)).await, Decimal::ZERO, "AR settled");
        assert_eq!(ar.remind(day(4, 20)).await, 0, "paid: the reminders stop");

        // The books: 411 settled, the bank received what the statements say, the chain holds.
        let balance = ar.store.trial_balance(None).await.unwrap();
        let net = |account: &str| -> Decimal {
            balance
                .iter()
                .filter(|l| l.account == account)
                .map(|l| l.net())
                .sum()
        };
        assert_eq!(net("411"), Decimal::ZERO);
        assert_eq!(net("512"), dec!(2700.00));
        let verify = ar.ok(&["ledger", "verify"]);
        assert!(!verify.is_empty());
        for id in [a, b, c] {
            let h = ar.ok(&["sales", "history", &id.to_string(), "--json"]);
            assert!(h.contains("\"paid\""), "{h}");
            assert!(h.contains("paid in full (matching code"), "{h}");
        }
    }
);

both_backends!(
    racing_reminder_runs_send_each_step_once,
    |db: TestDb| async move {
        let ar = Ar::start(&db).await;
        ar.customer("Boulangerie Martin", "552100554", "fr");
        for q in 1..=6 {
            ar.issue("552100554", q, day(3, 2)).await;
        }
        let settings = Arc::new(ar.settings.clone());
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let (store, settings) = (ar.store.clone(), settings.clone());
                tokio::spawn(async move {
                    facteur::worker::reminders::run(store.as_ref(), &settings, day(4, 8))
                        .await
                        .unwrap()
                        .queued
                        .len()
                })
            })
            .collect();
        let mut total = 0;
        for r in runs {
            total += r.await.unwrap();
        }
        assert_eq!(total, 6, "each invoice's +7 step once, whoever ran it");
        let mails = ar.deliver().await;
        assert_eq!(mails.len(), 6, "{mails:?}");
        assert!(mails
            .iter()
            .all(|m| m.subject.contains("en retard de 7 jours")));
    }
);

both_backends!(
    recurring_schedules_bill_each_period_once_even_racing,
    |db: TestDb| async move {
        let ar = Ar::start(&db).await;
        ar.customer("Boulangerie Martin", "552100554", "fr");
        let schedule = |name: &str, rest: &str| {
            let file = ar.books.ws.join(format!("{name}.toml"));
            std::fs::write(
                &file,
                format!(
                    "name = \"{name}\"\ncustomer = \"C552100554\"\nnote = \"Maintenance\"\n{rest}\n\
                     [[line]]\ndescription = \"Maintenance mensuelle\"\nquantity = 1\n\
                     unit_price = \"100.00\"\nvat_rate = 20\n"
                ),
            )
            .unwrap();
            file.display().to_string()
        };
        let monthly = schedule(
            "maintenance",
            "frequency = \"monthly\"\nday = 31\nstart = 2026-01-15\ncount = 6\nissue = true",
        );
        let added = ar.ok(&["recurring", "add", &monthly]);
        assert!(added.contains("first 2026-01-31 (2026-01)"), "{added}");
        let twice = ar.books.facteur(&["recurring", "add", &monthly]);
        assert_eq!(twice.status.code(), Some(2), "{}", said(&twice));
        let quarterly = schedule(
            "audit",
            "frequency = \"quarterly\"\nday = 1\nstart = 2026-04-01\nend = 2026-12-31",
        );
        ar.ok(&["recurring", "add", &quarterly]);

        let preview = ar.json(&[
            "recurring",
            "preview",
            "--from",
            "2026-01-01",
            "--count",
            "2",
            "--json",
        ]);
        let dates: Vec<(&str, &str)> = preview
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["date"].as_str().unwrap(), o["period"].as_str().unwrap()))
            .collect();
        assert_eq!(
            dates,
            [
                ("2026-01-31", "2026-01"),
                ("2026-02-28", "2026-02"),
                ("2026-04-01", "2026-Q2"),
                ("2026-07-01", "2026-Q3"),
            ]
        );

        let first = ar.ok(&["recurring", "run", "--at", "2026-02-28"]);
        assert!(
            first.contains("maintenance 2026-01: issued FA-2026-00001"),
            "{first}"
        );
        assert!(
            first.contains("maintenance 2026-02: issued FA-2026-00002"),
            "{first}"
        );
        assert!(first.contains("2 period(s) billed"), "{first}");
        let again = ar.ok(&["recurring", "run", "--at", "2026-02-28"]);
        assert!(again.contains("0 period(s) billed"), "{again}");

        // Four runs at once, up to the end of the year: the four remaining months and the three
        // quarters, each billed once, the numbers gap-free and in date order.
        let settings = Arc::new(ar.settings.clone());
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let (store, settings) = (ar.store.clone(), settings.clone());
                tokio::spawn(async move {
                    facteur::worker::recurring::run(store.as_ref(), &settings, day(12, 31))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut billed = 0;
        for r in runs {
            let done = r.await.unwrap();
            assert!(done.failed.is_empty(), "{:?}", done.failed);
            billed += done.billed.len();
        }
        assert_eq!(billed, 4 + 3);
        let sales = ar.store.sales().await.unwrap();
        let mut numbers: Vec<String> = sales.iter().filter_map(|s| s.number.clone()).collect();
        numbers.sort();
        let expected: Vec<String> = (1..=6).map(|n| format!("FA-2026-{n:05}")).collect();
        assert_eq!(numbers, expected, "the six months issued, nothing twice");
        let drafts: Vec<&Option<String>> = sales
            .iter()
            .filter(|s| s.number.is_none())
            .map(|s| &s.note)
            .collect();
        assert_eq!(drafts.len(), 3, "the audit's quarters wait as drafts");
        assert!(drafts
            .iter()
            .any(|n| n.as_deref() == Some("Maintenance (2026-Q3)")));
        let june = sales
            .iter()
            .find(|s| s.number.as_deref() == Some("FA-2026-00006"))
            .unwrap();
        assert_eq!(june.issue_date, Some(day(6, 30)));
        let list = ar.json(&["recurring", "list", "--json"]);
        assert_eq!(list[1]["name"], "maintenance");
        assert_eq!(list[1]["billed"].as_array().unwrap().len(), 6);
    }
);
