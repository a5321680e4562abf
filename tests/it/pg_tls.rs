//! PostgreSQL over TLS: a private cluster in a temp dir (initdb from /usr/lib/postgresql/*/bin, as
//! the postgres user, on a free port) with `ssl = on` and a self-signed certificate made in the test.
//! facteur's own store (`facteur::store::open`) connects with `sslmode=require` and with
//! `sslmode=verify-full&sslrootcert=…`, and the server says its connections are encrypted;
//! verify-full refuses a server whose certificate it cannot check. The cluster is stopped and
//! removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tls::SelfSigned;

/// A private PostgreSQL cluster with TLS; stopped and removed on drop.
struct TlsCluster {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    cert: SelfSigned,
    dir: tempfile::TempDir,
}

fn as_postgres(command: &str) -> std::process::Output {
    Command::new("su")
        .args(["postgres", "-c", command])
        .output()
        .expect("su postgres (the tests run as root)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

impl TlsCluster {
    fn start() -> TlsCluster {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries (Debian postgresql)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .collect();
        bins.sort_by_key(|b| {
            let v = b.parent().and_then(Path::file_name);
            v.and_then(|v| v.to_str()?.parse::<u32>().ok())
        });
        let bindir = bins
            .pop()
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let cert = SelfSigned::new(dir.path());
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres", &dir.path().display().to_string()])
            .status()
            .unwrap();
        assert!(chown.success());
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::set_permissions(
            &cert.key_path,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let init = as_postgres(&format!(
            "{}/initdb --no-sync -A trust -U postgres -D {}",
            bindir.display(),
            data.display()
        ));
        assert!(init.status.success(), "initdb: {init:?}");
        let port = free_port();
        let d = dir.path().display();
        let opts = format!(
            "-h 127.0.0.1 -p {port} -k {d} -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            cert.cert_path.display(),
            cert.key_path.display()
        );
        let start = as_postgres(&format!(
            "{}/pg_ctl -D {} -l {d}/log -o '{opts}' -w start",
            bindir.display(),
            data.display()
        ));
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        assert!(start.status.success(), "pg_ctl start: {start:?}\n{log}");
        TlsCluster {
            bindir,
            data,
            port,
            cert,
            dir,
        }
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }

    /// How many client connections other than the asking one there are, and how many use TLS,
    /// asked over a plain connection.
    async fn client_connections(&self) -> (i64, i64) {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url("sslmode=disable"))
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s \
             JOIN pg_stat_activity a USING (pid) \
             WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()",
        )
        .fetch_one(&mut c)
        .await
        .unwrap()
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&format!(
            "{}/pg_ctl -D {} -m immediate -w stop",
            self.bindir.display(),
            self.data.display()
        ));
        let _ = &self.dir; // removed after the server has stopped
    }
}

/// `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()` on a connection made with `url`.
async fn own_connection_is_tls(url: &str) -> bool {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut c)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_connects_over_tls_with_require_and_verify_full() {
    let pg = TlsCluster::start();
    let root = pg.cert.cert_path.display().to_string();
    let urls = [
        pg.url("sslmode=require"),
        pg.url(&format!("sslmode=verify-full&sslrootcert={root}")),
    ];
    for url in &urls {
        let store = facteur::store::open(url, 2)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        store.counts().await.unwrap();
        let (all, tls) = pg.client_connections().await;
        assert!(all >= 1, "the store holds a connection");
        assert_eq!(tls, all, "every store connection is encrypted ({url})");
        drop(store);
        assert!(own_connection_is_tls(url).await, "{url}");
    }
    // Without TLS the same query says so: the check can fail.
    assert!(!own_connection_is_tls(&pg.url("sslmode=disable")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_server_it_cannot_check() {
    let pg = TlsCluster::start();
    // Not signed by any public root.
    let untrusted = facteur::store::open(&pg.url("sslmode=verify-full"), 1).await;
    assert!(untrusted.is_err(), "a self-signed server is not trusted");
    // A root from another CA does not vouch for this server.
    let other = tempfile::tempdir().unwrap();
    let stranger = SelfSigned::new(other.path());
    let wrong_root = facteur::store::open(
        &pg.url(&format!(
            "sslmode=verify-full&sslrootcert={}",
            stranger.cert_path.display()
        )),
        1,
    )
    .await;
    assert!(
        wrong_root.is_err(),
        "another CA's root does not vouch for it"
    );
}
