//! The queue's guards (issue 8 §2–3), on both backends unless the test needs PostgreSQL's row
//! locks to force an interleaving: stale jobs never move a document back, every change of a job
//! needs its claim's token, the reaper and a finishing worker (or two reapers) never both win,
//! a reader that dies twice fails the document, parked documents are backfilled, and the leases
//! of gone processes of this host are taken back at start-up.

use std::time::Duration;

use facteur::domain::{DocumentState, Stage};
use facteur::store::queue::FailureKind;
use facteur::store::{Effects, Job, JobFate, RetryPolicy, Store, StoreError, Transition};
use facteur::worker::identity::WorkerId;
use facteur::worker::recovery::recover;

use crate::both_backends;
use crate::helpers::*;
use crate::store::{raw, LEASE, RETRY};

fn to(state: DocumentState) -> Transition {
    Transition {
        to: state,
        reason: format!("test moved it to {state}"),
        effects: Effects::None,
        next: None,
    }
}

/// Runs one statement straight on the test database (what a person's command or another
/// process would have done meanwhile).
async fn exec(db: &TestDb, statement: &str) {
    try_exec(db, statement).await.unwrap();
}

async fn events(store: &dyn Store, id: facteur::domain::DocumentId) -> Vec<String> {
    store
        .document(id)
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.to_state.to_string())
        .collect()
}

both_backends!(
    a_stale_job_never_moves_its_document,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF st", "st.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        // Meanwhile the document was moved on (a person's decision, another job).
        exec(
            &db,
            &format!(
                "UPDATE documents SET state = 'needs_review' WHERE id = {}",
                id.0
            ),
        )
        .await;
        let r = store.complete_job(&job, to(DocumentState::Read)).await;
        assert!(matches!(r, Err(StoreError::Stale(_))), "{r:?}");
        let doc = store.document(id).await.unwrap();
        assert_eq!(
            doc.summary.state,
            DocumentState::NeedsReview,
            "not moved back"
        );
        assert_eq!(doc.events.len(), 1, "no history line for a refused move");
        assert_eq!(doc.jobs[0].status, "stale");
        assert!(doc.jobs[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("needs_review"));
        // A stale job that runs out of attempts does not fail the document either.
        let id2 = store
            .intake(&raw(b"%PDF st2", "st2.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        exec(
            &db,
            &format!(
                "UPDATE documents SET state = 'needs_review' WHERE id = {}",
                id2.0
            ),
        )
        .await;
        let policy = RetryPolicy {
            max_attempts: 1,
            ..RETRY
        };
        let fate = store
            .fail_job(&job, "boom", FailureKind::Transient, policy)
            .await
            .unwrap();
        assert_eq!(fate, JobFate::Dead);
        assert_eq!(
            store.document(id2).await.unwrap().summary.state,
            DocumentState::NeedsReview
        );
    }
);

both_backends!(
    a_move_the_pipeline_does_not_have_is_refused,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF il", "il.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let r = store.complete_job(&job, to(DocumentState::Posted)).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        let doc = store.document(id).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::Received);
        assert_eq!(
            doc.jobs[0].status, "running",
            "nothing written, the job is still held"
        );
        store
            .complete_job(&job, to(DocumentState::Read))
            .await
            .unwrap();
    }
);

both_backends!(
    two_loops_of_one_process_never_both_finish_a_job,
    |db: TestDb| async move {
        // Both loops share the process's owner name; only the claim token tells them apart.
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF lp", "lp.pdf"))
            .await
            .unwrap()
            .document();
        let first = store
            .claim_job("host:1", &[Stage::Read], Duration::from_millis(1))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let policy = RetryPolicy {
            max_attempts: 5,
            ..RETRY
        };
        assert_eq!(store.reap_expired(policy).await.unwrap(), 1);
        let second = store
            .claim_job("host:1", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.id, first.id);
        assert!(matches!(
            store.complete_job(&first, to(DocumentState::Read)).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .fail_job(&first, "late", FailureKind::Transient, policy)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(!store.renew_lease(&first, LEASE).await.unwrap());
        store.release_job(&first).await.unwrap();
        store
            .complete_job(&second, to(DocumentState::Read))
            .await
            .unwrap();
        assert_eq!(events(store.as_ref(), id).await, ["received", "read"]);
    }
);

both_backends!(
    a_reader_that_dies_twice_fails_the_document,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF cr", "cr.pdf"))
            .await
            .unwrap()
            .document();
        let policy = RetryPolicy {
            max_attempts: 5,
            ..RETRY
        };
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let fate = store
            .fail_job(
                &job,
                "reader crashed: SIGSEGV",
                FailureKind::ReaderDied,
                policy,
            )
            .await
            .unwrap();
        assert!(matches!(fate, JobFate::Retry { .. }));
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.crashes, 1);
        let fate = store
            .fail_job(
                &job,
                "reader timed out after 600 s",
                FailureKind::ReaderDied,
                policy,
            )
            .await
            .unwrap();
        assert_eq!(
            fate,
            JobFate::Dead,
            "the second death is final, 3 attempts left or not"
        );
        let doc = store.document(id).await.unwrap();
        assert_eq!(doc.summary.state, DocumentState::Failed);
        let reason = doc.summary.reason.unwrap();
        assert!(
            reason.contains("crashed or hung") && reason.contains("600 s"),
            "{reason}"
        );
    }
);

both_backends!(
    parked_documents_get_their_next_stage,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF pk", "pk.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        // An earlier version parked read documents with no next job.
        store
            .complete_job(&job, to(DocumentState::Read))
            .await
            .unwrap();
        assert_eq!(
            store.backfill(&[Stage::Read]).await.unwrap(),
            0,
            "no new stage, nothing to do"
        );
        assert_eq!(
            store.backfill(&[Stage::Read, Stage::Dedupe]).await.unwrap(),
            1
        );
        assert_eq!(
            store.backfill(&[Stage::Read, Stage::Dedupe]).await.unwrap(),
            0,
            "once"
        );
        let next = store
            .claim_job("w", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((next.document, next.for_state), (id, DocumentState::Read));
    }
);

both_backends!(
    a_waiting_document_is_checked_once_and_a_correction_supersedes_the_check,
    |db: TestDb| async move {
        use facteur::domain::{Extraction, Invoice, Method};
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF wait", "wait.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        // An earlier version left readings in doubt unchecked.
        let x = Extraction::certain(Invoice::default(), Method::Text);
        let t = Transition {
            effects: Effects::Read(Box::new(x.clone())),
            ..to(DocumentState::NeedsReview)
        };
        store.complete_job(&job, t).await.unwrap();
        let built = [Stage::Read, Stage::Dedupe];
        assert_eq!(
            store.backfill(&built).await.unwrap(),
            1,
            "checked while it waits"
        );
        assert_eq!(store.backfill(&built).await.unwrap(), 0, "once");
        // A person corrects it before the check ran: the check of the old reading is retired
        // and the corrected one is checked instead.
        store
            .review_correct(
                id,
                DocumentState::NeedsReview,
                &x,
                &[],
                "bob",
                "typo",
                &built,
            )
            .await
            .unwrap();
        let jobs: Vec<(String, String)> = store
            .document(id)
            .await
            .unwrap()
            .jobs
            .iter()
            .filter(|j| j.stage == "dedupe")
            .map(|j| (j.status.clone(), j.last_error.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            jobs,
            vec![
                (
                    "stale".to_string(),
                    "stale: the document moved to read".to_string()
                ),
                ("queued".to_string(), String::new())
            ]
        );
        let next = store
            .claim_job("w", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((next.document, next.for_state), (id, DocumentState::Read));
        assert_eq!(
            store.backfill(&built).await.unwrap(),
            0,
            "the open check of the corrected reading counts"
        );
    }
);

both_backends!(
    committing_a_queued_job_wakes_this_process_loops,
    |db: TestDb| async move {
        let store = db.store().await;
        let mut signal = store.job_signal();
        signal.borrow_and_update();
        // Intake queues the read job: an idle loop waiting on the signal wakes at once.
        let id = store
            .intake(&raw(b"%PDF wake", "wake.pdf"))
            .await
            .unwrap()
            .document();
        assert!(
            signal.has_changed().unwrap(),
            "intake did not signal its job"
        );
        signal.borrow_and_update();
        // The same bytes again queue nothing: no wake-up for nothing.
        store.intake(&raw(b"%PDF wake", "again.pdf")).await.unwrap();
        assert!(!signal.has_changed().unwrap());
        // A completion that queues the next stage signals; one that queues none does not.
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut t = to(DocumentState::Read);
        t.next = Some(Stage::Dedupe);
        store.complete_job(&job, t).await.unwrap();
        assert!(
            signal.has_changed().unwrap(),
            "completion did not signal the next stage"
        );
        signal.borrow_and_update();
        let job = store
            .claim_job("w", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.document, id);
        store
            .complete_job(&job, to(DocumentState::PendingApproval))
            .await
            .unwrap();
        assert!(!signal.has_changed().unwrap());
    }
);

/// A process that has exited: its PID is free in this namespace.
fn gone_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

both_backends!(
    leases_of_gone_processes_of_this_host_are_taken_back,
    |db: TestDb| async move {
        let store = db.store().await;
        let me = WorkerId::current();
        let dead = WorkerId {
            pid: gone_pid(),
            ..me.clone()
        }
        .to_string();
        let alive = WorkerId {
            pid: 1,
            ..me.clone()
        }
        .to_string();
        let elsewhere = WorkerId {
            host: format!("{}-b", me.host),
            pid: gone_pid(),
            ..me.clone()
        };
        for (i, owner) in [&dead, &alive, &elsewhere.to_string()]
            .into_iter()
            .enumerate()
        {
            store
                .intake(&raw(format!("%PDF rc{i}").as_bytes(), "rc.pdf"))
                .await
                .unwrap();
            store
                .claim_job(owner, &[Stage::Read], LEASE)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(store.try_lease("folder:inbox", &dead, LEASE).await.unwrap());
        let policy = RetryPolicy {
            max_attempts: 5,
            ..RETRY
        };
        let r = recover(store.as_ref(), &me, &[Stage::Read], policy)
            .await
            .unwrap();
        assert_eq!(r.owners, vec![dead.clone()]);
        assert_eq!(r.jobs, 1);
        let again = store
            .claim_job("me", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            again.attempts, 1,
            "the dead worker's job, at once, its attempt given back"
        );
        assert!(
            store
                .claim_job("me", &[Stage::Read], LEASE)
                .await
                .unwrap()
                .is_none(),
            "a live process's job and another host's stay leased"
        );
        assert!(
            store.try_lease("folder:inbox", "me", LEASE).await.unwrap(),
            "its named lease too"
        );
    }
);

/// Holds the row lock of one job from another connection until `release` is called, so the test
/// can queue two store calls behind it in a known order (PostgreSQL's lock queue is FIFO).
struct RowLock {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

impl RowLock {
    async fn take(url: &str, job: i64) -> RowLock {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(job)
            .execute(&mut *tx)
            .await
            .unwrap();
        RowLock { tx }
    }

    async fn release(self) {
        self.tx.commit().await.unwrap();
    }
}

/// Lets a spawned store call reach the lock and queue behind it.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// One document whose read job was claimed with a lease that has already expired.
async fn expired_job(store: &dyn Store, bytes: &[u8]) -> Job {
    store.intake(&raw(bytes, "x.pdf")).await.unwrap();
    let job = store
        .claim_job("w", &[Stage::Read], Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_reaper_after_a_completion_leaves_the_job_done() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let job = expired_job(store.as_ref(), b"%PDF rv").await;
    let id = job.document;
    let lock = RowLock::take(&db.url, job.id).await;
    let s = store.clone();
    let j = job.clone();
    let complete = tokio::spawn(async move { s.complete_job(&j, to(DocumentState::Read)).await });
    settle().await;
    let s = store.clone();
    let policy = RetryPolicy {
        max_attempts: 5,
        ..RETRY
    };
    let reap = tokio::spawn(async move { s.reap_expired(policy).await });
    settle().await;
    lock.release().await;
    complete.await.unwrap().unwrap();
    assert_eq!(
        reap.await.unwrap().unwrap(),
        0,
        "the reaper found the job finished"
    );
    let doc = store.document(id).await.unwrap();
    assert_eq!(doc.jobs[0].status, "done");
    assert_eq!(events(store.as_ref(), id).await, ["received", "read"]);
    assert!(
        store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .is_none(),
        "not requeued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_reaper_after_a_failure_keeps_the_backoff() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let job = expired_job(store.as_ref(), b"%PDF fv").await;
    let lock = RowLock::take(&db.url, job.id).await;
    let policy = RetryPolicy {
        max_attempts: 5,
        backoff: Duration::from_secs(3600),
        max_crashes: 2,
        max_takebacks: 10,
    };
    let s = store.clone();
    let j = job.clone();
    let fail =
        tokio::spawn(async move { s.fail_job(&j, "boom", FailureKind::Transient, policy).await });
    settle().await;
    let s = store.clone();
    let reap = tokio::spawn(async move { s.reap_expired(policy).await });
    settle().await;
    lock.release().await;
    assert!(matches!(
        fail.await.unwrap().unwrap(),
        JobFate::Retry { .. }
    ));
    assert_eq!(reap.await.unwrap().unwrap(), 0);
    let doc = store.document(job.document).await.unwrap();
    assert_eq!(doc.jobs[0].last_error.as_deref(), Some("boom"));
    assert!(
        store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .is_none(),
        "the failure's backoff stands; the reaper did not make it runnable now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_reapers_take_a_job_back_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let job = expired_job(store.as_ref(), b"%PDF 2r").await;
    let id = job.document;
    let lock = RowLock::take(&db.url, job.id).await;
    // Out of take-backs: taking it back fails the document, which must happen once.
    let policy = RetryPolicy {
        max_takebacks: 1,
        ..RETRY
    };
    let mut reapers = Vec::new();
    for _ in 0..2 {
        let s = store.clone();
        reapers.push(tokio::spawn(async move { s.reap_expired(policy).await }));
        settle().await;
    }
    lock.release().await;
    let mut taken = 0;
    for r in reapers {
        taken += r.await.unwrap().unwrap();
    }
    assert_eq!(taken, 1);
    assert_eq!(events(store.as_ref(), id).await, ["received", "failed"]);
    assert_eq!(store.document(id).await.unwrap().jobs[0].status, "dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_reaper_and_completions_race_every_job_ends_once() {
    // No locks held here: many jobs, completions and reapers at once, then a second worker
    // drains what the reapers took back. Every document is read exactly once.
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let n = 40;
    for i in 0..n {
        store
            .intake(&raw(format!("%PDF race {i}").as_bytes(), "r.pdf"))
            .await
            .unwrap();
    }
    let mut jobs = Vec::new();
    while let Some(j) = store
        .claim_job("w1", &[Stage::Read], Duration::from_millis(1))
        .await
        .unwrap()
    {
        jobs.push(j);
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let policy = RetryPolicy {
        max_attempts: 5,
        ..RETRY
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let s = store.clone();
        tasks.spawn(async move { s.reap_expired(policy).await.map(|_| ()) });
    }
    for j in jobs {
        let s = store.clone();
        tasks.spawn(async move {
            match s.complete_job(&j, to(DocumentState::Read)).await {
                Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
                Err(e) => Err(e),
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    while let Some(j) = store.claim_job("w2", &[Stage::Read], LEASE).await.unwrap() {
        store
            .complete_job(&j, to(DocumentState::Read))
            .await
            .unwrap();
    }
    for doc in store.list_documents(None, 100).await.unwrap() {
        assert_eq!(
            events(store.as_ref(), doc.id).await,
            ["received", "read"],
            "{}",
            doc.id
        );
    }
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.jobs("done"), n);
}

both_backends!(
    a_completion_can_keep_the_next_stage_claimed,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF chain", "chain.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut t = to(DocumentState::Read);
        t.next = Some(Stage::Dedupe);
        let next = store
            .complete_and_take(&job, t, &[Stage::Read, Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .expect("the next stage, claimed in the completion");
        assert_eq!(
            (next.document, next.stage, next.for_state, next.attempts),
            (id, Stage::Dedupe, DocumentState::Read, 1)
        );
        assert_eq!(next.owner, "w");
        assert_ne!(next.token, job.token, "a claim of its own");
        // Held like a claimed job: nobody else gets it.
        assert!(store
            .claim_job("other", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .is_none());
        let jobs = store.document(id).await.unwrap().jobs;
        let rows: Vec<(&str, &str, Option<&str>)> = jobs
            .iter()
            .map(|j| {
                (
                    j.stage.as_str(),
                    j.status.as_str(),
                    j.lease_owner.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![("read", "done", None), ("dedupe", "running", Some("w"))]
        );
        // Only its own token finishes it.
        let forged = Job {
            token: job.token.clone(),
            ..next.clone()
        };
        let r = store
            .complete_job(&forged, to(DocumentState::PendingApproval))
            .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        store
            .complete_job(&next, to(DocumentState::PendingApproval))
            .await
            .unwrap();
        assert_eq!(
            store.document(id).await.unwrap().summary.state,
            DocumentState::PendingApproval
        );
    }
);

both_backends!(
    a_next_stage_outside_the_takers_stages_is_queued_for_anyone,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF other stage", "os.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut t = to(DocumentState::Read);
        t.next = Some(Stage::Dedupe);
        let kept = store
            .complete_and_take(&job, t, &[Stage::Read], LEASE)
            .await
            .unwrap();
        assert!(kept.is_none(), "{kept:?}");
        let other = store
            .claim_job("other", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .expect("queued for anyone");
        assert_eq!((other.document, other.stage), (id, Stage::Dedupe));
    }
);

both_backends!(
    a_kept_job_whose_holder_is_gone_goes_back_to_the_queue,
    |db: TestDb| async move {
        let store = db.store().await;
        let id = store
            .intake(&raw(b"%PDF kept and lost", "kl.pdf"))
            .await
            .unwrap()
            .document();
        let job = store
            .claim_job("w", &[Stage::Read], LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut t = to(DocumentState::Read);
        t.next = Some(Stage::Dedupe);
        // Its holder dies before running it: the lease runs out like a claimed job's.
        let kept = store
            .complete_and_take(&job, t, &[Stage::Read, Stage::Dedupe], Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(store.reap_expired(RETRY).await.unwrap(), 1);
        let again = store
            .claim_job("other", &[Stage::Dedupe], LEASE)
            .await
            .unwrap()
            .expect("back in the queue");
        // The dead holder's attempt was given back (a take-back is not the document's fault).
        assert_eq!((again.id, again.document, again.attempts), (kept.id, id, 1));
        // The dead holder's late completion changes nothing.
        let r = store
            .complete_job(&kept, to(DocumentState::PendingApproval))
            .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        store
            .complete_job(&again, to(DocumentState::PendingApproval))
            .await
            .unwrap();
    }
);
