//! The one integration-test binary: each module tests one area against real parts.

mod helpers;

mod cli;
mod dedupe;
mod einvoice;
mod folder;
mod imap;
mod ocr;
mod queue;
mod recovery;
mod store;
mod text;
