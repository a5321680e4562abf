//! The one integration-test binary: each module tests one area against real parts.

mod helpers;

mod cli;
mod einvoice;
mod folder;
mod imap;
mod ocr;
mod pdf_limits;
mod sandbox;
mod store;
mod text;
