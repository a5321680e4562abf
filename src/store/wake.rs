//! In-process wake-ups for idle stage loops: a counter bumped after this process commits a
//! transaction that queued a job (intake, a stage's completion, a job given back). A loop that found
//! the queue empty waits on it instead of sleeping its whole poll interval, so a document moves to
//! its next stage as soon as it is committed. Jobs queued by other processes (another worker on
//! the same PostgreSQL, a `facteur serve` approving) are still found by the poll.

use tokio::sync::watch;

/// The sending side, owned by the store.
#[derive(Debug)]
pub struct JobSignal(watch::Sender<u64>);

impl Default for JobSignal {
    fn default() -> Self {
        JobSignal(watch::channel(0).0)
    }
}

impl JobSignal {
    /// Says a job was queued (after the commit: a loop woken earlier would not see it).
    pub fn queued(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver for one loop; `changed()` resolves on the next `queued` after the last
    /// `borrow_and_update`.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Waits until `rx` sees a new job or `poll` passes, whichever comes first.
pub async fn idle_wait(rx: &mut watch::Receiver<u64>, poll: std::time::Duration) {
    let changed = async {
        if rx.changed().await.is_err() {
            // The store is gone: only the poll is left.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = changed => {}
        _ = tokio::time::sleep(poll) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_job_queued_after_the_look_wakes_the_loop_at_once() {
        let s = JobSignal::default();
        let mut rx = s.subscribe();
        rx.borrow_and_update();
        // Queued between the empty claim and the wait: must not be missed.
        s.queued();
        let t = Instant::now();
        idle_wait(&mut rx, Duration::from_secs(5)).await;
        assert!(t.elapsed() < Duration::from_secs(1));
        // Nothing new since: the poll ends the wait.
        rx.borrow_and_update();
        let t = Instant::now();
        idle_wait(&mut rx, Duration::from_millis(100)).await;
        assert!(t.elapsed() >= Duration::from_millis(100));
    }
}
