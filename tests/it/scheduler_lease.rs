//! Schedulers with several workers on one database: the tick runs in exactly one of them (the
//! holder of the scheduler's named lease), and when the holder dies without a word (its task is
//! aborted: no release, as after SIGKILL) another worker takes over once the lease expires.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use facteur::worker::periodically_alone;
use tokio_util::sync::CancellationToken;

use crate::both_backends;
use crate::helpers::*;

const LEASE: &str = "scheduler:test";

/// One worker's scheduler loop, counting its ticks.
fn spawn_scheduler(
    store: Arc<dyn facteur::store::Store>,
    owner: &'static str,
    ticks: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        periodically_alone(
            store,
            LEASE,
            owner,
            Duration::from_millis(200),
            Duration::from_secs(2),
            stop,
            || {
                let ticks = ticks.clone();
                async move {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .await
    })
}

both_backends!(
    a_scheduler_ticks_in_one_worker_and_another_takes_over_when_it_dies,
    |db: TestDb| async move {
        let (a_store, b_store) = (db.store().await, db.store().await);
        let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let stop = CancellationToken::new();
        let a_task = spawn_scheduler(a_store, "worker-a", a.clone(), stop.clone());
        let b_task = spawn_scheduler(b_store, "worker-b", b.clone(), stop.clone());

        let ticking = wait_until(Duration::from_secs(30), || async {
            a.load(Ordering::SeqCst) + b.load(Ordering::SeqCst) >= 5
        })
        .await;
        assert!(ticking, "no scheduler ticked");
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (ta, tb) = (a.load(Ordering::SeqCst), b.load(Ordering::SeqCst));
        assert!(
            (ta == 0) != (tb == 0),
            "exactly one worker must tick: a ticked {ta} times, b {tb} times"
        );

        // The holder dies without releasing its lease.
        let (holder, holder_task, other, other_task) = if ta > 0 {
            (a, a_task, b, b_task)
        } else {
            (b, b_task, a, a_task)
        };
        holder_task.abort();
        let _ = holder_task.await;
        let dead_at = holder.load(Ordering::SeqCst);
        let took_over = wait_until(Duration::from_secs(60), || async {
            other.load(Ordering::SeqCst) >= 3
        })
        .await;
        assert!(
            took_over,
            "nobody took the scheduler over after its holder died"
        );
        assert_eq!(
            holder.load(Ordering::SeqCst),
            dead_at,
            "a dead worker ticked"
        );

        // A graceful stop releases the lease: a newcomer takes it at once.
        stop.cancel();
        other_task.await.unwrap();
        let store = db.store().await;
        assert!(
            store
                .try_lease(LEASE, "worker-c", Duration::from_secs(5))
                .await
                .unwrap(),
            "the lease was not released at shutdown"
        );
    }
);
