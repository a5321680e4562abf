//! `facteur demo`: a temporary workspace on the embedded SQLite store, the demo invoices of
//! fixtures/demo ingested and read, and what facteur found in each.

use std::path::PathBuf;

use super::{init_logging, Cli, CmdResult, Failure};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of invoices to ingest [default: fixtures/demo of the source tree].
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Workspace folder to use [default: a new temporary folder, kept for you to explore].
    #[arg(long)]
    pub workspace: Option<PathBuf>,
}

pub async fn run(cli: &Cli, args: &Args) -> CmdResult {
    init_logging(cli, None);
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"));
    // The folder also holds its NOTICE.md: take the invoices only.
    let files: Vec<PathBuf> = super::ingest::expand(std::slice::from_ref(&fixtures))
        .into_iter()
        .filter(|f| {
            let ext = f
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            ["pdf", "xml", "png", "jpg", "jpeg", "tif", "tiff"].contains(&ext.as_str())
        })
        .collect();
    if files.is_empty() {
        return Err(Failure::Config(format!(
            "no demo invoices in {} (pass --fixtures DIR)",
            fixtures.display()
        )));
    }
    let workspace = match &args.workspace {
        Some(w) => w.clone(),
        None => tempfile::Builder::new()
            .prefix("facteur-demo-")
            .tempdir()
            .map_err(anyhow::Error::from)?
            .keep(),
    };
    super::init::write_workspace(&workspace).map_err(anyhow::Error::from)?;
    add_demo_policy(&workspace).map_err(anyhow::Error::from)?;
    let config = workspace.join("facteur.toml");
    let settings = Settings::load(&config, false)?;
    outln!("facteur demo — workspace {}", workspace.display());
    outln!(
        "store: {}\n",
        crate::secret::redact_url(&settings.database_url())
    );
    let store = crate::store::open(&settings.database_url(), settings.database.max_connections)
        .await
        .map_err(|e| Failure::Other(e.into()))?;
    let report = super::ingest::ingest(&settings, store.clone(), &files, false).await?;
    let (text, _) = super::ingest::summary(store.as_ref(), &report).await?;
    out!("{text}");
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let doc = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "\n── {} (document {}, {})",
            doc.summary.file_name,
            doc.summary.id,
            doc.summary.state
        );
        match &doc.extraction {
            Some(x) => out!("{}", super::extract::describe(x)),
            None => outln!("{}", doc.summary.reason.unwrap_or_default()),
        }
    }
    // The first PDF that went through to approval is the one the supplier sends again.
    let mut original = None;
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let state = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?
            .summary
            .state;
        let pdf = row
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
        if pdf && state == crate::domain::DocumentState::PendingApproval {
            original = Some(row.file.clone());
            break;
        }
    }
    if let Some(original) = original {
        resend(&settings, store.clone(), &original, &workspace).await?;
    }
    approval_mail(&settings, store.as_ref(), &config).await?;
    outln!(
        "\nExplore: facteur --config {} documents list   (or: documents show ID)",
        config.display()
    );
    outln!(
        "Review:  facteur --config {} review list   (then review show|accept|reject|not-duplicate ID --reason …)",
        config.display()
    );
    Ok(())
}

/// The demo's approval rule: every invoice to one manager (the init template has none active).
fn add_demo_policy(workspace: &std::path::Path) -> std::io::Result<()> {
    let pipeline = workspace.join("pipelines/default.toml");
    let text = std::fs::read_to_string(&pipeline)?;
    if text.lines().any(|l| l.trim() == "[[approval.rule]]") {
        return Ok(());
    }
    let rule = "\n[[approval.rule]]\nname = \"demo\"\n\
                steps = [ { approvers = [\"manager@example.test\"] } ]\n";
    std::fs::write(&pipeline, format!("{text}{rule}"))
}

/// The approval requests the demo queued: sent when `[smtp]` is configured, else the first
/// one's links printed (open them with `facteur serve` running).
async fn approval_mail(
    settings: &Settings,
    store: &dyn crate::store::Store,
    config: &std::path::Path,
) -> CmdResult {
    let now = crate::domain::now_micros();
    let due = store
        .outbox_due(now, 100)
        .await
        .map_err(anyhow::Error::from)?;
    let Some(first) = due.first() else {
        return Ok(());
    };
    outln!("\n── approval: {} request(s) queued", due.len());
    if let Some(smtp) = &settings.smtp {
        let sender = crate::notify::SmtpSender::build(smtp, &settings.base_dir)?;
        let sent = crate::notify::send_due(store, &sender, now)
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "sent {sent} approval mail(s) through {}:{}",
            smtp.host,
            smtp.port()
        );
        return Ok(());
    }
    outln!(
        "no [smtp] configured; the first mail, to {}:",
        first.mail.recipient
    );
    outln!("  {}", first.mail.subject);
    for line in first
        .mail
        .body_text
        .lines()
        .filter(|l| l.contains("/approval/"))
    {
        outln!("  {line}");
    }
    outln!(
        "Open a link after starting the pages: facteur --config {} serve",
        config.display()
    );
    Ok(())
}

/// The supplier sends one invoice again, as a mail gateway forwards it: other bytes (a trailer
/// line after %%EOF), the same invoice. Duplicate detection holds it and says why.
async fn resend(
    settings: &Settings,
    store: std::sync::Arc<dyn crate::store::Store>,
    original: &std::path::Path,
    workspace: &std::path::Path,
) -> CmdResult {
    let mut bytes = std::fs::read(original).map_err(anyhow::Error::from)?;
    bytes.extend_from_slice(b"\n% forwarded by the mail gateway\n");
    let dir = workspace.join("resent");
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let name = original
        .file_stem()
        .map(|s| format!("{} (forwarded).pdf", s.to_string_lossy()))
        .unwrap_or_else(|| "forwarded.pdf".into());
    let copy = dir.join(name);
    std::fs::write(&copy, &bytes).map_err(anyhow::Error::from)?;
    outln!(
        "\n── The supplier sends {} again, forwarded by mail:",
        original.display()
    );
    let report = super::ingest::ingest(settings, store.clone(), &[copy], false).await?;
    for row in &report.rows {
        let Ok(outcome) = &row.outcome else { continue };
        let doc = store
            .document(outcome.document())
            .await
            .map_err(anyhow::Error::from)?;
        outln!(
            "document {} is {}: {}",
            doc.summary.id,
            doc.summary.state,
            crate::printable::escape(doc.summary.reason.as_deref().unwrap_or(""))
        );
    }
    Ok(())
}
