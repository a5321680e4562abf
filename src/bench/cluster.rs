//! Several `facteur run` processes on one database, as a team running them on several hosts
//! would: one workspace (facteur.toml, a pipeline with a watched folder, optionally an IMAP
//! mailbox, and an approval rule that approves the generated suppliers automatically, so documents
//! go folder or mail → read → dedupe → approve → post with nobody asked), worker processes
//! started, stopped (SIGTERM) or killed (SIGKILL) one by one, and what they cost in CPU read
//! from /proc. Used by `facteur bench pipeline` and the crash torture test (tests/it/torture.rs,
//! scripts/torture).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::store::Store;

/// Where the workspace keeps its data.
#[derive(Debug, Clone)]
pub enum Database {
    /// A file in the workspace's folder.
    Sqlite,
    /// A fresh database created on this server (its admin URL), dropped by `Cluster::finish`.
    Postgres { admin: String },
}

/// How each worker process runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stage loops per process (`[worker] concurrency`).
    pub concurrency: usize,
    /// Job leases (`[worker] lease_secs`): how long a SIGKILLed worker's job waits for the reaper
    /// of another host.
    pub lease_secs: u64,
    /// Generated suppliers the approval rule trusts (see `testing::nth_supplier`).
    pub suppliers: usize,
    /// A mailbox the pipeline also takes invoices from, besides the watched folder.
    pub mail: Option<MailSource>,
}

/// An IMAP mailbox as a second source of the cluster's pipeline (`[[source]] type = "imap"`,
/// named `mail`, plain IMAP: meant for a private server on this host). Its INBOX is read and each
/// imported message moved to `Processed`.
#[derive(Debug, Clone)]
pub struct MailSource {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// A file holding the password (first line).
    pub password_file: PathBuf,
    /// The mailbox lease: how long a SIGKILLed worker keeps the mailbox from the other workers.
    pub lease_secs: u64,
    /// Messages fetched per FETCH (the mailbox action runs once per batch).
    pub batch_size: usize,
}

impl MailSource {
    /// The `[[source]]` table.
    fn toml(&self) -> String {
        format!(
            "\n[[source]]\ntype = \"imap\"\nname = \"mail\"\nhost = \"{}\"\nport = {}\n\
             security = \"none\"\nuser = \"{}\"\npassword_file = \"{}\"\nlease_secs = {}\n\
             batch_size = {}\nbackoff_secs = 1\n",
            self.host,
            self.port,
            self.user,
            self.password_file.display(),
            self.lease_secs,
            self.batch_size
        )
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 2,
            lease_secs: 30,
            suppliers: 20,
            mail: None,
        }
    }
}

/// A workspace and its worker processes.
pub struct Cluster {
    pub dir: PathBuf,
    pub url: String,
    pub config: PathBuf,
    /// The watched folder: a file renamed into it is picked up.
    pub inbox: PathBuf,
    program: PathBuf,
    workers: Vec<Option<Child>>,
    starts: usize,
    pg: Option<(String, String)>,
}

impl Cluster {
    /// Writes the workspace into `dir` (which must exist) and creates its schema; starts nobody.
    /// `program` is the `facteur` binary (`facteur-ocr` must be beside it for scans).
    pub async fn create(
        program: &Path,
        dir: &Path,
        db: &Database,
        opts: &Options,
    ) -> anyhow::Result<Cluster> {
        let (url, pg) = match db {
            Database::Sqlite => (
                format!("sqlite://{}", dir.join("facteur.db").display()),
                None,
            ),
            Database::Postgres { admin } => {
                let name = format!(
                    "facteur_cluster_{}_{}",
                    std::process::id(),
                    rand::random::<u32>()
                );
                let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(admin)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {admin}"))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await?;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                (format!("{base}/{name}"), Some((admin.clone(), name)))
            }
        };
        let inbox = dir.join("inbox");
        std::fs::create_dir_all(dir.join("pipelines"))?;
        std::fs::create_dir_all(&inbox)?;
        let config = dir.join("facteur.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{url}\"\n\n[worker]\nconcurrency = {}\nlease_secs = {}\n\
                 poll_interval_ms = 50\nbackoff_secs = 1\n\n[web]\nlisten = \"127.0.0.1:0\"\n",
                opts.concurrency, opts.lease_secs
            ),
        )?;
        let trusted: Vec<String> = (0..opts.suppliers.max(1))
            .map(|i| format!("\"{}\"", crate::testing::nth_supplier(i).1))
            .collect();
        std::fs::write(
            dir.join("pipelines/cluster.toml"),
            format!(
                "name = \"cluster\"\n\n[[source]]\ntype = \"folder\"\nname = \"inbox\"\n\
                 path = \"{}\"\nstable_secs = 1\npoll_interval_secs = 1\n{}\n\
                 [[approval.rule]]\nname = \"trusted\"\nauto_approve_below = \"1000000.00\"\n\
                 trusted_suppliers = [{}]\nsteps = [ {{ approvers = [\"ap@example.test\"] }} ]\n",
                inbox.display(),
                opts.mail.as_ref().map(MailSource::toml).unwrap_or_default(),
                trusted.join(", ")
            ),
        )?;
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            url,
            config,
            inbox,
            program: program.to_path_buf(),
            workers: Vec::new(),
            starts: 0,
            pg,
        };
        // The schema exists before workers race to create it.
        cluster.store().await?;
        Ok(cluster)
    }

    /// A connection to the workspace's store.
    pub async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(crate::store::open(&self.url, 4).await?)
    }

    /// Starts worker `i` (replacing a stopped one); its log is worker-<i>-<start>.log, at the
    /// level `$FACTEUR_BENCH_WORKER_LOG` names (a RUST_LOG filter; `warn` by default).
    pub fn start(&mut self, i: usize) -> anyhow::Result<()> {
        if self.workers.len() <= i {
            self.workers.resize_with(i + 1, || None);
        }
        self.starts += 1;
        let log = self.dir.join(format!("worker-{i}-{}.log", self.starts));
        let child = Command::new(&self.program)
            .args(["--config", &self.config.display().to_string(), "run"])
            .env(
                "RUST_LOG",
                std::env::var("FACTEUR_BENCH_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        self.workers[i] = Some(child);
        Ok(())
    }

    /// How many worker slots were started at least once.
    pub fn slots(&self) -> usize {
        self.workers.len()
    }

    /// PIDs of the running workers.
    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().flatten().map(Child::id).collect()
    }

    /// SIGKILLs worker `i` (no goodbye: its leases stay until they expire or a restart on this
    /// host takes them back) and reaps it.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut c) = self.workers.get_mut(i).and_then(Option::take) {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// Stops every worker with SIGTERM (graceful: jobs finish or are released, leases dropped),
    /// SIGKILL after `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        let mut children: Vec<Child> = self.workers.iter_mut().filter_map(Option::take).collect();
        for c in &children {
            if let Ok(pid) = libc::pid_t::try_from(c.id()) {
                // SAFETY: signals our own child, which has not been reaped yet.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let until = Instant::now() + grace;
        for c in &mut children {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= until => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }

    /// Stops the workers and drops the PostgreSQL database (the folder is the caller's).
    pub async fn finish(mut self) -> anyhow::Result<()> {
        self.stop_all(Duration::from_secs(30));
        if let Some((admin, name)) = self.pg.take() {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)
                .await?;
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.workers.iter_mut().filter_map(Option::take) {
            let mut c = c;
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// CPU time (seconds) used so far by the processes `pids` and their children, and by the
/// PostgreSQL server's processes, from /proc (0 where /proc cannot be read).
pub fn cpu_seconds(pids: &[u32]) -> (f64, f64) {
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (mut workers, mut postgres) = (0u64, 0u64);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((head, tail)) = text.rsplit_once(')') else {
            continue;
        };
        let pid: u32 = head
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        // After the command: state, ppid, … utime and stime are the 12th and 13th.
        let f: Vec<&str> = tail.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let ppid = num(1) as u32;
        let used = num(11) + num(12);
        if pids.contains(&pid) || pids.contains(&ppid) {
            workers += used;
        } else if comm.starts_with("postgres") {
            postgres += used;
        }
    }
    (workers as f64 / tick, postgres as f64 / tick)
}

/// Context switches (voluntary and not) of every thread of `pids` and of their children so far:
/// each hand-off between threads or processes (a statement to SQLite's connection thread and its
/// answer back, a document to a reader child) costs about two.
pub fn context_switches(pids: &[u32]) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let ppid = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|t| {
                let (_, tail) = t.rsplit_once(')')?;
                tail.split_whitespace().nth(1)?.parse::<u32>().ok()
            })
            .unwrap_or(0);
        if !pids.contains(&pid) && !pids.contains(&ppid) {
            continue;
        }
        for task in std::fs::read_dir(entry.path().join("task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            total += status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    total
}

/// Busy and total jiffies of the whole machine (/proc/stat), to say how loaded it was.
pub fn machine_jiffies() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}
