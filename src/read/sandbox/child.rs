//! The sandbox child: `facteur __sandbox-child` serves read requests from its parent until stdin
//! closes, inside the memory and CPU limits the parent passed in its environment.
//!
//! The limits are set by the child on itself before it reads anything (no `pre_exec` in the
//! parent). RLIMIT_CPU counts the whole life of the process and children are reused, so before each
//! document the soft limit is moved to "CPU used so far + the per-document allowance"; going over it
//! raises SIGXCPU, which the parent reports as a hung reader. The protocol owns the real stdin and
//! stdout, moved to close-on-exec descriptors: fd 1 is pointed at stderr, so a library that prints
//! cannot corrupt a frame, and fd 0 at /dev/null, so a helper (`pdftoppm`) started by a library
//! or by us inherits neither end of the protocol.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::panic::{self, AssertUnwindSafe};

use super::protocol::{read_frame, write_frame, Response, MAX_REQUEST_BYTES, READY};
use crate::read::{read_document, ReadError, ReadOptions};

/// Address-space limit of the child in MiB (set by the parent).
pub const ENV_MEMORY_MB: &str = "FACTEUR_SANDBOX_MEMORY_MB";
/// CPU seconds each document may use in the child (set by the parent).
pub const ENV_CPU_SECS: &str = "FACTEUR_SANDBOX_CPU_SECS";

/// Runs the child loop; returns the process exit status.
pub fn serve() -> u8 {
    let memory_mb = env_u64(ENV_MEMORY_MB);
    let cpu_secs = env_u64(ENV_CPU_SECS);
    if let Some(mb) = memory_mb {
        if let Err(e) = set_memory_limit(mb) {
            eprintln!("facteur sandbox child: cannot set RLIMIT_AS to {mb} MiB: {e}");
            return 3;
        }
    }
    let mut out = match take_stdout() {
        Ok(f) => BufWriter::new(f),
        Err(e) => {
            eprintln!("facteur sandbox child: cannot take over stdout: {e}");
            return 3;
        }
    };
    if let Err(e) = out.write_all(READY).and_then(|()| out.flush()) {
        eprintln!("facteur sandbox child: cannot greet the parent: {e}");
        return 3;
    }
    let mut input = match take_stdin() {
        Ok(f) => BufReader::new(f),
        Err(e) => {
            eprintln!("facteur sandbox child: cannot take over stdin: {e}");
            return 3;
        }
    };
    loop {
        let opts = match read_frame(&mut input, 1024 * 1024) {
            Ok(Some(frame)) => frame,
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("facteur sandbox child: bad request frame: {e}");
                return 4;
            }
        };
        let bytes = match read_frame(&mut input, MAX_REQUEST_BYTES) {
            Ok(Some(frame)) => frame,
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("facteur sandbox child: bad document frame: {e}");
                return 4;
            }
        };
        if let Some(secs) = cpu_secs {
            if let Err(e) = set_cpu_allowance(secs) {
                eprintln!("facteur sandbox child: cannot set RLIMIT_CPU: {e}");
                return 3;
            }
        }
        let response = match serde_json::from_slice::<ReadOptions>(&opts) {
            Err(e) => Response {
                result: Err(ReadError::Crashed(format!(
                    "the reader process received unreadable options: {e}"
                ))),
                retire: false,
            },
            Ok(opts) => match panic::catch_unwind(AssertUnwindSafe(|| handle(&bytes, &opts))) {
                Ok(result) => Response {
                    result: blame_memory_limit(result, memory_mb),
                    retire: false,
                },
                Err(payload) => Response {
                    result: Err(ReadError::Crashed(format!(
                        "the reader panicked: {}",
                        panic_message(payload.as_ref())
                    ))),
                    // State inside the libraries may be half-updated: start afresh.
                    retire: true,
                },
            },
        };
        let written = serde_json::to_vec(&response)
            .map_err(io::Error::other)
            .and_then(|json| write_frame(&mut out, &json));
        if let Err(e) = written {
            eprintln!("facteur sandbox child: cannot answer the parent: {e}");
            return 4;
        }
        if response.retire {
            return 5;
        }
    }
}

/// An engine thread that cannot start under RLIMIT_AS ran out of address space: that is the
/// memory limit, and the reason should say so.
fn blame_memory_limit(
    result: Result<crate::domain::Extraction, ReadError>,
    memory_mb: Option<u64>,
) -> Result<crate::domain::Extraction, ReadError> {
    match (result, memory_mb) {
        (Err(ReadError::Ocr(why)), Some(mb))
            if why.contains(crate::read::ocr::engine::START_FAILURE) =>
        {
            Err(ReadError::Limit(format!(
                "reading needed more than the {mb} MiB memory limit ({why})"
            )))
        }
        (other, _) => other,
    }
}

fn handle(bytes: &[u8], opts: &ReadOptions) -> Result<crate::domain::Extraction, ReadError> {
    #[cfg(test)]
    if let Some(cmd) = bytes.strip_prefix(b"SANDBOX-TEST:") {
        test_hook(cmd);
    }
    read_document(bytes, opts)
}

/// Misbehaviours on demand, for the pool's own tests (compiled into test builds only).
#[cfg(test)]
fn test_hook(cmd: &[u8]) {
    match cmd {
        b"panic" => panic!("test hook asked for a panic"),
        b"abort" => std::process::abort(),
        b"alloc" => {
            let v = vec![1u8; 3 << 30];
            std::hint::black_box(&v);
        }
        b"spin" => {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        b"sleep" => std::thread::sleep(std::time::Duration::from_secs(60)),
        _ => {}
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Keeps a private close-on-exec copy of fd 1 for frames and points fd 1 at stderr.
fn take_stdout() -> io::Result<File> {
    io::stdout().flush()?;
    let frames = dup_cloexec(1)?;
    // SAFETY: dup2 on the process's own standard descriptors.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(frames)
}

/// Keeps a private close-on-exec copy of fd 0 for requests and points fd 0 at /dev/null.
fn take_stdin() -> io::Result<File> {
    let requests = dup_cloexec(0)?;
    let null = File::open("/dev/null")?;
    // SAFETY: dup2 onto the process's own stdin; `null` stays owned by its File.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(requests)
}

/// A close-on-exec duplicate of `fd` (numbered 3 or above), owned by the returned File.
fn dup_cloexec(fd: i32) -> io::Result<File> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on one of our own standard descriptors; the new descriptor
    // is owned by the returned File and nothing else holds it.
    unsafe {
        let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(copy))
    }
}

fn set_memory_limit(mb: u64) -> io::Result<()> {
    let bytes = mb.saturating_mul(1024 * 1024) as libc::rlim_t;
    let lim = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the CPU soft limit to "used so far + `secs`" (the hard limit stays where it is).
fn set_cpu_allowance(secs: u64) -> io::Result<()> {
    // SAFETY: getrusage/getrlimit/setrlimit only write/read the structs we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Err(io::Error::last_os_error());
        }
        let used = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) as u64 + 1;
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CPU, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        let wanted = used.saturating_add(secs) as libc::rlim_t;
        lim.rlim_cur = if lim.rlim_max == libc::RLIM_INFINITY {
            wanted
        } else {
            wanted.min(lim.rlim_max)
        };
        if libc::setrlimit(libc::RLIMIT_CPU, &lim) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
