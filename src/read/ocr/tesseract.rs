//! Tesseract behind the engine pool: one `TesseractAPI` per engine thread and language,
//! initialised once and reused.
//!
//! Only `facteur-ocr` (src/bin) and tests install it (`install_tesseract`), so only they link
//! libtesseract. `OMP_THREAD_LIMIT=1` must already be in the environment (see
//! `ensure_omp_thread_limit`). The page deadline uses Tesseract's own monitor (`ETEXT_DESC`),
//! which the crate does not expose, hence the four FFI declarations below (the symbols come from
//! the libtesseract it links).

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::os::raw::{c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use image::GrayImage;
use tesseract_rs::{TessPageIteratorLevel, TessPageSegMode, TesseractAPI};

use super::engine::{Answer, Job, Orientation, PixelWord, Task};
use super::OcrError;

/// Debian's tessdata; `TESSDATA_PREFIX` overrides it.
pub const TESSDATA: &str = "/usr/share/tesseract-ocr/5/tessdata";

extern "C" {
    fn TessMonitorCreate() -> *mut c_void;
    fn TessMonitorDelete(monitor: *mut c_void);
    fn TessMonitorSetDeadlineMSecs(monitor: *mut c_void, deadline: c_int);
    fn TessBaseAPIRecognize(handle: *mut c_void, monitor: *mut c_void) -> c_int;
}

/// Serves jobs until the pool is dropped.
///
/// The engines are `ManuallyDrop`: a C++ exception (std::bad_alloc under the sandbox's RLIMIT_AS)
/// thrown through the C API skips the crate's mutex guards, so dropping an engine while that
/// exception unwinds would wait forever on its handle. Skipping the drop lets the exception reach
/// the thread boundary, where Rust aborts the process, and the sandbox reports the memory limit.
pub fn serve(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut engines: ManuallyDrop<HashMap<String, TesseractAPI>> =
        ManuallyDrop::new(HashMap::new());
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Err(_) => break,
        };
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| {
            engine_for(&mut engines, &job.language).and_then(|api| match &job.task {
                Task::Recognize {
                    image,
                    dpi,
                    timeout,
                } => recognize(api, image, *dpi, *timeout).map(Answer::Words),
                Task::Orientation { image } => Ok(Answer::Orientation(orientation(api, image))),
            })
        }));
        let answer = work.unwrap_or_else(|payload| {
            // The engine may be half-updated or its lock poisoned: never reuse it.
            if let Some(api) = engines.remove(&job.language) {
                std::mem::forget(api);
            }
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(OcrError::Engine(format!("the OCR engine panicked: {why}")))
        });
        let _ = job.reply.send(answer);
    }
    drop(ManuallyDrop::into_inner(engines));
}

fn engine_for<'a>(
    engines: &'a mut HashMap<String, TesseractAPI>,
    language: &str,
) -> Result<&'a TesseractAPI, OcrError> {
    if !engines.contains_key(language) {
        if language.is_empty()
            || !language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+')
        {
            return Err(OcrError::Engine(format!(
                "OCR language '{language}' is not a Tesseract language code like 'fra' or 'fra+eng'"
            )));
        }
        let datapath = std::env::var("TESSDATA_PREFIX").unwrap_or_else(|_| TESSDATA.to_string());
        // ManuallyDrop for the reason given on `engine_thread`.
        let api = ManuallyDrop::new(TesseractAPI::new());
        if let Err(e) = api.init(&datapath, language) {
            drop(ManuallyDrop::into_inner(api));
            return Err(OcrError::Engine(format!(
                "cannot load Tesseract language '{language}' from {datapath}: {e} \
                 (is tesseract-ocr-{language} installed?)"
            )));
        }
        engines.insert(language.to_string(), ManuallyDrop::into_inner(api));
    }
    engines
        .get(language)
        .ok_or_else(|| OcrError::Engine("engine vanished".into()))
}

fn recognize(
    api: &TesseractAPI,
    image: &GrayImage,
    dpi: u32,
    timeout: Duration,
) -> Result<Vec<PixelWord>, OcrError> {
    let (w, h) = (image.width() as i32, image.height() as i32);
    let engine = |e: tesseract_rs::TesseractError| OcrError::Engine(e.to_string());
    api.set_page_seg_mode(TessPageSegMode::PSM_AUTO)
        .map_err(engine)?;
    api.set_image(image.as_raw(), w, h, 1, w).map_err(engine)?;
    api.set_source_resolution(dpi as i32).map_err(engine)?;
    let started = std::time::Instant::now();
    let status = {
        let handle = api
            .handle
            .lock()
            .map_err(|_| OcrError::Engine("engine handle poisoned".into()))?;
        let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: the handle is a live TessBaseAPI owned by this thread with an image set; the
        // monitor is created, used for this one call and deleted here.
        unsafe {
            let monitor = TessMonitorCreate();
            TessMonitorSetDeadlineMSecs(monitor, ms);
            let status = TessBaseAPIRecognize(*handle, monitor);
            TessMonitorDelete(monitor);
            status
        }
    };
    if status != 0 {
        let _ = api.clear();
        // The monitor's deadline makes Recognize fail; anything else is the engine's own failure.
        return Err(if started.elapsed() >= timeout {
            OcrError::Timeout {
                secs: timeout.as_secs(),
            }
        } else {
            OcrError::Engine("Tesseract could not recognise the page".into())
        });
    }
    let mut words = Vec::new();
    let iter = match api.get_iterator() {
        Ok(it) => it,
        // A blank page has no iterator.
        Err(_) => return Ok(words),
    };
    loop {
        if let Ok((text, left, top, right, bottom, confidence)) = iter.get_word_with_bounds() {
            let text = text.trim();
            if !text.is_empty() {
                words.push(PixelWord {
                    text: text.to_string(),
                    left,
                    top,
                    right,
                    bottom,
                    confidence,
                });
            }
        }
        if !iter.next(TessPageIteratorLevel::RIL_WORD).unwrap_or(false) {
            break;
        }
    }
    drop(iter);
    let _ = api.clear();
    Ok(words)
}

fn orientation(api: &TesseractAPI, image: &GrayImage) -> Option<Orientation> {
    let (w, h) = (image.width() as i32, image.height() as i32);
    api.set_page_seg_mode(TessPageSegMode::PSM_OSD_ONLY).ok()?;
    api.set_image(image.as_raw(), w, h, 1, w).ok()?;
    api.set_source_resolution(300).ok()?;
    let found = api.detect_os().ok();
    let _ = api.clear();
    let (deg, conf, _, _) = found?;
    Some(Orientation {
        rotate_cw: (360 - (deg.rem_euclid(360) as u32)) % 360,
        confidence: conf,
    })
}
