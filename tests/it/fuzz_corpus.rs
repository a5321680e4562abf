//! The fuzz corpora on stable, without the fuzz crate: every committed input under
//! fuzz/corpus/<target>/ and fuzz/regressions/<target>/ goes through `facteur::fuzzing` (the
//! functions the cargo-fuzz targets call) and must come back, within a time bound, as Ok or as
//! an Err that says something. A panic names the file that caused it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use facteur::fuzzing::{self, TARGETS};

/// One input in the test build (unoptimised crate, shared machine); libFuzzer allows 10 s to
/// the optimised build.
const BOUND: Duration = Duration::from_secs(30);

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

/// Runs one input; the failure message names the file.
fn replay(target: &str, file: &Path) -> Result<usize, String> {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| fuzzing::run(target, &bytes)))
        .unwrap_or_else(|_| panic!("{target}: {} panicked", file.display()))
        .unwrap_or_else(|| panic!("unknown fuzz target {target}"));
    let spent = start.elapsed();
    assert!(
        spent < BOUND,
        "{target}: {} took {spent:?}, over {BOUND:?}",
        file.display()
    );
    if let Err(why) = &result {
        assert!(
            !why.trim().is_empty(),
            "{target}: {} failed without saying why",
            file.display()
        );
    }
    result
}

#[test]
fn every_corpus_and_regression_input_returns_within_bounds() {
    let mut summary = Vec::new();
    for target in TARGETS {
        let corpus = inputs("corpus", target);
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target}/ is empty: run scripts/fuzz --target {target} to seed it"
        );
        let regressions = inputs("regressions", target);
        let (mut ok, mut first_err) = (0, None);
        for file in corpus.iter().chain(&regressions) {
            match replay(target, file) {
                Ok(_) => ok += 1,
                Err(why) => {
                    first_err.get_or_insert_with(|| format!("{}: {why}", file.display()));
                }
            }
        }
        // Seeds, not only garbage: each target reads at least one of its inputs.
        assert!(ok > 0, "no input of fuzz/corpus/{target}/ was read");
        summary.push(format!(
            "{target}: {} corpus + {} regressions, {ok} Ok; first Err: {}",
            corpus.len(),
            regressions.len(),
            first_err.unwrap_or_default()
        ));
    }
    eprintln!("{}", summary.join("\n"));
}
