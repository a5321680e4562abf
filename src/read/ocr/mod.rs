//! OCR of page images into `Page`s of positioned words: scanned and mixed PDFs, photos, faxes.
//!
//! Shaped by what was measured (DESIGN.md §3): Tesseract through `tesseract-rs` on Debian's
//! library (`tesseract.rs`), one engine per thread in a pool (`engine.rs`), `OMP_THREAD_LIMIT=1` in
//! the environment before libtesseract loads (`ensure_omp_thread_limit`). Only the `facteur-ocr`
//! binary installs Tesseract (`install_tesseract`): in `facteur`, OCR answers
//! `ReadError::NeedsOcr` before decoding anything, and the sandbox hands the document to a
//! `facteur-ocr` child. Limits are checked before decoding: page
//! count, pixels from the image header, seconds per page. Word boxes are converted from pixels of
//! the corrected image to points from the top-left corner using the image's resolution.

mod decode;
pub mod engine;
mod pdf_pages;
pub mod preprocess;
mod tesseract;
mod tiff;

use std::sync::Arc;
use std::time::Duration;

use image::GrayImage;

use super::layout::{BBox, Page, Word};
use super::{ReadError, ReadOptions};
pub use engine::EnginePool;
pub use preprocess::Preprocess;

/// Below this mean word confidence (0–100) a page is checked for a 90/180/270° rotation.
const POOR_READING: f32 = 60.0;
/// OSD must be at least this sure before a page is turned.
const OSD_MIN_CONFIDENCE: f32 = 1.5;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum OcrError {
    #[error("{pages} pages to OCR, more than the limit of {max}")]
    TooManyPages { pages: String, max: u32 },
    #[error("page image of {width}×{height} pixels is larger than the limit of {max} pixels")]
    TooManyPixels { width: u64, height: u64, max: u64 },
    #[error("OCR of one page took longer than the limit of {secs} s")]
    Timeout { secs: u64 },
    #[error("cannot decode the image: {0}")]
    Decode(String),
    #[error("cannot render the PDF page: {0}")]
    Render(String),
    #[error("{0}")]
    Engine(String),
}

impl From<OcrError> for ReadError {
    fn from(e: OcrError) -> Self {
        match e {
            OcrError::TooManyPages { .. }
            | OcrError::TooManyPixels { .. }
            | OcrError::Timeout { .. } => ReadError::Limit(e.to_string()),
            other => ReadError::Ocr(other.to_string()),
        }
    }
}

/// A decoded page before OCR.
#[derive(Debug, Clone)]
pub struct PageImage {
    /// 1-based page number in the document.
    pub number: u32,
    pub image: GrayImage,
    /// Resolution of `image`, pixels per inch.
    pub dpi: f32,
}

/// Makes this process read scans with Tesseract. Called by `facteur-ocr`'s `main` and by tests;
/// never by `facteur`, which must not link libtesseract (see `engine.rs`).
pub fn install_tesseract() {
    engine::install(tesseract::serve);
}

/// True when this process has an OCR engine.
pub fn available() -> bool {
    engine::installed().is_some()
}

/// `NeedsOcr` when this process has no engine: checked before any decoding.
fn engine_here() -> Result<(), ReadError> {
    if available() {
        Ok(())
    } else {
        Err(ReadError::NeedsOcr)
    }
}

/// OCR of a PNG, JPEG or TIFF (every page of a multi-page TIFF, decoded as OCR gets to it).
pub fn ocr_image(bytes: &[u8], opts: &ReadOptions) -> Result<Vec<Page>, ReadError> {
    engine_here()?;
    let pages = decode::image_pages(bytes, opts)?;
    Ok(ocr_stream(
        EnginePool::global(),
        pages,
        opts,
        &Preprocess::default(),
    )?)
}

/// OCR of the given 1-based pages of a PDF (all pages when `pages` is empty).
pub fn ocr_pdf(bytes: &[u8], pages: &[u32], opts: &ReadOptions) -> Result<Vec<Page>, ReadError> {
    engine_here()?;
    let images = pdf_pages::PdfPages::new(bytes, pages, opts)?;
    Ok(ocr_stream(
        EnginePool::global(),
        images,
        opts,
        &Preprocess::default(),
    )?)
}

/// Decodes an image file's pages without OCR (for benchmarks and tests).
pub fn image_page_images(bytes: &[u8], opts: &ReadOptions) -> Result<Vec<PageImage>, ReadError> {
    Ok(decode::image_pages(bytes, opts)?.collect::<Result<_, _>>()?)
}

/// An image file's pages, each decoded when the iterator reaches it (for tests: a TIFF page is
/// not decoded before it is asked for).
pub fn image_page_stream<'a>(
    bytes: &'a [u8],
    opts: &ReadOptions,
) -> Result<impl Iterator<Item = Result<PageImage, ReadError>> + 'a, ReadError> {
    Ok(decode::image_pages(bytes, opts)?.map(|p| p.map_err(ReadError::from)))
}

/// A PDF's page images without OCR (for benchmarks and tests).
pub fn pdf_page_images(
    bytes: &[u8],
    pages: &[u32],
    opts: &ReadOptions,
) -> Result<Vec<PageImage>, ReadError> {
    Ok(pdf_pages::PdfPages::new(bytes, pages, opts)?.collect::<Result<_, _>>()?)
}

/// OCR of decoded pages on `pool`.
pub fn ocr_pages(
    pool: &EnginePool,
    pages: Vec<PageImage>,
    opts: &ReadOptions,
    how: &Preprocess,
) -> Result<Vec<Page>, OcrError> {
    if pages.len() > opts.max_pages as usize {
        return Err(OcrError::TooManyPages {
            pages: pages.len().to_string(),
            max: opts.max_pages,
        });
    }
    ocr_stream(pool, pages.into_iter().map(Ok), opts, how)
}

/// OCR of pages decoded as they are needed: at most two pages per engine are in memory or in the
/// queue at once, so a 50-page scan costs the memory of a few pages, and the engines stay busy.
pub fn ocr_stream(
    pool: &EnginePool,
    pages: impl Iterator<Item = Result<PageImage, OcrError>>,
    opts: &ReadOptions,
    how: &Preprocess,
) -> Result<Vec<Page>, OcrError> {
    let timeout = Duration::from_secs(opts.page_timeout_secs.max(1));
    let window = pool.size() * 2;
    let mut queued = std::collections::VecDeque::new();
    let mut out = Vec::new();
    for page in pages {
        let page = page?;
        let (image, dpi) = preprocess::prepare(page.image, page.dpi, how, opts.max_pixels);
        let image = Arc::new(image);
        let pending = pool.recognize(
            Arc::clone(&image),
            dpi.round() as u32,
            &opts.ocr_language,
            timeout,
        );
        queued.push_back((page.number, image, dpi, pending));
        if queued.len() >= window {
            if let Some(q) = queued.pop_front() {
                out.push(finish(pool, q, opts, how, timeout)?);
            }
        }
    }
    while let Some(q) = queued.pop_front() {
        out.push(finish(pool, q, opts, how, timeout)?);
    }
    Ok(out)
}

type Queued = (u32, Arc<GrayImage>, f32, engine::Pending);

/// Waits for a page's words and, when the reading looks turned, tries the page upright.
fn finish(
    pool: &EnginePool,
    (number, image, dpi, pending): Queued,
    opts: &ReadOptions,
    how: &Preprocess,
    timeout: Duration,
) -> Result<Page, OcrError> {
    let mut words = pending.words()?;
    let mut image = image;
    if how.orientation && poor(&words) {
        if let Some(o) = pool.orientation(Arc::clone(&image))? {
            if o.rotate_cw != 0 && o.confidence >= OSD_MIN_CONFIDENCE {
                let turned = Arc::new(rotate_cw(&image, o.rotate_cw));
                let again = pool
                    .recognize(
                        Arc::clone(&turned),
                        dpi.round() as u32,
                        &opts.ocr_language,
                        timeout,
                    )
                    .words()?;
                if weight(&again) > weight(&words) {
                    words = again;
                    image = turned;
                }
            }
        }
    }
    Ok(to_page(number, &image, dpi, words))
}

/// A reading worth checking for rotation: few words, low confidence, or mostly vertical words
/// (Tesseract reads a page turned by 90° as vertical text lines, confidently).
fn poor(words: &[engine::PixelWord]) -> bool {
    if words.len() < 5 {
        return true;
    }
    let long: Vec<_> = words
        .iter()
        .filter(|w| w.text.chars().count() >= 3)
        .collect();
    let vertical = long
        .iter()
        .filter(|w| (w.bottom - w.top) > (w.right - w.left))
        .count();
    if vertical * 2 > long.len() {
        return true;
    }
    let mean = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
    mean < POOR_READING
}

/// Confidence mass of a reading: confident words count, noise does not.
fn weight(words: &[engine::PixelWord]) -> f32 {
    words
        .iter()
        .filter(|w| w.confidence >= 50.0)
        .map(|w| w.confidence * w.text.chars().count() as f32)
        .sum()
}

fn rotate_cw(image: &GrayImage, degrees: u32) -> GrayImage {
    match degrees {
        90 => image::imageops::rotate90(image),
        180 => image::imageops::rotate180(image),
        270 => image::imageops::rotate270(image),
        _ => image.clone(),
    }
}

fn to_page(number: u32, image: &GrayImage, dpi: f32, words: Vec<engine::PixelWord>) -> Page {
    let k = 72.0 / dpi.max(1.0);
    Page {
        number,
        width: image.width() as f32 * k,
        height: image.height() as f32 * k,
        words: words
            .into_iter()
            .map(|w| Word {
                text: w.text,
                bbox: BBox {
                    x0: w.left as f32 * k,
                    y0: w.top as f32 * k,
                    x1: w.right as f32 * k,
                    y1: w.bottom as f32 * k,
                },
                confidence: (w.confidence / 100.0).clamp(0.0, 1.0),
            })
            .collect(),
    }
}

/// Makes sure `OMP_THREAD_LIMIT=1` was in the environment when this process started, re-executing
/// it with the variable set when it was not (libgomp reads it once, when libtesseract is loaded at
/// start-up: setting it later has no effect, and OCR is ~4× slower on 2 cores without it).
/// Call it first thing in `main`. Returns only when the variable was already set, this process
/// has no OCR engine (nothing loads libgomp), or exec failed.
pub fn ensure_omp_thread_limit() {
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() || !available() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!(
                "warning: cannot re-execute with OMP_THREAD_LIMIT=1 ({e}); OCR will be slower"
            );
            return;
        }
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    eprintln!("warning: cannot re-execute with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower");
}
