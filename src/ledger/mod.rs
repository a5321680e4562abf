//! The shared ledger (DESIGN.md §5): one double-entry book for supplier invoices now and customer
//! invoices later. Pure parts here, the book itself in `store::ledger`.
//!
//! | module | owns |
//! |---|---|
//! | `account.rs` | account numbers, the chart of accounts (models/chart/pcg.toml), FR/EN labels |
//! | `entry.rs` | journals, lines, a new entry that is balanced by construction |
//! | `chain.rs` | the content hash of an entry and the chain that links it to the previous one |
//! | `ap.rs` | what an approved supplier invoice posts |
//! | `close.rs` | year-end: the opening entry of the next year |
//! | `opening.rs` | opening balances from a trial balance in CSV |
//! | `company.rs` | the company's own checks: an invoice addressed to us |
//! | `fx.rs` | exchange rates (ECB CSV, by hand, printed) and conversion into the company currency |
//! | `datev.rs` | DATEV's EXTF Buchungsstapel (v700) for German accountants |
//! | `export.rs` | journal CSVs for accounting software: generic, Xero, QuickBooks |
//! | `bank/` | bank statements in (CAMT.053, CSV) and what each line pays |
//! | `semicolon_csv.rs` | the `;` files read from spreadsheets: header, line numbers, limits |
//! | `sepa.rs` | SEPA credit transfer orders (pain.001.001.03) for payment runs |
//! | `fec.rs` | the Fichier des écritures comptables (article A47 A-1 LPF) |

pub mod account;
pub mod ap;
pub mod bank;
pub mod chain;
pub mod close;
pub mod company;
pub mod datev;
pub mod entry;
pub mod export;
pub mod fec;
pub mod fx;
pub mod opening;
pub mod semicolon_csv;
pub mod sepa;

pub use account::{AccountNumber, Chart};
pub use entry::{Foreign, Journal, LedgerError, Line, LineMatch, NewEntry, PostedEntry};
