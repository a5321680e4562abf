//! The sections of `facteur.toml` (`[database]`, `[intake]`, `[worker]`, `[read]`, `[dedupe]`,
//! `[company]`, `[log]`): each
//! field's doc comment is the manual, each default a small function.

use serde::Deserialize;

use super::DatabaseUrl;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://var/facteur.db` (default; relative to the config folder) or `postgres://user@host/db`
    /// for a store shared by several workers and machines.
    /// The password in it is never printed (`DatabaseUrl`).
    #[serde(default = "default_database_url")]
    pub url: DatabaseUrl,
    /// Pool size. SQLite has one writer whatever this says.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_database_url() -> DatabaseUrl {
    DatabaseUrl::new("sqlite://var/facteur.db")
}
fn default_max_connections() -> u32 {
    8
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: default_database_url(),
            max_connections: default_max_connections(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Stage jobs processed at once by this worker process.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// A claimed job belongs to its worker this long; a crashed worker's jobs are reaped after it.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
    /// Attempts before a job is `dead` (kept, with its last error, for `documents show`).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Times a job may be taken back from workers that stopped while holding it (killed, out of
    /// memory, host lost) before its document fails; these do not count as attempts.
    #[serde(default = "default_max_takebacks")]
    pub max_takebacks: u32,
    /// First retry delay; doubles with each attempt.
    #[serde(default = "default_backoff_secs")]
    pub backoff_secs: u64,
    /// How often an idle worker looks for new jobs.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
}

fn default_concurrency() -> usize {
    2
}
fn default_lease_secs() -> u64 {
    300
}
fn default_max_attempts() -> u32 {
    5
}
fn default_max_takebacks() -> u32 {
    10
}
fn default_backoff_secs() -> u64 {
    10
}
fn default_poll_ms() -> u64 {
    500
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: default_concurrency(),
            lease_secs: default_lease_secs(),
            max_attempts: default_max_attempts(),
            max_takebacks: default_max_takebacks(),
            backoff_secs: default_backoff_secs(),
            poll_interval_ms: default_poll_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadSettings {
    /// Tesseract language for scans: `fra` reads English too (measured), `eng`, `deu`, `fra+eng`…
    #[serde(default = "default_ocr_language")]
    pub ocr_language: String,
    /// Pages per document OCR will read.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    /// Pixels per page image, refused before decoding (decompression bombs).
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
    /// Seconds per OCR page.
    #[serde(default = "default_page_timeout")]
    pub page_timeout_secs: u64,
    /// A calibrated probability (0–1): a key field found below it, or a required field missing, sends a document to `needs_review`.
    #[serde(default = "default_review_threshold")]
    pub review_threshold: f32,
    /// Reader child processes (the sandbox); 0 means one per stage loop for `run`
    /// (`worker::reader_pool`), one per core for `ingest` and `extract`.
    #[serde(default)]
    pub sandbox_workers: usize,
    /// Address-space limit of a reader child, MiB.
    #[serde(default = "default_sandbox_memory")]
    pub sandbox_memory_mb: u64,
    /// Wall-clock limit for reading one document, seconds.
    #[serde(default = "default_sandbox_timeout")]
    pub sandbox_timeout_secs: u64,
}

fn default_ocr_language() -> String {
    "fra".into()
}
fn default_max_pages() -> u32 {
    50
}
fn default_max_pixels() -> u64 {
    40_000_000
}
fn default_page_timeout() -> u64 {
    60
}
fn default_review_threshold() -> f32 {
    0.8
}
fn default_sandbox_memory() -> u64 {
    2048
}
fn default_sandbox_timeout() -> u64 {
    600
}

impl Default for ReadSettings {
    fn default() -> Self {
        ReadSettings {
            ocr_language: default_ocr_language(),
            max_pages: default_max_pages(),
            max_pixels: default_max_pixels(),
            page_timeout_secs: default_page_timeout(),
            review_threshold: default_review_threshold(),
            sandbox_workers: 0,
            sandbox_memory_mb: default_sandbox_memory(),
            sandbox_timeout_secs: default_sandbox_timeout(),
        }
    }
}

impl ReadSettings {
    pub fn read_options(&self) -> crate::read::ReadOptions {
        crate::read::ReadOptions {
            method: crate::read::MethodChoice::Auto,
            ocr_language: self.ocr_language.clone(),
            max_pages: self.max_pages,
            max_pixels: self.max_pixels,
            page_timeout_secs: self.page_timeout_secs,
            suppliers_dir: None,
        }
    }

    pub fn sandbox_config(&self) -> crate::read::sandbox::SandboxConfig {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        crate::read::sandbox::SandboxConfig {
            workers: if self.sandbox_workers == 0 {
                cores
            } else {
                self.sandbox_workers
            },
            memory_limit_mb: self.sandbox_memory_mb,
            cpu_limit_secs: self.sandbox_timeout_secs,
            wall_timeout_secs: self.sandbox_timeout_secs,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter: `info`, `facteur=debug,sqlx=warn`, …
    #[serde(default = "default_log_level")]
    pub level: String,
    #[serde(default)]
    pub format: LogFormat,
}

fn default_log_level() -> String {
    "info".into()
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: default_log_level(),
            format: LogFormat::Text,
        }
    }
}

/// `[dedupe]`: the duplicate rules' thresholds (issue 10, rules D1–D8).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeSettings {
    /// Two grosses are the same amount within this, in the invoice currency (D3, D4).
    #[serde(default = "default_amount_tolerance")]
    pub amount_tolerance: rust_decimal::Decimal,
    /// Invoices of one supplier this many days apart or fewer can be copies (D4, D5).
    #[serde(default = "default_window_days")]
    pub window_days: i64,
    /// Grosses within this percentage of each other are "near" (D5).
    #[serde(default = "default_near_amount_percent")]
    pub near_amount_percent: rust_decimal::Decimal,
    /// First month (1–12) of the fiscal year: an invoice number repeats legitimately across
    /// fiscal years (D2).
    #[serde(default = "default_fiscal_year_start_month")]
    pub fiscal_year_start_month: u32,
}

fn default_amount_tolerance() -> rust_decimal::Decimal {
    rust_decimal::Decimal::new(1, 2)
}
fn default_window_days() -> i64 {
    30
}
fn default_near_amount_percent() -> rust_decimal::Decimal {
    rust_decimal::Decimal::ONE
}
fn default_fiscal_year_start_month() -> u32 {
    1
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            amount_tolerance: default_amount_tolerance(),
            window_days: default_window_days(),
            near_amount_percent: default_near_amount_percent(),
            fiscal_year_start_month: default_fiscal_year_start_month(),
        }
    }
}

impl DedupeSettings {
    pub fn thresholds(&self) -> crate::dedupe::rules::Thresholds {
        crate::dedupe::rules::Thresholds {
            amount_tolerance: self.amount_tolerance,
            window_days: self.window_days,
            near_amount: self.near_amount_percent / rust_decimal::Decimal::ONE_HUNDRED,
            fiscal_year_start_month: self.fiscal_year_start_month,
        }
    }
}

/// `[company]`: who the ledger belongs to. Identifiers are parsed (a SIREN must pass its check
/// digit), so a wrong one is a config error with its line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanySettings {
    /// Legal name, as on the FEC and on issued invoices.
    #[serde(default)]
    pub name: String,
    /// SIREN (9 digits): names the FEC file.
    #[serde(default)]
    pub siren: Option<crate::domain::Siren>,
    #[serde(default)]
    pub vat_id: Option<crate::domain::VatId>,
    /// ISO 3166 country code.
    #[serde(default = "default_country")]
    pub country: String,
    /// The ledger's currency.
    #[serde(default = "default_currency")]
    pub currency: crate::domain::Currency,
    /// First month (1–12) of the fiscal year.
    #[serde(default = "default_fiscal_year_start_month")]
    pub fiscal_year_start_month: u32,
    /// Expense account of a supplier invoice nothing else classifies (PCG 606).
    #[serde(default = "default_expense_account")]
    pub expense_account: crate::ledger::AccountNumber,
    /// Expense accounts of particular suppliers, by VAT id, SIREN or name (spacing and case
    /// ignored): `[company.expense_accounts] "FR44732829320" = "6064"`. Posting and the
    /// approval rules' `gl_accounts` condition both read it.
    #[serde(default)]
    pub expense_accounts: std::collections::BTreeMap<String, crate::ledger::AccountNumber>,
    /// The account supplier invoices are paid from (`facteur pay-run`).
    #[serde(default)]
    pub iban: Option<crate::domain::Iban>,
    #[serde(default)]
    pub bic: Option<crate::domain::Bic>,
    /// VAT rate (percent) the company self-assesses on a reverse-charge purchase.
    #[serde(default = "default_reverse_charge_rate")]
    pub reverse_charge_rate: rust_decimal::Decimal,
    /// `[company.vat_on_receipts]`: suppliers (VAT id or SIREN) and expense accounts whose VAT
    /// is deductible only once the invoice is paid (services, TVA sur les encaissements).
    #[serde(default)]
    pub vat_on_receipts: crate::ledger::ap::VatOnReceipts,
}

fn default_reverse_charge_rate() -> rust_decimal::Decimal {
    rust_decimal::Decimal::new(20, 0)
}

fn default_country() -> String {
    "FR".into()
}
fn default_currency() -> crate::domain::Currency {
    crate::domain::Currency::EUR
}
fn default_expense_account() -> crate::ledger::AccountNumber {
    crate::ledger::AccountNumber::parse(crate::ledger::account::pcg::DEFAULT_EXPENSE)
        .unwrap_or_else(|e| unreachable!("{e}"))
}

impl Default for CompanySettings {
    fn default() -> Self {
        CompanySettings {
            name: String::new(),
            siren: None,
            vat_id: None,
            country: default_country(),
            currency: default_currency(),
            fiscal_year_start_month: default_fiscal_year_start_month(),
            expense_account: default_expense_account(),
            expense_accounts: Default::default(),
            reverse_charge_rate: default_reverse_charge_rate(),
            iban: None,
            bic: None,
            vat_on_receipts: crate::ledger::ap::VatOnReceipts::default(),
        }
    }
}
