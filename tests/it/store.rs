//! The store conformance suite: the same tests on SQLite and PostgreSQL (STYLE.md rule 8).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use facteur::domain::{
    DocType, DocumentState, Extraction, Invoice, Method, Origin, RawDocument, Stage,
};
use facteur::store::queue::FailureKind;
use facteur::store::{Effects, IntakeOutcome, JobFate, RetryPolicy, Store, StoreError, Transition};
use rust_decimal_macros::dec;

use crate::both_backends;
use crate::helpers::*;

pub fn raw(bytes: &[u8], path: &str) -> RawDocument {
    RawDocument {
        bytes: bytes.to_vec(),
        name: path.rsplit('/').next().unwrap_or(path).to_string(),
        origin: Origin::Folder {
            source: "inbox".into(),
            path: path.into(),
        },
    }
}

pub const LEASE: Duration = Duration::from_secs(60);
pub const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    backoff: Duration::from_secs(0),
    max_crashes: 2,
    max_takebacks: 10,
};

both_backends!(intake_is_content_addressed, |db: TestDb| async move {
    let store = db.store().await;
    let a = store.intake(&raw(b"%PDF-1.4 one", "a.pdf")).await.unwrap();
    let b = store
        .intake(&raw(b"%PDF-1.4 one", "copy of a.pdf"))
        .await
        .unwrap();
    let c = store.intake(&raw(b"%PDF-1.4 two", "c.pdf")).await.unwrap();
    assert!(matches!(a, IntakeOutcome::Created(_)));
    assert_eq!(b, IntakeOutcome::Rearrived(a.document()));
    assert!(matches!(c, IntakeOutcome::Created(id) if id != a.document()));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.documents, counts.arrivals), (2, 3));
    assert_eq!(counts.jobs("queued"), 2, "one read job per new document");
    let doc = store.document(a.document()).await.unwrap();
    assert_eq!(
        store.blob(&doc.content_hash).await.unwrap(),
        b"%PDF-1.4 one"
    );
    assert_eq!(doc.summary.state, DocumentState::Received);
    assert_eq!(doc.arrivals.len(), 2);
    assert!(doc.arrivals[0].first && !doc.arrivals[1].first);
    assert_eq!(doc.events.len(), 1);
    assert!(matches!(
        store.document(facteur::domain::DocumentId(999_999)).await,
        Err(StoreError::NotFound(_))
    ));
});

both_backends!(
    concurrent_intake_of_same_bytes_makes_one_document,
    |db: TestDb| async move {
        let store = db.store().await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let s = store.clone();
            tasks.spawn(async move {
                s.intake(&raw(b"%PDF-1.4 same bytes", &format!("{i}.pdf")))
                    .await
            });
        }
        let mut ids = HashSet::new();
        while let Some(r) = tasks.join_next().await {
            ids.insert(r.unwrap().unwrap().document());
        }
        assert_eq!(ids.len(), 1);
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.documents, counts.arrivals), (1, 8));
    }
);

both_backends!(eight_claimers_never_share_a_job, |db: TestDb| async move {
    let store = db.store().await;
    for i in 0..120 {
        store
            .intake(&raw(
                format!("%PDF doc {i}").as_bytes(),
                &format!("{i}.pdf"),
            ))
            .await
            .unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let s: Arc<dyn Store> = store.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = s
                .claim_job(&format!("w{w}"), &[Stage::Read], LEASE)
                .await
                .unwrap()
            {
                mine.push(job.id);
                let t = Transition {
                    to: DocumentState::Read,
                    reason: "ok".into(),
                    effects: Effects::None,
                    next: None,
                };
                s.complete_job(&job, t).await.unwrap();
            }
            mine
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 120, "every job claimed");
    assert_eq!(unique.len(), 120, "no job claimed twice");
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.jobs("done"), 120);
    assert_eq!(counts.state(DocumentState::Read), 120);
});

both_backends!(claims_only_the_asked_stages, |db: TestDb| async move {
    let store = db.store().await;
    store.intake(&raw(b"%PDF x", "x.pdf")).await.unwrap();
    assert!(store
        .claim_job("w", &[Stage::Dedupe], LEASE)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .claim_job("w", &[Stage::Dedupe, Stage::Read], LEASE)
        .await
        .unwrap()
        .is_some());
});

both_backends!(
    completion_saves_fields_and_enqueues_next,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF y", "y.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let invoice = Invoice {
            doc_type: DocType::Invoice,
            number: Some("F-1".into()),
            issue_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 12),
            currency: Some(facteur::domain::Currency::EUR),
            total_net: Some(dec!(1234.50)),
            total_tax: Some(dec!(246.90)),
            total_gross: Some(dec!(1481.40)),
            ..Invoice::default()
        };
        let t = Transition {
            to: DocumentState::Read,
            reason: "read".into(),
            effects: Effects::Read(Box::new(Extraction::certain(invoice.clone(), Method::Xml))),
            next: Some(Stage::Dedupe),
        };
        store.complete_job(&job, t.clone()).await.unwrap();
        // A second completion of the same job is a conflict and changes nothing.
        assert!(matches!(
            store.complete_job(&job, t).await,
            Err(StoreError::Conflict(_))
        ));
        let doc = store.document(id).await.unwrap();
        assert_eq!(
            doc.summary.total_gross,
            Some(dec!(1481.40)),
            "money round-trips exactly"
        );
        assert_eq!(doc.summary.invoice_number.as_deref(), Some("F-1"));
        assert_eq!(doc.extraction.unwrap().invoice, invoice);
        assert_eq!(doc.events.len(), 2);
        assert_eq!(doc.events[1].from_state, Some(DocumentState::Received));
        assert_eq!(
            store.counts().await.unwrap().jobs("queued"),
            1,
            "next stage enqueued"
        );
    }
);

both_backends!(failures_back_off_then_die, |db: TestDb| async move {
    let store = db.store().await;
    let id = store
        .intake(&raw(b"%PDF z", "z.pdf"))
        .await
        .unwrap()
        .document();
    let policy = RetryPolicy {
        max_attempts: 2,
        backoff: Duration::from_secs(3600),
        max_crashes: 2,
        max_takebacks: 10,
    };
    let job = store
        .claim_job("w", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store
            .fail_job(&job, "boom 1", FailureKind::Transient, policy)
            .await
            .unwrap(),
        JobFate::Retry { .. }
    ));
    assert!(
        store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .is_none(),
        "backoff respected"
    );
    let job = store.claim_job("w", &[Stage::Read], LEASE).await.unwrap();
    assert!(job.is_none());
    // With no backoff the retry is immediate, and the second failure is the last.
    let id2 = store
        .intake(&raw(b"%PDF z2", "z2.pdf"))
        .await
        .unwrap()
        .document();
    let job = store
        .claim_job("w", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.document, id2);
    assert!(matches!(
        store
            .fail_job(&job, "boom 1", FailureKind::Transient, RETRY)
            .await
            .unwrap(),
        JobFate::Retry { .. }
    ));
    let job = store
        .claim_job("w", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 2);
    assert_eq!(
        store
            .fail_job(&job, "boom 2", FailureKind::Transient, RETRY)
            .await
            .unwrap(),
        JobFate::Dead
    );
    let doc = store.document(id2).await.unwrap();
    assert_eq!(doc.summary.state, DocumentState::Failed);
    assert!(doc.summary.reason.unwrap().contains("boom 2"));
    assert_eq!(doc.jobs[0].status, "dead");
    assert_eq!(
        store.document(id).await.unwrap().summary.state,
        DocumentState::Received
    );
});

both_backends!(expired_leases_are_reaped, |db: TestDb| async move {
    let store = db.store().await;
    store.intake(&raw(b"%PDF r", "r.pdf")).await.unwrap();
    let job = store
        .claim_job("crashed", &[Stage::Read], Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .claim_job("other", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .is_none());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        store
            .reap_expired(RetryPolicy {
                max_attempts: 5,
                ..RETRY
            })
            .await
            .unwrap(),
        1
    );
    let again = store
        .claim_job("other", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempts, 1, "a take-back gives the attempt back");
    // The crashed worker's late completion is refused.
    let t = Transition {
        to: DocumentState::Read,
        reason: "late".into(),
        effects: Effects::None,
        next: None,
    };
    assert!(matches!(
        store.complete_job(&job, t).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.renew_lease(&again, LEASE).await.unwrap());
    assert!(!store.renew_lease(&job, LEASE).await.unwrap());
});

// RETRY allows 2 attempts: six workers killed while holding the job do not use them up (each
// take-back gives its attempt back), and the job fails only at `max_takebacks`, with a reason
// that says so. A real failure after that still has its whole allowance.
both_backends!(
    killed_workers_do_not_use_up_attempts_but_take_backs_are_bounded,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF tb", "tb.pdf"))
            .await
            .unwrap()
            .document();
        let policy = RetryPolicy {
            max_takebacks: 7,
            ..RETRY
        };
        for round in 1..=7u32 {
            let job = store
                .claim_job(
                    &format!("killed-{round}"),
                    &[Stage::Read],
                    Duration::from_millis(1),
                )
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: the job is runnable again"));
            assert_eq!(job.attempts, 1, "round {round}: attempts given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(store.reap_expired(policy).await.unwrap(), 1);
        }
        let doc = store.document(id).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::Failed);
        assert_eq!(doc.jobs[0].status, "dead");
        let reason = doc.summary.reason.unwrap();
        assert!(reason.contains("taken back 7 times"), "{reason}");

        // A second document: six take-backs, then an ordinary failure is retried once more.
        let id2 = store
            .intake(&raw(b"%PDF tb2", "tb2.pdf"))
            .await
            .unwrap()
            .document();
        for _ in 0..6 {
            store
                .claim_job("killed", &[Stage::Read], Duration::from_millis(1))
                .await
                .unwrap()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            store.reap_expired(policy).await.unwrap();
        }
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            store
                .fail_job(&job, "boom", FailureKind::Transient, policy)
                .await
                .unwrap(),
            JobFate::Retry { .. }
        ));
        assert_eq!(
            store.document(id2).await.unwrap().summary.state,
            DocumentState::Received
        );
    }
);

both_backends!(
    released_jobs_run_again_without_counting,
    |db: TestDb| async move {
        let store = db.store().await;
        store.intake(&raw(b"%PDF s", "s.pdf")).await.unwrap();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        store.release_job(&job).await.unwrap();
        let again = store
            .claim_job("w2", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id, again.attempts), (job.id, 1));
    }
);

both_backends!(named_leases_have_one_holder, |db: TestDb| async move {
    let store = db.store().await;
    assert!(store.try_lease("imap:ap@x", "a", LEASE).await.unwrap());
    assert!(!store.try_lease("imap:ap@x", "b", LEASE).await.unwrap());
    assert!(
        store.try_lease("imap:ap@x", "a", LEASE).await.unwrap(),
        "holder renews"
    );
    store.release_lease("imap:ap@x", "a").await.unwrap();
    assert!(store
        .try_lease("imap:ap@x", "b", Duration::from_millis(1))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        store.try_lease("imap:ap@x", "a", LEASE).await.unwrap(),
        "expired lease is taken over"
    );
});

both_backends!(list_filters_by_state, |db: TestDb| async move {
    let store = db.store().await;
    for i in 0..3 {
        store
            .intake(&raw(format!("%PDF l{i}").as_bytes(), "l.pdf"))
            .await
            .unwrap();
    }
    let job = store
        .claim_job("w", &[Stage::Read], LEASE)
        .await
        .unwrap()
        .unwrap();
    let t = Transition {
        to: DocumentState::Failed,
        reason: "bad".into(),
        effects: Effects::None,
        next: None,
    };
    store.complete_job(&job, t).await.unwrap();
    assert_eq!(store.list_documents(None, 10).await.unwrap().len(), 3);
    let failed = store
        .list_documents(Some(DocumentState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, job.document);
    assert_eq!(
        store.list_documents(None, 2).await.unwrap()[0].id.0,
        3,
        "newest first"
    );
});
