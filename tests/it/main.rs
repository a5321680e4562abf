//! The one integration-test binary: each module tests one area against real parts.

mod helpers;

mod cli;
mod einvoice;
mod folder;
mod folder_hostile;
mod imap;
mod ocr;
mod store;
mod text;
