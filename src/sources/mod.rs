//! Sources turn the outside world into `RawDocument`s and hand them to intake; they never parse.
//!
//! A source acknowledges to the outside world (moves a file to `processed/`, moves a mail) only
//! after intake has committed the document, so a crash between the two re-delivers bytes that
//! intake recognises by their hash: nothing is lost and nothing is doubled.

pub mod folder;
