//! Turning TOML into typed settings with errors people can act on: file, line, column, a hint.
//!
//! `toml` stops at the first error, but `check-config` must report every problem. So on each error
//! we blank out the offending line (same length, so later positions stay true) and parse again,
//! collecting errors until the file parses or nothing more can be learnt. Checks made after parsing
//! find their keys with `spans::SpanTree` (toml::Spanned), never by searching the text.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// One problem in a configuration file or environment variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is not tied to a line (e.g. a missing file).
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in one load; `Display` prints them one per paragraph.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub fn single(file: &Path, message: impl Into<String>, hint: Option<String>) -> Self {
        ConfigError {
            diagnostics: vec![Diagnostic {
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                message: message.into(),
                hint,
            }],
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// Parses `text` as `T`, collecting every error with its position (see the module comment).
pub fn parse_all<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    let mut work = text.to_string();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for _ in 0..32 {
        match toml::from_str::<T>(&work) {
            Ok(v) if diagnostics.is_empty() => return Ok(v),
            Ok(_) => break,
            Err(e) => {
                let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
                let message = e.message().trim().to_string();
                let d = Diagnostic {
                    file: file.to_path_buf(),
                    line,
                    column,
                    hint: hint_for(&message),
                    message,
                };
                let repeated = diagnostics.contains(&d);
                if !repeated {
                    diagnostics.push(d);
                }
                if repeated || line == 0 || !blank_line(&mut work, line) {
                    break;
                }
            }
        }
    }
    Err(ConfigError { diagnostics })
}

/// Replaces line `line` (1-based) with a comment of the same length; false if already blank.
/// A bad table header takes its body with it, so its keys are not misreported in the table above.
fn blank_line(text: &mut String, line: usize) -> bool {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_bad_table = false;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let t = l.trim_start();
        if i + 1 == line {
            in_bad_table = t.starts_with('[');
        } else if t.starts_with('[') {
            in_bad_table = false;
        }
        let target = i + 1 == line || in_bad_table;
        if target && !t.starts_with('#') && !l.trim().is_empty() {
            let body = l.trim_end_matches(['\n', '\r']);
            out.push('#');
            out.push_str(&" ".repeat(body.len().saturating_sub(1)));
            out.push_str(&l[body.len()..]);
            changed = true;
        } else {
            out.push_str(l);
        }
    }
    *text = out;
    changed
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into "did you mean `a`?".
fn hint_for(message: &str) -> Option<String> {
    let unknown = message.strip_prefix("unknown field `")?.split('`').next()?;
    let expected: Vec<&str> = message
        .split("expected")
        .nth(1)?
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    let best = expected
        .iter()
        .min_by_key(|cand| edit_distance(unknown, cand))?;
    if edit_distance(unknown, best) <= 3 {
        Some(format!(
            "did you mean `{best}`? (unknown keys are errors, not ignored)"
        ))
    } else {
        Some(format!(
            "remove it; the keys here are: {}",
            expected.join(", ")
        ))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        nested: N,
    }
    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct N {
        poll_interval_secs: Option<u64>,
    }

    #[test]
    fn reports_every_error_with_position() {
        let text = "name = \"x\"\ncuont = 3\n[nested]\npoll_intervall_secs = 4\n";
        let e = parse_all::<T>(Path::new("f.toml"), text).unwrap_err();
        assert_eq!(e.diagnostics.len(), 2, "{e}");
        assert_eq!((e.diagnostics[0].line, e.diagnostics[0].column), (2, 1));
        assert!(e.diagnostics[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("`count`"));
        assert_eq!(e.diagnostics[1].line, 4);
        assert!(e.to_string().contains("f.toml:4:1"));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_all::<T>(Path::new("f.toml"), "name = \"x\"\ncount = = 3\n").unwrap_err();
        assert_eq!(e.diagnostics[0].line, 2);
    }

    #[test]
    fn type_error_has_position() {
        let e =
            parse_all::<T>(Path::new("f.toml"), "name = \"x\"\ncount = \"many\"\n").unwrap_err();
        assert_eq!(e.diagnostics[0].line, 2);
        assert!(e.diagnostics[0].message.contains("invalid type"), "{e}");
    }
}
