//! Pipeline files (`pipelines/*.toml`): which sources feed facteur. Each `[[source]]` table has a
//! `type` and that source kind's own keys, documented on its config struct in `sources/`.
//! `[[approval.rule]]` tables (`approval::policy`) choose who approves the invoices.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diagnostics::{self, ConfigError, Diagnostic};
use super::spans::{SpanTree, Step};
use super::Settings;
use crate::approval::ApprovalPolicy;
pub use crate::sources::SourceConfig;
use crate::sources::{KeyStep, Problem};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    /// Shown in logs; defaults to the file name.
    name: Option<String>,
    #[serde(default, rename = "source")]
    sources: Vec<SourceConfig>,
    #[serde(default)]
    approval: ApprovalPolicy,
}

/// A loaded pipeline file with its paths resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub file: PathBuf,
    pub sources: Vec<SourceConfig>,
    /// Who approves this pipeline's invoices; no rule leaves them in `pending_approval`.
    pub approval: ApprovalPolicy,
}

impl Pipeline {
    /// Parses a pipeline file, runs each source's own checks, and resolves relative paths (once)
    /// against the file's folder.
    pub fn parse(file: &Path, text: &str) -> Result<Pipeline, ConfigError> {
        let parsed: PipelineFile = diagnostics::parse_all(file, text)?;
        let spans = &SpanTree::parse(text);
        let source_problems = parsed.sources.iter().enumerate().flat_map(|(i, s)| {
            let at = [Step::Key("source"), Step::Index(i)];
            s.problems()
                .into_iter()
                .map(move |p| locate(file, text, spans, &at, p))
        });
        let approval_problems = parsed
            .approval
            .problems()
            .into_iter()
            .map(|p| locate(file, text, spans, &[Step::Key("approval")], p));
        let diagnostics: Vec<Diagnostic> = source_problems.chain(approval_problems).collect();
        if !diagnostics.is_empty() {
            return Err(ConfigError { diagnostics });
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let sources = parsed
            .sources
            .into_iter()
            .map(|s| s.resolved(base))
            .collect();
        let name = parsed.name.unwrap_or_else(|| {
            file.file_stem()
                .map_or("pipeline".into(), |s| s.to_string_lossy().into_owned())
        });
        Ok(Pipeline {
            name,
            file: file.to_path_buf(),
            sources,
            approval: parsed.approval,
        })
    }
}

/// A problem at its key's line and column (`<prefix>.<path>`, e.g. `source.1.folder`).
fn locate(
    file: &Path,
    text: &str,
    spans: &SpanTree,
    prefix: &[Step<'_>],
    p: Problem,
) -> Diagnostic {
    let mut path: Vec<Step<'_>> = prefix.to_vec();
    path.extend(p.path.iter().map(|s| match s {
        KeyStep::Key(k) => Step::Key(k),
        KeyStep::Index(i) => Step::Index(*i),
    }));
    let (line, column) = spans
        .span(&path)
        .map_or((0, 0), |r| diagnostics::line_col(text, r.start));
    Diagnostic {
        file: file.to_path_buf(),
        line,
        column,
        message: p.message,
        hint: p.hint,
    }
}

/// Loads the pipelines a config names, or every `pipelines/*.toml` beside it, and checks that
/// source names are unique.
pub fn load_all(settings: &Settings) -> Result<Vec<Pipeline>, ConfigError> {
    let files: Vec<PathBuf> = match &settings.pipelines {
        Some(list) => list.iter().map(|p| settings.resolve(p)).collect(),
        None => {
            let dir = settings.base_dir.join("pipelines");
            let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        }
    };
    let mut errors = Vec::new();
    let mut pipelines = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError::single(
                    &file,
                    format!("cannot read pipeline file: {e}"),
                    None,
                ));
                continue;
            }
        };
        match Pipeline::parse(&file, &text) {
            Ok(p) => pipelines.push(p),
            Err(e) => errors.push(e),
        }
    }
    let mut seen = std::collections::HashMap::new();
    for p in &pipelines {
        for s in &p.sources {
            if let Some(first) = seen.insert(s.name().to_string(), p.file.clone()) {
                errors.push(ConfigError::single(
                    &p.file,
                    format!(
                        "source name '{}' is already used in {}",
                        s.name(),
                        first.display()
                    ),
                    Some(
                        "give every source a unique `name`: it is recorded on each document".into(),
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(pipelines)
    } else {
        Err(ConfigError {
            diagnostics: errors.into_iter().flat_map(|e| e.diagnostics).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_problems_point_at_their_key() {
        let text = "name = \"p\"\n\n[[approval.rule]]\nname = \"a\"\n\
                    steps = [ { approvers = [\"nobody\"], mode = \"all\" } ]\n";
        let e = Pipeline::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "p.toml:5:13: approval rule 'a', step 1: 'nobody' is not an email address"
            ),
            "{e}"
        );
        let ok = "[[approval.rule]]\nname = \"a\"\nsteps = [ { approvers = [\"m@x.test\"] } ]\n";
        let p = Pipeline::parse(Path::new("p.toml"), ok).unwrap();
        assert_eq!(p.approval.rules.len(), 1);
    }
}
