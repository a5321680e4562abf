//! Fuzz target `csv`: `facteur::fuzzing::csv` on every input (see src/fuzzing.rs for what it calls).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = facteur::fuzzing::csv(data);
});
