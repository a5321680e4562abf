//! `facteur bench ocr`: OCR speed, throughput, memory and word accuracy, printed, never asserted.
//!
//! Figures are compared with the `tesseract` CLI on the same images in the same run (the peer, as
//! DESIGN.md §7 asks). Inputs are the degraded scans of scripts/make-scans (fixtures/scans/degraded:
//! 150/200/300 dpi, skew ±2°, blur, noise, JPEG q=20), whose reference words are the original
//! page's text layer. Run it on a release build with `OMP_THREAD_LIMIT=1` in the environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::read::ocr::{self, EnginePool, PageImage, Preprocess};
use crate::read::sandbox::{SandboxConfig, SandboxPool};
use crate::read::{MethodChoice, ReadOptions};

/// The sandbox child binary for the memory figure (default: this executable).
pub const ENV_BIN: &str = "FACTEUR_BENCH_BIN";

pub fn run(corpus: &Path) -> anyhow::Result<()> {
    let dir = scans_dir(corpus)?;
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        println!("warning: OMP_THREAD_LIMIT is not set: Tesseract figures will be ~4x slower");
    }
    let opts = ReadOptions::default();
    let mut variants: Vec<PathBuf> = std::fs::read_dir(dir.join("degraded"))
        .with_context(|| format!("Failed to list {}", dir.join("degraded").display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x != "txt"))
        .collect();
    variants.sort();
    if variants.is_empty() {
        bail!("no scans in {}: run scripts/make-scans", dir.display());
    }

    println!("== peak memory: 50-page scanned PDF in one sandbox child");
    memory(&dir, &opts)?;

    let one = EnginePool::new(1);
    println!("\n== speed, one engine, seconds per page (facteur: decode + preprocessing + OCR)");
    println!(
        "{:<28} {:>8} {:>8} {:>8}",
        "image", "facteur", "no-prep", "tess-cli"
    );
    let mut rows = Vec::new();
    for path in &variants {
        let bytes = std::fs::read(path)?;
        let name = file_name(path);
        let reference = reference_words(path)?;
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
        rows.push((
            name,
            accuracy(&reference, &w_f),
            accuracy(&reference, &w_n),
            accuracy(&reference, &w_c),
        ));
    }

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
        .map(|p| -> anyhow::Result<PageImage> {
            let bytes = std::fs::read(p)?;
            let mut v = ocr::image_page_images(&bytes, &opts)?;
            v.pop().context("an image without pages")
        })
        .collect::<Result<_, _>>()?;
    let many = ReadOptions {
        max_pages: 1000,
        ..opts.clone()
    };
    for n in [1, 2] {
        let pool = EnginePool::new(n);
        let start = Instant::now();
        let out = ocr::ocr_pages(&pool, pages.clone(), &many, &Preprocess::default())?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{n} engine(s): {:.2} pages/s ({} pages in {secs:.1} s)",
            out.len() as f64 / secs,
            out.len()
        );
    }
    Ok(())
}

fn scans_dir(corpus: &Path) -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("fixtures/scans"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/scans"),
        corpus.join("../../fixtures/scans"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("degraded").is_dir())
        .context("fixtures/scans/degraded not found: run scripts/make-scans from the checkout")
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

/// `degraded/azure-blur.jpg` → the words of `degraded/azure.txt`.
fn reference_words(path: &Path) -> anyhow::Result<Vec<String>> {
    let name = file_name(path);
    let doc = name.split('-').next().unwrap_or_default();
    let txt = path.with_file_name(format!("{doc}.txt"));
    let text = std::fs::read_to_string(&txt)
        .with_context(|| format!("Failed to read the reference text {}", txt.display()))?;
    Ok(text.split_whitespace().map(String::from).collect())
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

/// A 50-page image-only PDF sharing one JPEG page image, read in one sandbox child; the peak RSS
/// of the reaped child comes from `getrusage(RUSAGE_CHILDREN)`.
fn memory(dir: &Path, opts: &ReadOptions) -> anyhow::Result<()> {
    let jpeg = std::fs::read(dir.join("degraded/netpresse-200dpi.jpg"))?;
    let pdf = fifty_page_pdf(&jpeg)?;
    let program = match std::env::var_os(ENV_BIN) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = ReadOptions {
        method: MethodChoice::Ocr,
        ..opts.clone()
    };
    let (secs, result) = rt.block_on(async {
        let pool = SandboxPool::new(SandboxConfig {
            workers: 1,
            program: Some(program),
            ..SandboxConfig::default()
        });
        let start = Instant::now();
        let result = pool.read(pdf.clone(), opts).await;
        let secs = start.elapsed().as_secs_f64();
        pool.shutdown().await;
        (secs, result)
    });
    // SAFETY: getrusage only writes the struct we pass.
    let peak_kb = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    match result {
        Ok(_) => println!(
            "50 pages ({} KB PDF) in {secs:.1} s ({:.2} s/page), child peak RSS {} MB",
            pdf.len() / 1024,
            secs / 50.0,
            peak_kb / 1024
        ),
        Err(e) => println!("50-page PDF failed after {secs:.1} s: {e}"),
    }
    Ok(())
}

fn fifty_page_pdf(jpeg: &[u8]) -> anyhow::Result<Vec<u8>> {
    use lopdf::{dictionary, Document, Object, Stream};
    let img = image::load_from_memory(jpeg)?;
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let image_id = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        jpeg.to_vec(),
    ));
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec(),
    ));
    let kids: Vec<Object> = (0..50)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            })
            .into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 50 }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}
