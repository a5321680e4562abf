//! The one integration-test binary: each module tests one area against real parts.

mod helpers;

mod cli;
mod einvoice;
mod first_run;
mod folder;
mod imap;
mod ocr;
mod pg_tls;
mod store;
mod text;
mod tls;
