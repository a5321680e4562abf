//! OCR speed, throughput, memory and word accuracy, printed, never asserted.
//!
//! Figures are compared with the `tesseract` CLI on the same images in the same run (the peer, as
//! DESIGN.md §7 asks). Inputs are page 1 of two invoice2data PDFs in every degradation of
//! `scans.rs`, written as JPEG files; reference words are the original page's text layer
//! (`pdftotext`). Run it on a release build with `OMP_THREAD_LIMIT=1` in the environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use super::scans::{self, Variant};
use crate::read::ocr::{self, EnginePool, PageImage, Preprocess};
use crate::read::sandbox::{SandboxConfig, SandboxPool};
use crate::read::{MethodChoice, ReadOptions};

/// The sandbox child binary for the memory figure (default: this executable).
pub const ENV_BIN: &str = "FACTEUR_BENCH_BIN";

/// One degraded page image on disk (the CLI peer reads files) with its reference words.
struct Sample {
    path: PathBuf,
    reference: Vec<String>,
}

/// Page 1 of two invoice2data PDFs in every variant of `scans.rs`, written under `dir`.
fn samples(corpus: &Path, dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (name, file) in [
        ("netpresse", "NetpresseInvoice.pdf"),
        ("azure", "AzureInterior.pdf"),
    ] {
        let pdf = corpus.join("invoice2data").join(file);
        let text = Command::new("pdftotext")
            .args(["-f", "1", "-l", "1"])
            .arg(&pdf)
            .arg("-")
            .output()
            .context("Failed to run pdftotext (apt-get install poppler-utils)")?;
        let reference: Vec<String> = String::from_utf8_lossy(&text.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        for v in Variant::ALL {
            let page = scans::render(&pdf, v.dpi(), Some(1))?;
            let page = page.first().context("pdftoppm rendered no page")?;
            let path = dir.join(format!("{name}-{}.jpg", v.name()));
            std::fs::write(&path, v.degrade(page)?)?;
            out.push(Sample {
                path,
                reference: reference.clone(),
            });
        }
    }
    Ok(out)
}

/// Speed, throughput, memory and word accuracy against the `tesseract` CLI.
pub fn run(corpus: &Path) -> anyhow::Result<()> {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        println!("warning: OMP_THREAD_LIMIT is not set: Tesseract figures will be ~4x slower");
    }
    let opts = ReadOptions::default();
    let tmp = tempfile::tempdir()?;
    let variants = samples(corpus, tmp.path())?;

    println!(
        "== peak memory: 50-page scanned PDF in one sandbox child {}",
        load()
    );
    memory(&variants, &opts)?;

    let one = EnginePool::new(1);
    println!(
        "\n== speed, one engine, seconds per page (facteur: decode + preprocessing + OCR) {}",
        load()
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8}",
        "image", "facteur", "no-prep", "tess-cli"
    );
    let mut rows = Vec::new();
    let mut sums = [0.0f64; 3];
    for Sample { path, reference } in &variants {
        let bytes = std::fs::read(path)?;
        let name = file_name(path);
        let (t_f, w_f) = timed(|| facteur_words(&one, &bytes, &opts, &Preprocess::default()))?;
        let bare = Preprocess {
            upscale: false,
            deskew: false,
            orientation: false,
            binarise: false,
        };
        let (t_n, w_n) = timed(|| facteur_words(&one, &bytes, &opts, &bare))?;
        let (t_c, w_c) = timed(|| cli_words(path))?;
        println!("{name:<28} {t_f:>8.2} {t_n:>8.2} {t_c:>8.2}");
        for (sum, t) in sums.iter_mut().zip([t_f, t_n, t_c]) {
            *sum += t;
        }
        rows.push((
            name,
            accuracy(reference, &w_f),
            accuracy(reference, &w_n),
            accuracy(reference, &w_c),
        ));
    }

    let n = variants.len().max(1) as f64;
    println!(
        "{:<28} {:>8.2} {:>8.2} {:>8.2}",
        "mean",
        sums[0] / n,
        sums[1] / n,
        sums[2] / n
    );
    println!(
        "facteur / tesseract CLI: {:.2}x (no-prep / CLI: {:.2}x) {}",
        sums[0] / sums[2].max(1e-9),
        sums[1] / sums[2].max(1e-9),
        load()
    );

    println!("\n== word accuracy vs the page's text layer (share of reference words found)");
    println!(
        "{:<28} {:>8} {:>8} {:>8}",
        "image", "facteur", "no-prep", "tess-cli"
    );
    for (name, f, n, c) in &rows {
        println!(
            "{name:<28} {:>7.1}% {:>7.1}% {:>7.1}%",
            f * 100.0,
            n * 100.0,
            c * 100.0
        );
    }
    let mean = |k: fn(&(String, f64, f64, f64)) -> f64| {
        rows.iter().map(k).sum::<f64>() / rows.len() as f64 * 100.0
    };
    println!(
        "{:<28} {:>7.1}% {:>7.1}% {:>7.1}%",
        "mean",
        mean(|r| r.1),
        mean(|r| r.2),
        mean(|r| r.3)
    );

    println!(
        "\n== throughput: the same {} pages with 1 and 2 engines",
        variants.len()
    );
    let pages: Vec<PageImage> = variants
        .iter()
        .map(|s| -> anyhow::Result<PageImage> {
            let bytes = std::fs::read(&s.path)?;
            let mut v = ocr::image_page_images(&bytes, &opts)?;
            v.pop().context("an image without pages")
        })
        .collect::<Result<_, _>>()?;
    let many = ReadOptions {
        max_pages: 1000,
        ..opts.clone()
    };
    let mut first = None;
    for n in [1, 2] {
        let pool = EnginePool::new(n);
        let start = Instant::now();
        let out = ocr::ocr_pages(&pool, pages.clone(), &many, &Preprocess::default())?;
        let secs = start.elapsed().as_secs_f64();
        let rate = out.len() as f64 / secs;
        let speedup = first.map_or(String::new(), |f: f64| format!(", {:.2}x", rate / f));
        first.get_or_insert(rate);
        println!(
            "{n} engine(s): {rate:.2} pages/s ({} pages in {secs:.1} s{speedup}) {}",
            out.len(),
            load()
        );
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(f64, T)> {
    let start = Instant::now();
    let out = f()?;
    Ok((start.elapsed().as_secs_f64(), out))
}

fn facteur_words(
    pool: &EnginePool,
    bytes: &[u8],
    opts: &ReadOptions,
    how: &Preprocess,
) -> anyhow::Result<Vec<String>> {
    let images = ocr::image_page_images(bytes, opts)?;
    let pages = ocr::ocr_pages(pool, images, opts, how)?;
    Ok(pages
        .iter()
        .flat_map(|p| p.words.iter().map(|w| w.text.clone()))
        .collect())
}

fn cli_words(path: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new("tesseract")
        .arg(path)
        .args(["-", "-l", "fra"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .context("Failed to run the tesseract CLI (apt-get install tesseract-ocr)")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect())
}

fn normalise(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric()).to_string()
}

/// Share of reference words (as a multiset, punctuation at the ends ignored) found in `got`.
fn accuracy(reference: &[String], got: &[String]) -> f64 {
    let mut bag: HashMap<String, usize> = HashMap::new();
    for w in got.iter().map(|w| normalise(w)).filter(|w| !w.is_empty()) {
        *bag.entry(w).or_default() += 1;
    }
    let wanted: Vec<String> = reference
        .iter()
        .map(|w| normalise(w))
        .filter(|w| !w.is_empty())
        .collect();
    let found = wanted
        .iter()
        .filter(|w| match bag.get_mut(*w) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    found as f64 / wanted.len().max(1) as f64
}

/// A 50-page image-only PDF sharing one JPEG page image, read in one sandbox child; its peak RSS
/// is the child's VmHWM from /proc, sampled while it reads.
fn memory(samples: &[Sample], opts: &ReadOptions) -> anyhow::Result<()> {
    let path = samples
        .iter()
        .map(|s| &s.path)
        .find(|p| file_name(p) == "netpresse-200dpi.jpg")
        .context("no 200 dpi sample")?;
    let jpeg = std::fs::read(path)?;
    let pdf = fifty_page_pdf(&jpeg)?;
    let program = match std::env::var_os(ENV_BIN) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?,
    };
    let opts = ReadOptions {
        method: MethodChoice::Ocr,
        ..opts.clone()
    };
    let pool = SandboxPool::new(SandboxConfig {
        workers: 1,
        program: Some(program),
        ..SandboxConfig::default()
    });
    // The CLI already runs inside a runtime: this one gets its own thread.
    let (secs, result, peak_kb) = std::thread::scope(|s| {
        s.spawn(|| -> anyhow::Result<_> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(rt.block_on(async {
                let done = std::sync::atomic::AtomicBool::new(false);
                let start = Instant::now();
                let read = async {
                    let r = pool.read(pdf.clone(), opts).await;
                    done.store(true, std::sync::atomic::Ordering::Relaxed);
                    r
                };
                // The child's own high-water mark (VmHWM), sampled while it reads: getrusage's
                // RUSAGE_CHILDREN would also count pdftoppm and the tesseract CLI.
                let watch = async {
                    let mut peak = 0u64;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        for pid in pool.busy_pids() {
                            peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    peak
                };
                let (result, peak) = tokio::join!(read, watch);
                let secs = start.elapsed().as_secs_f64();
                pool.shutdown().await;
                (secs, result, peak)
            }))
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the memory measurement thread panicked"))?
    })?;
    match result {
        Ok(_) => println!(
            "50 pages ({} KB PDF) in {secs:.1} s ({:.2} s/page), child peak RSS {} MB (VmHWM)",
            pdf.len() / 1024,
            secs / 50.0,
            peak_kb / 1024
        ),
        Err(e) => println!("50-page PDF failed after {secs:.1} s: {e}"),
    }
    Ok(())
}

/// `[load 1.23]`: the 1-minute load average, printed beside every timing (the machine is shared).
pub fn load() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!("[load {}]", avg.split_whitespace().next().unwrap_or("?"))
}

/// Peak resident set of a process, KiB (`VmHWM` in /proc/PID/status).
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fifty_page_pdf(jpeg: &[u8]) -> anyhow::Result<Vec<u8>> {
    let img = image::load_from_memory(jpeg)?;
    let page = (jpeg.to_vec(), img.width(), img.height());
    scans::image_pdf(&vec![page; 50], 200)
}
