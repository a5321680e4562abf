//! The fuzz harness: one function per parser of outside bytes, each calling the entry point the
//! worker uses, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and the stable replay of
//! their corpora (`tests/it/fuzz_corpus.rs`), so both exercise exactly the same code.
//!
//! Each function returns `Ok(n)` (how many things were read: pages, parts, lines) or `Err` with
//! the parser's own message for people. A panic is a bug: where the product catches panics
//! (`catch_unwind` around the PDF interpreter), the harness turns the caught panic back into one,
//! so the fuzzer and the replay both see it. Limits are set low enough that one input cannot
//! spend more than the fuzzer's memory (`-rss_limit_mb=2048`) or time (`-timeout=10`).

use std::path::Path;

use crate::config::{Pipeline, Settings};
use crate::domain::Currency;
use crate::read::pdf::{self, Interpreter, PdfError};
use crate::read::{einvoice, ocr, ReadOptions};
use crate::sources::imap::mime::{self, MimeOptions, Verdict};
use crate::sources::imap::unzip::{self, Budget, ZipLimits};
use crate::stages::intake::{self, IntakeSettings};

/// The targets, by the name used for `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: [&str; 9] = [
    "pdf", "xml", "mime", "zip", "images", "config", "camt", "csv", "token",
];

/// Runs target `name` on `bytes`; None for an unknown target name.
pub fn run(name: &str, bytes: &[u8]) -> Option<Result<usize, String>> {
    Some(match name {
        "pdf" => pdf(bytes),
        "xml" => xml(bytes),
        "mime" => mime(bytes),
        "zip" => zip(bytes),
        "images" => images(bytes),
        "config" => config(bytes),
        "camt" => camt(bytes),
        "csv" => csv(bytes),
        "token" => token(bytes),
        _ => return None,
    })
}

/// Our PDF text interpreter (without the pdf-extract fallback, whose panics are known and
/// caught), then the Factur-X attachment lookup `read_document` does first on every PDF.
pub fn pdf(bytes: &[u8]) -> Result<usize, String> {
    let embedded = einvoice::embedded_xml(bytes).map_err(|e| e.to_string());
    let pages = match pdf::text_pages_with(bytes, Interpreter::OwnOnly) {
        Ok(pages) => pages,
        Err(PdfError::Crashed(why)) => panic!("the PDF interpreter panicked: {why}"),
        Err(e) => return Err(e.to_string()),
    };
    for p in &pages {
        let _ = pdf::has_usable_text(p);
    }
    let _ = embedded?;
    Ok(pages.len())
}

/// A standalone CII, ZUGFeRD 1.0 or UBL document (`read_document` on XML).
pub fn xml(bytes: &[u8]) -> Result<usize, String> {
    einvoice::read_xml(bytes)
        .map(|inv| inv.lines.len())
        .map_err(|e| e.to_string())
}

fn intake_settings() -> IntakeSettings {
    IntakeSettings { max_document_mb: 4 }
}

/// Small zip limits: the real defaults allow 100 MiB per message, over the fuzzer's memory.
fn zip_limits() -> ZipLimits {
    ZipLimits {
        max_entries: 50,
        max_total_bytes: 8 * 1024 * 1024,
        max_depth: 2,
    }
}

fn taken(pieces: &[mime::Piece]) -> usize {
    pieces
        .iter()
        .filter(|p| matches!(p.verdict, Verdict::Take(_)))
        .count()
}

/// A mail message as the IMAP fetcher reads it: headers alone, then every part (inline parts,
/// XML bodies, zips and forwarded messages included).
pub fn mime(bytes: &[u8]) -> Result<usize, String> {
    let _ = mime::meta(bytes);
    let intake = intake_settings();
    let opts = MimeOptions {
        inline: true,
        xml_body: true,
        filename: None,
        intake: &intake,
        zip: zip_limits(),
    };
    let extracted = mime::extract(bytes, &opts).map_err(|e| e.to_string())?;
    Ok(taken(&extracted.pieces))
}

/// A zip attachment, unpacked as the fetcher does (nested archives within the same budget).
pub fn zip(bytes: &[u8]) -> Result<usize, String> {
    let intake = intake_settings();
    let opts = MimeOptions {
        inline: false,
        xml_body: false,
        filename: None,
        intake: &intake,
        zip: zip_limits(),
    };
    let mut budget = Budget::new(opts.zip);
    let mut out = Vec::new();
    unzip::unpack(bytes, "1", "fuzz.zip", &opts, &mut budget, 0, &mut out);
    match out.iter().find_map(|p| match &p.verdict {
        Verdict::Refused(why) if p.path == "1" => Some(why.clone()),
        _ => None,
    }) {
        Some(why) => Err(why),
        None => Ok(taken(&out)),
    }
}

/// An image document: intake's type check, then the header checks and decoding OCR starts with
/// (every page of a TIFF), without Tesseract.
pub fn images(bytes: &[u8]) -> Result<usize, String> {
    intake::check_type(bytes)?;
    let opts = ReadOptions {
        // A smaller page than the product's 40 MP keeps one decode within the fuzzer's budget;
        // the checks are the same code whatever the number.
        max_pixels: 4_000_000,
        max_pages: 20,
        ..ReadOptions::default()
    };
    let mut pages = 0;
    for page in ocr::image_page_stream(bytes, &opts).map_err(|e| e.to_string())? {
        page.map_err(|e| e.to_string())?;
        pages += 1;
    }
    Ok(pages)
}

/// `facteur.toml` text as `Settings::load` reads it (parse, then the checks with line and
/// column), and the same text as a pipeline file. No environment overrides, no disk.
pub fn config(bytes: &[u8]) -> Result<usize, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let path = Path::new("facteur.toml");
    let settings = Settings::parse(path, text, std::iter::empty());
    let pipeline = Pipeline::parse(Path::new("pipelines/fuzz.toml"), text);
    let settings = settings.map_err(|e| e.to_string())?;
    settings.check(path, text).map_err(|e| e.to_string())?;
    Ok(pipeline.map(|p| p.sources.len()).unwrap_or(0))
}

/// A CAMT.053 bank statement.
pub fn camt(bytes: &[u8]) -> Result<usize, String> {
    crate::ledger::bank::camt::parse(bytes)
        .map(|s| s.lines.len())
        .map_err(|e| e.to_string())
}

/// The simple statement CSV.
pub fn csv(bytes: &[u8]) -> Result<usize, String> {
    crate::ledger::bank::simple_csv::parse(bytes, Currency::EUR)
        .map(|s| s.lines.len())
        .map_err(|e| e.to_string())
}

/// An approval link's path `/approval/{token}/{action}`: `token/action`, split at the first
/// `/`, read as the link handler does (token hash, decision).
pub fn token(bytes: &[u8]) -> Result<usize, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let (token, action) = text.split_once('/').unwrap_or((text, ""));
    let hash = crate::approval::token::parse_and_hash(token)
        .ok_or_else(|| "not an approval token (64 hex digits)".to_string())?;
    crate::store::approvals::Decision::parse(action)
        .ok_or_else(|| format!("unknown approval action '{action}'"))?;
    Ok(hash.len())
}
