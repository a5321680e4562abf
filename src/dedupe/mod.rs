//! Duplicate detection (issue 10): normalised keys (`keys`), the supplier entity (`supplier`) and
//! the rules as one pure function (`rules::decide`). The store finds the earlier invoices sharing a
//! key through indexes; the dedupe stage turns the findings into a verdict committed with its job.

pub mod candidate;
pub mod keys;
pub mod rules;
pub mod supplier;

#[cfg(test)]
mod tests;
