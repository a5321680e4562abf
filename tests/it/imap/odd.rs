//! Odd mail (no attachment, not a mail at all, broken base64, a 30 MB attachment over the cap,
//! French file names in RFC 2231 and RFC 2047 forms) and a UIDVALIDITY reset.

use super::*;

async fn odd_mail(backend: Backend) {
    let dv = Dovecot::start(&["Processed"]);
    let db = Db::new(backend).await;
    let store = db.store().await;
    let docs = Docs::load();
    let plain = b"From: someone@example.test\r\nTo: ap@example.test\r\nSubject: Bonjour\r\n\
        Message-ID: <plain@x>\r\n\r\nNo attachment here.\r\n"
        .to_vec();
    let garbage = b"\x00\x01\x02 this is not a mail at all\r\n".to_vec();
    let broken_base64 = message(
        2,
        "a@example.test",
        "cassé",
        &[Attachment::named("f.pdf", "application/pdf", Vec::new())],
    );
    let broken_base64 = String::from_utf8(broken_base64)
        .unwrap()
        .replace(
            "Content-Disposition: attachment; filename=\"f.pdf\"\r\n\r\n",
            "Content-Disposition: attachment; filename=\"f.pdf\"\r\n\r\n!!!not*base64@@@\r\n",
        )
        .into_bytes();
    let mut big = docs.pdf(900);
    big.resize(30 * 1024 * 1024, b' ');
    let huge = message(
        3,
        "b@example.test",
        "gros",
        &[Attachment::named("gros.pdf", "application/pdf", big)],
    );
    let rfc2231 = message(
        4,
        "compta@fournisseur.example",
        "=?UTF-8?Q?Facture_=C3=A9t=C3=A9?=",
        &[Attachment {
            content_type: "application/pdf".into(),
            disposition: "attachment; filename*=UTF-8''Facture%20%C3%A9t%C3%A9.pdf".into(),
            bytes: docs.pdf(901),
        }],
    );
    let rfc2047 = message(
        5,
        "compta@fournisseur.example",
        "Facture",
        &[Attachment {
            content_type: "application/pdf; name=\"=?UTF-8?B?RmFjdHVyZSDDqXTDqS5wZGY=?=\"".into(),
            disposition: "attachment; filename=\"=?UTF-8?B?RmFjdHVyZSDDqXTDqS5wZGY=?=\"".into(),
            bytes: docs.pdf(902),
        }],
    );
    dv.append(
        "INBOX",
        &[plain, garbage, broken_base64, huge, rfc2231, rfc2047],
    )
    .await;
    // Downloaded (max_message_mb), then refused by intake's limit (max_document_mb = 20).
    let cfg = config(&dv, "max_message_mb = 100\n");
    let c = ctx(store.clone(), 20);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 6);
    assert_eq!(
        store.counts().await.unwrap().documents,
        2,
        "only the two French invoices"
    );

    let list = store.list_documents(None, 10).await.unwrap();
    assert!(
        list.iter().all(|d| d.file_name == "Facture été.pdf"),
        "{list:?}"
    );
    let doc = store.document(list[0].id).await.unwrap();
    assert!(
        matches!(&doc.origin, Origin::Imap { from: Some(f), .. } if f == "compta@fournisseur.example")
    );

    let status = store.mail_status().await.unwrap();
    let f = &status.folders[0];
    assert_eq!((f.imported, f.nothing, f.failing), (2, 1, 3), "{f:?}");
    let reasons: Vec<String> = status
        .failing
        .iter()
        .filter_map(|m| m.reason.clone())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("too large")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("not a MIME message")),
        "{reasons:?}"
    );
    // Still in INBOX: the plain mail (nothing to take) and the three failing ones, flagged.
    assert_eq!(dv.search("INBOX", "ALL").await.0.len(), 4);
    let flagged = dv
        .search("INBOX", &format!("KEYWORD {FAILED_KEYWORD}"))
        .await
        .0;
    assert_eq!(flagged.len(), 3);
    // Nothing is fetched again.
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_mail_sqlite() {
    odd_mail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_mail_postgres() {
    odd_mail(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_reset_rescans_without_duplicating() {
    let dv = Dovecot::start(&["Factures"]);
    let db = Db::new(Backend::Sqlite).await;
    let store = db.store().await;
    let docs = Docs::load();
    let mails: Vec<Vec<u8>> = (0..5).map(|i| docs.invoice_mail(i).0).collect();
    let expected: usize = (0..5).map(|i| docs.invoice_mail(i).1).sum();
    dv.append("Factures", &mails).await;
    let cfg = config(&dv, "[[folder]]\nname = \"Factures\"\naction = \"none\"\n");
    let c = ctx(store.clone(), 100);
    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    let uv1 = r[0].uidvalidity.unwrap();
    assert_eq!(store.counts().await.unwrap().documents, expected as i64);

    dv.command(&["RENAME Factures Old", "CREATE Factures"])
        .await;
    dv.copy_all("Old", "Factures").await;
    let (uids, uv2) = dv.search("Factures", "ALL").await;
    assert_eq!(uids.len(), 5);
    assert_ne!(uv1, uv2, "Dovecot gave the new folder a new UIDVALIDITY");

    let r = check_once(&cfg, &c).await.unwrap().unwrap();
    assert_eq!(r[0].fetched, 5, "a new generation is rescanned");
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.documents, expected as i64, "no duplicate document");
    assert_eq!(
        counts.arrivals,
        2 * expected as i64,
        "recorded as re-arrivals"
    );
}
