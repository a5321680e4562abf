//! The one integration-test binary: each module tests one area against real parts.

mod helpers;
/// The SMTP server of the mail tests (aiosmtpd), shared by approval and collection tests.
#[path = "../services/smtp.rs"]
mod smtp;

mod api;
mod approval;
mod backup;
mod bank;
mod browser;
mod cli;
mod collection;
mod datev;
mod dedupe;
mod einvoice;
mod fec_golden;
mod first_run;
mod folder;
mod folder_hostile;
mod fuzz_corpus;
mod fx;
mod hostile_files;
mod imap;
mod ledger;
mod ledger_open;
mod ledger_props;
mod ocr;
mod pdf_limits;
mod pg_tls;
mod queue;
mod receivables;
mod receivables_disputed;
mod receivables_quotes;
mod receivables_xml;
mod recovery;
mod reports;
mod sandbox;
mod scheduler_lease;
mod store;
mod suppliers;
mod text;
mod tls;
mod torture;
mod web;
mod web_admin_pages;
mod web_pages;
