//! facteur: an accounts-payable pipeline with a shared double-entry ledger.
//!
//! Data flows one way (DESIGN.md §1): `sources` turn mailboxes and folders into `RawDocument`s,
//! `stages` move each document through intake → read → dedupe → route → approve → post → export,
//! handing over only through the `store`; `cli` and (later) `web` are the ways in for people.

pub mod approval;
pub mod bench;
pub mod cli;
pub mod config;
pub mod dedupe;
pub mod domain;
pub mod fuzzing;
pub mod ledger;
pub mod metrics;
pub mod notify;
pub mod printable;
pub mod read;
pub mod receivables;
pub mod reports;
pub mod secret;
pub mod sources;
pub mod stages;
pub mod store;
pub mod testing;
pub mod users;
pub mod web;
pub mod worker;
