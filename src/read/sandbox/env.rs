//! The environment a sandbox child starts with: cleared, then only what reading needs.
//!
//! The parent's environment holds the database URL, the IMAP password and OAuth refresh-token
//! variables (`FACTEUR_*` overrides); a child parsing hostile bytes must not hold them, so
//! `Worker::start` calls `env_clear()` and passes exactly this list:
//!
//! | variable | why |
//! |---|---|
//! | `PATH` | the child runs `pdftoppm` by name (the parent's `PATH`, or a standard one) |
//! | `TMPDIR` | a private 0700 folder per child, removed by the parent when the child ends, so a killed child leaves no temporary file behind |
//! | `OMP_THREAD_LIMIT=1` | libgomp reads it when libtesseract loads; OCR is ~4× slower on 2 cores without it |
//! | `MALLOC_ARENA_MAX=2` | glibc reserves 64 MiB of address space per arena; RLIMIT_AS counts it |
//! | `FACTEUR_OCR_ENGINES=1`, `FACTEUR_SANDBOX_MEMORY_MB`, `FACTEUR_SANDBOX_CPU_SECS` | the child's own settings |
//! | `TESSDATA_PREFIX` | only if set in the parent: where Tesseract's models are |
//! | `LD_LIBRARY_PATH` | only if set in the parent: the binary may need it to load libtesseract |
//! | `FACTEUR_PDF_TEXT` | only if set: the switch that reads PDFs with pdf-extract (comparisons) |
//!
//! Left out on purpose: `LANG`/`LC_*` (the child never calls `setlocale`, so it runs in the C
//! locale whatever they say, which is also the locale Tesseract expects for numbers), `HOME`,
//! `USER`, `RUST_LOG` (the child does not log through tracing; its stderr reaches the parent).

use std::ffi::OsString;
use std::path::Path;

use super::{SandboxConfig, ENV_CPU_SECS, ENV_MEMORY_MB};

/// `PATH` when the parent has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Passed through unchanged when the parent has them, and only then.
const PASSED_IF_SET: &[&str] = &["TESSDATA_PREFIX", "LD_LIBRARY_PATH", "FACTEUR_PDF_TEXT"];

/// The whole environment of a child, given the parent's variables (`std::env::vars_os()`).
pub(super) fn child_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    config: &SandboxConfig,
    tmpdir: &Path,
) -> Vec<(OsString, OsString)> {
    let parent: Vec<(OsString, OsString)> = parent.into_iter().collect();
    let from_parent = |name: &str| {
        parent
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut env: Vec<(OsString, OsString)> = vec![
        (
            "PATH".into(),
            from_parent("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
        ),
        ("TMPDIR".into(), tmpdir.as_os_str().to_owned()),
        ("OMP_THREAD_LIMIT".into(), "1".into()),
        ("MALLOC_ARENA_MAX".into(), "2".into()),
        // One document at a time per child: one engine, not one per core.
        (crate::read::ocr::engine::ENV_ENGINES.into(), "1".into()),
        (
            ENV_MEMORY_MB.into(),
            config.memory_limit_mb.to_string().into(),
        ),
        (
            ENV_CPU_SECS.into(),
            config.cpu_limit_secs.to_string().into(),
        ),
    ];
    for name in PASSED_IF_SET {
        if let Some(v) = from_parent(name) {
            env.push(((*name).into(), v));
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_variables_reach_the_child() {
        let parent = [
            ("PATH", "/opt/bin:/usr/bin"),
            ("FACTEUR_DATABASE_URL", "postgres://ap:hunter2@db/ledger"),
            ("FACTEUR_IMAP_PASSWORD", "hunter2"),
            ("TESSDATA_PREFIX", "/srv/tessdata"),
            ("LANG", "fr_FR.UTF-8"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = child_env(parent, &SandboxConfig::default(), Path::new("/tmp/x"));
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(get("PATH"), Some("/opt/bin:/usr/bin".into()));
        assert_eq!(get("TESSDATA_PREFIX"), Some("/srv/tessdata".into()));
        assert_eq!(get("TMPDIR"), Some("/tmp/x".into()));
        assert_eq!(get("OMP_THREAD_LIMIT"), Some("1".into()));
        for secret in ["FACTEUR_DATABASE_URL", "FACTEUR_IMAP_PASSWORD", "LANG"] {
            assert_eq!(get(secret), None, "{secret} must not reach the child");
        }
        let bare = child_env([], &SandboxConfig::default(), Path::new("/tmp/x"));
        assert!(bare.iter().any(|(k, v)| k == "PATH" && v == DEFAULT_PATH));
    }
}
