//! Filing a handled file: into `processed/<date>/` once committed, or into `failed/` beside a
//! `<name>.reason.txt` saying why. Never overwrites: a name already taken gets ` (2)`, ` (3)`…

use std::path::{Path, PathBuf};

/// A free path for `name` inside `dir`.
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .expect("an unbounded range always yields a free name")
}

/// Moves a file (rename, or copy + remove across file systems). Returns where it went.
pub fn move_into(file: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = file
        .file_name()
        .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned());
    let dest = free_path(dir, &name);
    match std::fs::rename(file, &dest) {
        Ok(()) => Ok(dest),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            std::fs::copy(file, &dest)?;
            std::fs::remove_file(file)?;
            Ok(dest)
        }
        Err(e) => Err(e),
    }
}

/// `processed/2026-11-23/`.
pub fn processed_dir(root: &Path, today: chrono::NaiveDate) -> PathBuf {
    root.join(today.format("%Y-%m-%d").to_string())
}

/// Files a rejected file under `failed/` with its reason next to it.
pub fn fail(file: &Path, failed_dir: &Path, reason: &str) -> std::io::Result<PathBuf> {
    let dest = move_into(file, failed_dir)?;
    let mut reason_path = dest.clone().into_os_string();
    reason_path.push(".reason.txt");
    let text = format!(
        "{}\nfile: {}\nwhen: {}\n",
        reason,
        file.display(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    std::fs::write(PathBuf::from(reason_path), text)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("in");
        std::fs::create_dir(&src).unwrap();
        for i in 0..3 {
            let f = src.join("a.pdf");
            std::fs::write(&f, format!("{i}")).unwrap();
            move_into(&f, &d.path().join("out")).unwrap();
        }
        let mut names: Vec<_> = std::fs::read_dir(d.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a (2).pdf", "a (3).pdf", "a.pdf"]);
    }

    #[test]
    fn failed_files_get_a_reason() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.pdf");
        std::fs::write(&f, "").unwrap();
        let dest = fail(&f, &d.path().join("failed"), "empty file").unwrap();
        let reason = std::fs::read_to_string(format!("{}.reason.txt", dest.display())).unwrap();
        assert!(reason.starts_with("empty file"));
    }
}
