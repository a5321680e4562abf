//! The drop folder's file-system side, safe against symlinks: reading a dropped file, and filing it
//! into `processed/<date>/` once committed, or into `failed/` beside a `<name>.reason.txt`.
//!
//! A drop folder is often a share many people (and programs) write to, so nothing is followed: the
//! dropped file is opened with `O_NOFOLLOW` and checked on the opened descriptor (a file swapped for
//! a symlink between the scan's stat and the read is refused, not read); processed/ and failed/
//! must be real folders (a symlink there is refused and reported, never entered); the dated
//! subfolder, the filed copy and the reason file are created relative to those opened folders with
//! `O_NOFOLLOW`/`O_EXCL`, so nothing is written outside them and nothing is overwritten (a taken
//! name gets ` (2)`, ` (3)`…). A cross-device move whose delete fails removes its copy again.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::scan::Stat;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(
        "{0} is a symbolic link; facteur neither enters nor writes through one (make it a real \
         folder, or point processed_dir/failed_dir at the real one)"
    )]
    Symlinked(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileError {
    let path = path.to_path_buf();
    move |source| FileError::Io { what, path, source }
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a name"))
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// What reading a dropped file found.
#[derive(Debug)]
pub enum Opened {
    Bytes(Vec<u8>, Stat),
    /// Gone since the scan (taken by another process, or deleted).
    Gone,
    /// No longer a regular file (swapped for a symlink, a FIFO, a folder): left alone.
    NotRegular(&'static str),
    /// Bigger than `max` bytes: not read.
    TooLarge(u64),
}

/// Reads a dropped file through one descriptor opened without following a symlink, reading at
/// most `max` bytes (`O_NONBLOCK`: a FIFO put in its place must not hang the source).
pub fn read_regular(path: &Path, max: u64) -> io::Result<Opened> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::Gone),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Opened::NotRegular("a symbolic link"))
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Opened::NotRegular("not a regular file"));
    }
    if meta.len() > max {
        return Ok(Opened::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    (&mut file)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(Opened::TooLarge(bytes.len() as u64));
    }
    let stat = Stat {
        size: meta.len(),
        mtime: meta.modified().ok(),
    };
    Ok(Opened::Bytes(bytes, stat))
}

/// The size and mtime of `path` itself (a symlink is not followed), if it is a regular file.
pub fn stat_of(path: &Path) -> Option<Stat> {
    let m = std::fs::symlink_metadata(path).ok()?;
    m.is_file().then(|| Stat {
        size: m.len(),
        mtime: m.modified().ok(),
    })
}

/// A folder held open: what is created in it stays in it, whatever is renamed around it.
struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens processed/ or failed/ (created when missing); a symlink there is refused.
    fn root(path: &Path) -> Result<Dir, FileError> {
        if let Err(e) = std::fs::symlink_metadata(path) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(io_err("cannot look at", path)(e));
            }
            std::fs::create_dir_all(path).map_err(io_err("cannot create", path))?;
        }
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(path);
        match opened {
            Ok(f) => Ok(Dir {
                fd: f.into(),
                path: path.to_path_buf(),
            }),
            // O_DIRECTORY|O_NOFOLLOW on a symlink: ELOOP or ENOTDIR, depending on the kernel.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                match std::fs::symlink_metadata(path) {
                    Ok(m) if m.file_type().is_symlink() => {
                        Err(FileError::Symlinked(path.to_path_buf()))
                    }
                    _ => Err(io_err("cannot open", path)(e)),
                }
            }
            Err(e) => Err(io_err("cannot open", path)(e)),
        }
    }

    /// Creates (if needed) and opens the subfolder `name`; a symlink there is refused.
    fn child(&self, name: &str) -> Result<Dir, FileError> {
        let path = self.path.join(name);
        let c = c_name(name).map_err(io_err("cannot create", &path))?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        let made = check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o755) });
        if let Err(e) = made {
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(io_err("cannot create", &path)(e));
            }
        }
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: as above; the returned descriptor is owned below.
        match check(unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags) }) {
            // SAFETY: openat returned a new descriptor nobody else owns.
            Ok(fd) => Ok(Dir {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                path,
            }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.file_type().is_symlink() => Err(FileError::Symlinked(path)),
                    _ => Err(io_err("cannot open", &path)(e)),
                }
            }
            Err(e) => Err(io_err("cannot open", &path)(e)),
        }
    }

    /// True when something (a symlink included) is at `name`.
    fn taken(&self, name: &str) -> bool {
        let Ok(c) = c_name(name) else { return true };
        // SAFETY: a zeroed stat buffer is valid for fstatat to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, name and buffer.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT)
    }

    /// A new file `name`, never an existing one nor through a symlink.
    fn create_new(&self, name: &str) -> io::Result<File> {
        let c = c_name(name)?;
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and name; the mode is passed as the variadic argument.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                flags,
                0o644 as libc::c_uint,
            )
        })?;
        // SAFETY: openat returned a new descriptor nobody else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Renames `src` to `name` in this folder, never replacing what is there.
    fn rename_into(&self, src: &Path, name: &str) -> io::Result<()> {
        let (s, c) = (c_path(src)?, c_name(name)?);
        let dir = self.fd.as_raw_fd();
        // SAFETY: valid paths and descriptors.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                s.as_ptr(),
                dir,
                c.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        match check(rc) {
            // File systems without RENAME_NOREPLACE (some network shares): look, then rename.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                if self.taken(name) {
                    return Err(io::Error::from_raw_os_error(libc::EEXIST));
                }
                // SAFETY: as above.
                check(unsafe { libc::renameat(libc::AT_FDCWD, s.as_ptr(), dir, c.as_ptr()) })
                    .map(drop)
            }
            r => r.map(drop),
        }
    }

    fn unlink(&self, name: &str) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and name.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
    }
}

/// `name`, then `stem (2).ext`, `stem (3).ext`…
fn candidates(name: &str) -> impl Iterator<Item = String> + '_ {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    std::iter::once(name.to_string()).chain((2..100_000).map(move |n| format!("{stem} ({n}){ext}")))
}

/// Moves `file` into `dir` under a free name (`with_reason`: `<name>.reason.txt` free too).
fn file_into(file: &Path, dir: &Dir, with_reason: bool) -> Result<String, FileError> {
    let name = file
        .file_name()
        .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned());
    for cand in candidates(&name) {
        if with_reason && dir.taken(&format!("{cand}.reason.txt")) {
            continue;
        }
        match dir.rename_into(file, &cand) {
            Ok(()) => return Ok(cand),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                match copy_across(file, dir, &cand) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                    Err(e) => return Err(io_err("cannot copy", file)(e)),
                    Ok(()) => {}
                }
                if let Err(e) = std::fs::remove_file(file) {
                    // Leave one file, not two: the next attempt copies again.
                    let _ = dir.unlink(&cand);
                    return Err(FileError::Io {
                        what: "copied (copy removed again), but cannot delete the original",
                        path: file.to_path_buf(),
                        source: e,
                    });
                }
                return Ok(cand);
            }
            Err(e) => return Err(io_err("cannot move", file)(e)),
        }
    }
    Err(FileError::Io {
        what: "no free name for",
        path: dir.path.join(name),
        source: io::Error::from_raw_os_error(libc::EEXIST),
    })
}

fn copy_across(file: &Path, dir: &Dir, name: &str) -> io::Result<()> {
    let mut src = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)?;
    let mut dst = dir.create_new(name)?;
    let copied = io::copy(&mut src, &mut dst).and_then(|_| dst.sync_all());
    if let Err(e) = copied {
        let _ = dir.unlink(name);
        return Err(e);
    }
    Ok(())
}

/// Files a committed file under `<root>/<today>/`. Returns where it went.
pub fn file_processed(
    file: &Path,
    root: &Path,
    today: chrono::NaiveDate,
) -> Result<PathBuf, FileError> {
    let dir = Dir::root(root)?.child(&today.format("%Y-%m-%d").to_string())?;
    let name = file_into(file, &dir, false)?;
    Ok(dir.path.join(name))
}

/// Files a rejected file under `failed/` with its reason next to it.
pub fn fail(file: &Path, failed_dir: &Path, reason: &str) -> Result<PathBuf, FileError> {
    let dir = Dir::root(failed_dir)?;
    let name = file_into(file, &dir, true)?;
    let text = format!(
        "{}\nfile: {}\nwhen: {}\n",
        reason,
        file.display(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let reason_name = format!("{name}.reason.txt");
    let reason_path = dir.path.join(&reason_name);
    dir.create_new(&reason_name)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io_err("cannot write", &reason_path))?;
    Ok(dir.path.join(name))
}

/// Checks that processed/ and failed/ are not symlinks (missing is fine: created when needed).
pub fn check_roots(roots: &[&Path]) -> Result<(), FileError> {
    for r in roots {
        match std::fs::symlink_metadata(r) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(FileError::Symlinked(r.to_path_buf()))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("a valid date")
    }

    #[test]
    fn never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("in");
        std::fs::create_dir(&src).unwrap();
        for i in 0..3 {
            let f = src.join("a.pdf");
            std::fs::write(&f, format!("{i}")).unwrap();
            file_processed(&f, &d.path().join("out"), day()).unwrap();
        }
        let mut names: Vec<_> = std::fs::read_dir(d.path().join("out/2026-11-30"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a (2).pdf", "a (3).pdf", "a.pdf"]);
    }

    #[test]
    fn failed_files_get_a_reason_and_never_write_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let failed = d.path().join("failed");
        std::fs::create_dir(&failed).unwrap();
        let victim = d.path().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, failed.join("x.pdf.reason.txt")).unwrap();
        let f = d.path().join("x.pdf");
        std::fs::write(&f, "").unwrap();
        let dest = fail(&f, &failed, "empty file").unwrap();
        assert_eq!(dest, failed.join("x (2).pdf"));
        let reason = std::fs::read_to_string(failed.join("x (2).pdf.reason.txt")).unwrap();
        assert!(reason.starts_with("empty file"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn symlinked_roots_and_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, d.path().join("processed")).unwrap();
        let f = d.path().join("a.pdf");
        std::fs::write(&f, "%PDF").unwrap();
        let r = file_processed(&f, &d.path().join("processed"), day());
        assert!(matches!(r, Err(FileError::Symlinked(_))), "{r:?}");
        assert!(f.exists());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        let link = d.path().join("link.pdf");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(matches!(
            read_regular(&link, 100).unwrap(),
            Opened::NotRegular(_)
        ));
        assert!(matches!(read_regular(&f, 100).unwrap(), Opened::Bytes(b, _) if b == b"%PDF"));
        assert!(matches!(read_regular(&f, 2).unwrap(), Opened::TooLarge(4)));
    }
}
