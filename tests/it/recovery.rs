//! Crash recovery on one host, through the real binary: `facteur run` is SIGKILLed while it reads
//! a scan, and a restart on the same host reads that document again at once instead of waiting
//! for its lease to expire (an hour here, so only start-up recovery can explain a quick finish).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use facteur::domain::DocumentState;

use crate::both_backends;
use crate::helpers::*;

fn write_config(dir: &Path, db_url: &str, inbox: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(
        dir.join("facteur.toml"),
        format!(
            "[database]\nurl = \"{db_url}\"\n[worker]\nconcurrency = 1\nlease_secs = 3600\n\
             poll_interval_ms = 100\n[read]\nsandbox_workers = 1\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("pipelines/inbox.toml"),
        format!(
            "[[source]]\ntype = \"folder\"\nname = \"inbox\"\npath = \"{}\"\nstable_secs = 1\n\
             poll_interval_secs = 1\n",
            inbox.display()
        ),
    )
    .unwrap();
    dir.join("facteur.toml")
}

fn spawn_run(config: &Path, log: &Path) -> Child {
    Command::new(facteur_bin())
        .args(["--config", &config.display().to_string(), "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("start facteur run")
}

both_backends!(
    a_restart_on_the_same_host_rereads_the_in_flight_document_at_once,
    |db: TestDb| async move {
        let store = db.store().await;
        let inbox = db.dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let config = write_config(db.dir.path(), &db.url, &inbox);
        let scan = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/scans/multipage-free.tif"
        ))
        .unwrap();
        std::fs::write(inbox.join("scan.tif"), scan).unwrap();

        let mut run = spawn_run(&config, &db.dir.path().join("run1.log"));
        let reading = wait_until(Duration::from_secs(60), || async {
            store.counts().await.unwrap().jobs("running") == 1
        })
        .await;
        assert!(reading, "the read never started: see run1.log");
        run.kill().expect("SIGKILL");
        let killed_at = Instant::now();
        run.wait().unwrap();
        let doc = store.list_documents(None, 1).await.unwrap()[0].id;
        assert_eq!(
            store.document(doc).await.unwrap().summary.state,
            DocumentState::Received,
            "killed mid-read"
        );

        let mut run = spawn_run(&config, &db.dir.path().join("run2.log"));
        let read = wait_until(Duration::from_secs(180), || async {
            store.document(doc).await.unwrap().summary.state != DocumentState::Received
        })
        .await;
        let seconds = killed_at.elapsed().as_secs_f64();
        let _ = run.kill();
        let _ = run.wait();
        assert!(read, "the in-flight document waited for its one-hour lease");
        let record = store.document(doc).await.unwrap();
        assert!(
            matches!(
                record.summary.state,
                DocumentState::Read | DocumentState::NeedsReview | DocumentState::PendingApproval
            ),
            "{:?}: {:?}",
            record.summary.state,
            record.summary.reason
        );
        assert_eq!(
            record.jobs[0].attempts, 1,
            "the killed attempt was given back; the one that read it counts"
        );
        eprintln!("recovery: SIGKILL to the document read again after restart: {seconds:.1} s");
    }
);
