//! A private SMTP server for one test: Python's aiosmtpd (Debian `python3-aiosmtpd`, installed
//! by scripts/setup) on a free port of 127.0.0.1, writing every message it accepts into a
//! Maildir under a temp dir; stopped by its PID on drop. The test reads the mail back from the
//! Maildir, as an approver's mailbox would show it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::free_port;

/// Debian's interpreter, where `python3-aiosmtpd` lives (a pyenv `python3` on PATH lacks it).
const PYTHON: &str = "/usr/bin/python3";

pub struct Smtp {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Smtp {
    pub fn start() -> Smtp {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("Maildir");
        let port = free_port();
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed (scripts/setup)");
        let smtp = Smtp { port, dir, child };
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return smtp;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// The `[smtp]` section that sends here.
    pub fn config(&self) -> String {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"facteur <ap@example.test>\"\n",
            self.port
        )
    }

    /// Every message received so far, oldest first, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("Maildir/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
