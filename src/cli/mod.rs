//! The command line: clap definitions and dispatch. Each command lives in its own file.
//!
//! Exit codes mean something (STYLE.md): 0 ok, 1 some documents failed, 2 usage or configuration
//! error. Logs go to stderr (text, or JSON with `--log-format json`); results go to stdout.

/// `println!` for command output: a closed pipe (`facteur documents list | head`) ends the command
/// quietly instead of panicking. Not done with SIGPIPE, which would also kill a worker writing to a
/// reader child that died.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `print!` with the same closed-pipe handling.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = write!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod backup;
mod bank;
mod check_config;
mod customers;
mod demo;
mod documents;
mod extract;
mod ingest;
mod init;
mod ledger;
mod logging;
pub mod mail;
mod quotes;
mod rates;
mod recurring;
mod reminders;
mod report;
mod review;
mod run;
pub(crate) mod sales;
mod sales_xml;
mod suppliers;
pub mod table;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{LogFormat, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "facteur",
    version,
    about = "Accounts-payable pipeline: supplier invoices in, one ledger out"
)]
pub struct Cli {
    /// Configuration file [default: $FACTEUR_CONFIG, else ./facteur.toml]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log format on stderr (overrides log.format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `debug` or `facteur=debug,sqlx=warn` (overrides log.level and RUST_LOG).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented facteur.toml, a pipeline and the folders into DIR (default: here).
    Init(init::Args),
    /// Run every source and stage worker until Ctrl-C (graceful: in-flight work finishes or is released).
    Run,
    /// Serve the approval pages alone (web.listen), without sources or stage workers.
    Serve,
    /// Ingest files or folders once, read them, and print a summary.
    Ingest(ingest::Args),
    /// Read one file and print what was extracted (no database involved).
    Extract(extract::Args),
    /// List and inspect documents.
    #[command(subcommand)]
    Documents(documents::Command),
    /// The review queue: low-confidence readings and duplicates, and the decisions on them.
    #[command(subcommand)]
    Review(review::Command),
    /// The ledger: verify the hash chain, trial balance, entries, period lock.
    #[command(subcommand)]
    Ledger(ledger::Command),
    /// Pay a posted invoice (bank journal); paid in full, its lines get a matching code.
    Pay(ledger::PayArgs),
    /// Pay every posted invoice due by a date by SEPA transfer: book the payments, write the
    /// pain.001 order for the bank.
    PayRun(ledger::PayRunArgs),
    /// Exchange rates for foreign-currency invoices: import the ECB's CSV, set one by hand, list.
    #[command(subcommand)]
    Rates(rates::Command),
    /// Bank statements: import (CAMT.053, CSV), the lines and what they pay, matching by hand.
    #[command(subcommand)]
    Bank(bank::Command),
    /// Supplier master records: the auxiliary account each posts to, and its identifiers.
    #[command(subcommand)]
    Suppliers(suppliers::Command),
    /// Exports for accounting: the FEC of a fiscal year, journal CSVs (generic, Xero, QuickBooks).
    #[command(subcommand)]
    Export(ledger::ExportCommand),
    /// Customers: add, import from CSV, list (with their 411 accounts).
    #[command(subcommand)]
    Customers(customers::Command),
    /// Invoices the company issues: draft, issue (Factur-X, posted), credit, list, pdf, xml.
    #[command(subcommand)]
    Sales(sales::Command),
    /// Quotes (devis): add, list, show, pdf (numbered DE-…), accept (into a sales draft), decline.
    #[command(subcommand)]
    Quotes(quotes::Command),
    /// Reports from the ledger: aged balance (AR/AP), DSO, DPO, overdue, disputed, 13-week cash forecast.
    #[command(subcommand)]
    Report(report::Command),
    /// Write a consistent backup of the whole store (documents and their files, ledger,
    /// receivables, users) to a file, while workers run.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty store, then verify the ledger's hash chain and count what
    /// came back.
    Restore(backup::RestoreArgs),
    /// Customer reminders (relances): what the ladder sends today, and sending it.
    #[command(subcommand)]
    Reminders(reminders::Command),
    /// Recurring invoices: schedules per customer, a preview of the next runs, billing each period once.
    #[command(subcommand)]
    Recurring(recurring::Command),
    /// Check the configuration and its pipelines; print every problem with file, line and column.
    CheckConfig,
    /// People who sign in to the dashboard: add, list, change, enrol a second factor.
    #[command(subcommand)]
    Users(users::Command),
    /// Set up a temporary workspace, ingest the demo invoices and show what facteur read.
    Demo(demo::Args),
    /// Mailboxes: per account and folder, last check, last error, backlog, failing messages.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Print benchmark figures (accuracy and speed against shared/corpus).
    Bench(BenchArgs),
    /// Runs the sandboxed reader (internal: started by facteur itself).
    #[command(name = "__sandbox-child", hide = true)]
    SandboxChild,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Per account and folder: last success, last error, backlog, messages that need a person.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub what: BenchKind,
    /// The corpus folder [default: ../shared/corpus beside the source tree].
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// With `pipeline`: invoices per setup [default: 150].
    #[arg(long)]
    pub count: Option<usize>,
    /// With `pipeline`: only this backend's setups [default: both, PostgreSQL when a server is
    /// named].
    #[arg(long, value_enum)]
    pub backend: Option<crate::bench::pipeline::Backend>,
    /// With `pipeline`: only setups with this many worker processes (PostgreSQL runs 1, 2 and 4
    /// by default; SQLite always 1).
    #[arg(long)]
    pub workers: Option<usize>,
    /// With `pipeline`: keep each setup's workspace (database, worker logs) and say where. The
    /// workers log at `$FACTEUR_BENCH_WORKER_LOG` (a RUST_LOG filter, default `warn`); with
    /// `sqlx::query=debug` their logs hold every statement they ran.
    #[arg(long)]
    pub keep: bool,
    /// With `stp`: fit the confidence calibration on --corpus (default fixtures/generated/dev)
    /// and write models/calibration.toml.
    #[arg(long)]
    pub fit: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchKind {
    /// Field accuracy: XML, text layer, invoice2data PDFs.
    Accuracy,
    /// Documents per second and ms per page, beside pdftotext and python factur-x.
    Speed,
    /// OCR accuracy and speed beside the tesseract CLI.
    Ocr,
    /// Straight-through rate, auto-accepted documents with a wrong key field, documents reviewed
    /// although right, and the confidence reliability table (generated sets + shared corpus).
    Stp,
    /// Duplicate-check look-up latency with 1 k, 100 k and 1 M invoices on each backend
    /// (PostgreSQL when $FACTEUR_BENCH_PG or $FACTEUR_TEST_PG names a server).
    Dedupe,
    /// End-to-end throughput of `facteur run` processes (folder → read → dedupe → automatic
    /// approval → post): documents/s, p50/p99 latency per stage, CPU; SQLite with 1 worker and
    /// PostgreSQL ($FACTEUR_BENCH_PG or $FACTEUR_TEST_PG) with 1, 2 and 4.
    Pipeline,
}

impl BenchKind {
    /// Benchmarks that OCR in this process rather than in sandbox children: they run in
    /// `facteur-ocr`, the binary with Tesseract.
    fn reads_scans_in_process(self) -> bool {
        matches!(self, BenchKind::Accuracy | BenchKind::Ocr | BenchKind::Stp)
    }
}

/// Runs this same command line in `facteur-ocr` beside this binary (never returns on success).
fn hand_over_to_ocr_program() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let ocr = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(crate::read::sandbox::OCR_PROGRAM),
        Err(e) => {
            eprintln!("error: cannot find this executable to start facteur-ocr beside it: {e}");
            return ExitCode::from(1);
        }
    };
    let err = std::process::Command::new(&ocr)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!(
        "error: this benchmark reads scans and runs in {}, which cannot be started: {err}\n\
         hint: build it beside facteur with `cargo build --release` (it builds both programs)",
        ocr.display()
    );
    ExitCode::from(2)
}

/// Failure of a command, mapped to an exit code.
#[derive(Debug)]
pub enum Failure {
    /// Usage or configuration: exit 2.
    Config(String),
    /// Ran, but some documents failed: exit 1 (details already printed).
    Partial,
    /// Anything else: exit 1 with the cause chain.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::Config(e.to_string())
    }
}

pub type CmdResult = Result<(), Failure>;

pub fn main() -> ExitCode {
    // libgomp reads OMP_THREAD_LIMIT when libtesseract is loaded, i.e. at process start: without
    // it OCR is ~4x slower on 2 cores (measured). Re-executes once with it set (facteur-ocr only).
    crate::read::ocr::ensure_omp_thread_limit();
    let cli = Cli::parse();
    if let Command::SandboxChild = cli.command {
        return crate::read::sandbox::child_main();
    }
    if let Command::Bench(args) = &cli.command {
        if args.what.reads_scans_in_process() && !crate::read::ocr::available() {
            return hand_over_to_ocr_program();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Partial) => ExitCode::from(1),
        Err(Failure::Config(msg)) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Loads the configuration; `allow_missing` lets read-only commands run on defaults.
pub(crate) fn load_settings(cli: &Cli, allow_missing: bool) -> Result<Settings, Failure> {
    let path = crate::config::config_path(cli.config.as_deref());
    Ok(Settings::load(&path, allow_missing)?)
}

/// The workspace's settings (logging started) and its store, for commands that read or write it.
pub(crate) async fn open_workspace(
    cli: &Cli,
) -> Result<(Settings, std::sync::Arc<dyn crate::store::Store>), Failure> {
    let settings = load_settings(cli, true)?;
    init_logging(cli, Some(&settings));
    let store = crate::store::open(&settings.database_url(), 2)
        .await
        .map_err(other)?;
    Ok((settings, store))
}

pub(crate) fn other(e: impl Into<anyhow::Error>) -> Failure {
    Failure::Other(e.into())
}

/// Logging on stderr, from the CLI flags, then RUST_LOG, then the config (see logging.rs).
pub(crate) fn init_logging(cli: &Cli, settings: Option<&Settings>) {
    let level = cli
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .or_else(|| settings.map(|s| s.log.level.clone()))
        .unwrap_or_else(|| "info".into());
    let format = cli
        .log_format
        .or(settings.map(|s| s.log.format))
        .unwrap_or_default();
    logging::init(&level, format);
}

async fn dispatch(cli: Cli) -> CmdResult {
    match &cli.command {
        Command::Init(args) => init::run(args),
        Command::Run => run::run(&cli).await,
        Command::Serve => run::serve(&cli).await,
        Command::Ingest(args) => ingest::run(&cli, args).await,
        Command::Extract(args) => extract::run(&cli, args).await,
        Command::Documents(cmd) => documents::run(&cli, cmd).await,
        Command::Review(cmd) => review::run(&cli, cmd).await,
        Command::Ledger(cmd) => ledger::run(&cli, cmd).await,
        Command::Export(cmd) => ledger::export(&cli, cmd).await,
        Command::Bank(cmd) => bank::run(&cli, cmd).await,
        Command::Suppliers(cmd) => suppliers::run(&cli, cmd).await,
        Command::Pay(args) => ledger::pay(&cli, args).await,
        Command::PayRun(args) => ledger::pay_run(&cli, args).await,
        Command::Rates(cmd) => rates::run(&cli, cmd).await,
        Command::Customers(cmd) => customers::run(&cli, cmd).await,
        Command::Sales(cmd) => sales::run(&cli, cmd).await,
        Command::Quotes(cmd) => quotes::run(&cli, cmd).await,
        Command::Report(cmd) => report::run(&cli, cmd).await,
        Command::Backup(args) => backup::backup(&cli, args).await,
        Command::Restore(args) => backup::restore(&cli, args).await,
        Command::Reminders(cmd) => reminders::run(&cli, cmd).await,
        Command::Recurring(cmd) => recurring::run(&cli, cmd).await,
        Command::CheckConfig => check_config::run(&cli),
        Command::Users(cmd) => users::run(&cli, cmd).await,
        Command::Mail(MailCommand::Status { json }) => {
            let settings = load_settings(&cli, false)?;
            init_logging(&cli, Some(&settings));
            mail::status(&settings, *json).await.map_err(Failure::Other)
        }
        Command::Demo(args) => demo::run(&cli, args).await,
        Command::Bench(args) => {
            init_logging(&cli, None);
            let corpus = args.corpus.clone().unwrap_or_else(default_corpus);
            let r = match args.what {
                BenchKind::Accuracy => crate::bench::accuracy::run(&corpus),
                BenchKind::Speed => crate::bench::speed::run(&corpus),
                BenchKind::Ocr => crate::bench::ocr::run(&corpus),
                BenchKind::Stp if args.fit => crate::bench::stp::fit(args.corpus.clone()),
                BenchKind::Stp => crate::bench::stp::run(args.corpus.clone(), &default_corpus()),
                BenchKind::Dedupe => {
                    let pg = std::env::var("FACTEUR_BENCH_PG")
                        .or_else(|_| std::env::var("FACTEUR_TEST_PG"))
                        .ok();
                    crate::bench::dedupe::run(&[1_000, 100_000, 1_000_000], pg.as_deref()).await
                }
                BenchKind::Pipeline => {
                    let pg = std::env::var("FACTEUR_BENCH_PG")
                        .or_else(|_| std::env::var("FACTEUR_TEST_PG"))
                        .ok();
                    let setup = crate::bench::pipeline::Setup {
                        count: args.count.unwrap_or(crate::bench::pipeline::DEFAULT_COUNT),
                        backend: args.backend,
                        workers: args.workers,
                        keep: args.keep,
                    };
                    crate::bench::pipeline::run(&setup, pg.as_deref()).await
                }
            };
            r.map_err(Failure::Other)
        }
        Command::SandboxChild => Ok(()),
    }
}

/// `../shared/corpus` beside the source tree (where CI and developers have it).
fn default_corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}
