//! The one integration-test binary: each module tests one area against real parts.

mod helpers;

mod approval;
mod backup;
mod bank;
mod cli;
mod datev;
mod dedupe;
mod einvoice;
mod fec_golden;
mod first_run;
mod folder;
mod folder_hostile;
mod hostile_files;
mod fx;
mod imap;
mod ledger;
mod ledger_open;
mod ledger_props;
mod ocr;
mod pdf_limits;
mod pg_tls;
mod queue;
mod receivables;
mod recovery;
mod reports;
mod sandbox;
mod store;
mod suppliers;
mod text;
mod tls;
mod web;
