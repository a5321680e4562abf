//! The pool against real child processes: the unit-test binary itself serves as the child (the
//! `child_entry` test below turns into `child_main` when the pool starts it), so misbehaviours can
//! be ordered through test-only hooks compiled into `child.rs`.

use std::sync::Arc;

use super::*;

/// Not a test of its own: the body of every child the tests below start.
#[test]
fn child_entry() {
    if std::env::var_os(ENV_MEMORY_MB).is_none() {
        return;
    }
    std::process::exit(i32::from(child::serve()));
}

fn config() -> SandboxConfig {
    SandboxConfig {
        workers: 1,
        memory_limit_mb: 1024,
        cpu_limit_secs: 20,
        wall_timeout_secs: 20,
        program: Some(std::env::current_exe().expect("test binary path")),
        child_args: [
            "read::sandbox::tests::child_entry",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ]
        .map(String::from)
        .to_vec(),
        // The unit-test binary has Tesseract installed: it never answers `NeedsOcr`.
        ocr_program: None,
    }
}

/// A document the real reader refuses the same way every time: proves a round trip through a child.
async fn assert_reads_normally(pool: &SandboxPool) {
    let r = pool
        .read(b"neither pdf nor image".to_vec(), ReadOptions::default())
        .await;
    assert!(matches!(r, Err(ReadError::Unsupported(_))), "{r:?}");
}

#[tokio::test]
async fn a_panic_fails_one_document_and_the_next_reads() {
    let pool = SandboxPool::new(config());
    assert_reads_normally(&pool).await;
    let r = pool
        .read(b"SANDBOX-TEST:panic".to_vec(), ReadOptions::default())
        .await;
    match r {
        Err(ReadError::Crashed(why)) => assert!(why.contains("panicked"), "{why}"),
        other => panic!("expected a crash, got {other:?}"),
    }
    assert_reads_normally(&pool).await;
}

#[tokio::test]
async fn an_abort_is_reported_with_its_signal() {
    let pool = SandboxPool::new(config());
    let r = pool
        .read(b"SANDBOX-TEST:abort".to_vec(), ReadOptions::default())
        .await;
    match r {
        Err(ReadError::Crashed(why)) => assert!(why.contains("SIGABRT"), "{why}"),
        other => panic!("expected a crash, got {other:?}"),
    }
    assert_reads_normally(&pool).await;
}

#[tokio::test]
async fn a_child_killed_mid_request_fails_that_document_only() {
    let pool = Arc::new(SandboxPool::new(config()));
    let reading = tokio::spawn({
        let pool = Arc::clone(&pool);
        async move {
            pool.read(b"SANDBOX-TEST:sleep".to_vec(), ReadOptions::default())
                .await
        }
    });
    let pid = loop {
        if let Some(pid) = pool.busy_pids().first().copied() {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Let the child take the request before killing it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: kill(2) on the pid of a child this test's pool started and still owns.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    match reading.await.expect("read task") {
        Err(ReadError::Crashed(why)) => assert!(why.contains("SIGKILL"), "{why}"),
        other => panic!("expected a crash, got {other:?}"),
    }
    assert_reads_normally(&pool).await;
}

/// What the read stage counts: a reader that died of the memory limit is `Crashed`, one stopped
/// by the CPU or wall-clock limit is `Timeout`; both are `killed_the_reader`, a refusal is not.
#[tokio::test]
async fn memory_deaths_are_crashes_and_cpu_and_wall_limits_are_timeouts() {
    // A loaded machine gives the spinning child a fraction of a core: the wall-clock limit of
    // the first two cases is far above the 1 s of CPU, the sleeping child gets its own pool.
    let pool = SandboxPool::new(SandboxConfig {
        memory_limit_mb: 512,
        cpu_limit_secs: 1,
        wall_timeout_secs: 120,
        ..config()
    });
    let r = pool
        .read(b"SANDBOX-TEST:alloc".to_vec(), ReadOptions::default())
        .await;
    match &r {
        Err(e @ ReadError::Crashed(why)) => {
            assert!(why.contains("512 MiB memory"), "{why}");
            assert!(e.killed_the_reader());
        }
        other => panic!("expected a crash at the memory limit, got {other:?}"),
    }
    let r = pool
        .read(b"SANDBOX-TEST:spin".to_vec(), ReadOptions::default())
        .await;
    match &r {
        Err(e @ ReadError::Timeout(why)) => {
            assert!(why.contains("1 s CPU"), "{why}");
            assert!(e.killed_the_reader());
        }
        other => panic!("expected the CPU limit, got {other:?}"),
    }
    let sleepy = SandboxPool::new(SandboxConfig {
        cpu_limit_secs: 1,
        wall_timeout_secs: 8,
        ..config()
    });
    let r = sleepy
        .read(b"SANDBOX-TEST:sleep".to_vec(), ReadOptions::default())
        .await;
    match &r {
        Err(e @ ReadError::Timeout(why)) => {
            assert!(why.contains("8 s wall-clock"), "{why}");
            assert!(e.killed_the_reader());
        }
        other => panic!("expected the wall-clock limit, got {other:?}"),
    }
    let refused = ReadError::Limit("page image too large".into());
    assert!(!refused.killed_the_reader());
    assert_reads_normally(&pool).await;
}

#[tokio::test]
async fn a_binary_that_is_not_a_child_is_reported() {
    let pool = SandboxPool::new(SandboxConfig {
        program: Some("/bin/echo".into()),
        ..config()
    });
    let r = pool.read(b"x".to_vec(), ReadOptions::default()).await;
    match r {
        Err(ReadError::Crashed(why)) => assert!(why.contains("did not start"), "{why}"),
        other => panic!("expected a start failure, got {other:?}"),
    }
}
