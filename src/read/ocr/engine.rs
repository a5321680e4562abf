//! Tesseract engines: one per thread, initialised once and reused, fed through a channel.
//!
//! Measured (DESIGN.md §3): one engine shared across threads returned another thread's page, so
//! each engine lives and dies on its own thread and only images and words cross the channel.
//! Tesseract is called through its C API, loaded on the first job (`capi.rs`): a process that
//! never OCRs never loads it. The page deadline uses Tesseract's own monitor (`ETEXT_DESC`).

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use image::GrayImage;

use super::capi::{self, Tess, PSM_AUTO, PSM_OSD_ONLY, RIL_WORD};
use super::OcrError;

/// Debian's tessdata; `TESSDATA_PREFIX` overrides it.
pub const TESSDATA: &str = "/usr/share/tesseract-ocr/5/tessdata";
/// Number of engines of the process-wide pool (default: one per core).
pub const ENV_ENGINES: &str = "FACTEUR_OCR_ENGINES";

/// One TessBaseAPI, initialised for one language, owned by one engine thread.
struct Engine {
    tess: &'static Tess,
    handle: *mut c_void,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is dropped once, on its thread.
        unsafe {
            (self.tess.end)(self.handle);
            (self.tess.delete)(self.handle);
        }
    }
}

/// A recognised word in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelWord {
    pub text: String,
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
    /// 0–100 as Tesseract reports it.
    pub confidence: f32,
}

/// Script orientation: how many degrees clockwise the page must turn to be upright.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    pub rotate_cw: u32,
    pub confidence: f32,
}

enum Task {
    Recognize {
        image: Arc<GrayImage>,
        dpi: u32,
        timeout: Duration,
    },
    Orientation {
        image: Arc<GrayImage>,
    },
}

enum Answer {
    Words(Vec<PixelWord>),
    Orientation(Option<Orientation>),
}

struct Job {
    language: String,
    task: Task,
    reply: mpsc::Sender<Result<Answer, OcrError>>,
}

/// N engine threads behind one queue. Dropping the pool lets the threads finish and exit.
pub struct EnginePool {
    queue: Mutex<mpsc::Sender<Job>>,
    size: usize,
    /// Why threads failed to start (e.g. no address space left under the sandbox's RLIMIT_AS).
    start_error: Option<String>,
}

/// Prefix of the error when no engine thread could start; the sandbox child reads it as
/// "out of memory" when a memory limit is in force.
pub const START_FAILURE: &str = "cannot start an OCR engine thread";

impl EnginePool {
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut start_error = None;
        for i in 0..size {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("ocr-engine-{i}"))
                .spawn(move || engine_thread(&rx));
            if let Err(e) = spawned {
                tracing::error!("cannot start OCR engine thread {i}: {e}");
                start_error = Some(e.to_string());
            }
        }
        EnginePool {
            queue: Mutex::new(tx),
            size,
            start_error,
        }
    }

    /// The process-wide pool: `FACTEUR_OCR_ENGINES` engines, else one per core.
    pub fn global() -> &'static EnginePool {
        static POOL: OnceLock<EnginePool> = OnceLock::new();
        POOL.get_or_init(|| {
            let n = std::env::var(ENV_ENGINES)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            EnginePool::new(n)
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Queues a page; the returned handle waits for its words.
    pub fn recognize(
        &self,
        image: Arc<GrayImage>,
        dpi: u32,
        language: &str,
        timeout: Duration,
    ) -> Pending {
        self.submit(
            language,
            Task::Recognize {
                image,
                dpi,
                timeout,
            },
        )
    }

    /// Tesseract OSD on the page (needs osd.traineddata); `None` when it cannot tell.
    pub fn orientation(&self, image: Arc<GrayImage>) -> Result<Option<Orientation>, OcrError> {
        match self.submit("osd", Task::Orientation { image }).wait()? {
            Answer::Orientation(o) => Ok(o),
            Answer::Words(_) => Err(OcrError::Engine("OSD answered with words".into())),
        }
    }

    fn submit(&self, language: &str, task: Task) -> Pending {
        let (reply, rx) = mpsc::channel();
        let job = Job {
            language: language.to_string(),
            task,
            reply,
        };
        let sent = self
            .queue
            .lock()
            .map_err(|_| OcrError::Engine("the OCR queue is poisoned".into()))
            .and_then(|q| {
                q.send(job).map_err(|_| {
                    OcrError::Engine(match &self.start_error {
                        Some(e) => format!("{START_FAILURE}: {e}"),
                        None => "no OCR engine thread is running".into(),
                    })
                })
            });
        Pending { rx, sent }
    }
}

/// A queued page.
pub struct Pending {
    rx: mpsc::Receiver<Result<Answer, OcrError>>,
    sent: Result<(), OcrError>,
}

impl Pending {
    fn wait(self) -> Result<Answer, OcrError> {
        self.sent?;
        self.rx
            .recv()
            .map_err(|_| OcrError::Engine("an OCR engine thread died on this page".into()))?
    }

    pub fn words(self) -> Result<Vec<PixelWord>, OcrError> {
        match self.wait()? {
            Answer::Words(w) => Ok(w),
            Answer::Orientation(_) => Err(OcrError::Engine("OCR answered with OSD".into())),
        }
    }
}

/// Serves jobs until the pool is dropped.
///
/// A C++ exception (std::bad_alloc under the sandbox's RLIMIT_AS) cannot unwind through the
/// `extern "C"` calls: Rust aborts the process there, and the sandbox reports the memory limit.
/// An engine whose Rust side panicked mid-job may be half-updated: it is leaked, never reused.
fn engine_thread(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut engines: HashMap<String, Engine> = HashMap::new();
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Err(_) => break,
        };
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| {
            engine_for(&mut engines, &job.language).and_then(|engine| match &job.task {
                Task::Recognize {
                    image,
                    dpi,
                    timeout,
                } => recognize(engine, image, *dpi, *timeout).map(Answer::Words),
                Task::Orientation { image } => Ok(Answer::Orientation(orientation(engine, image))),
            })
        }));
        let answer = work.unwrap_or_else(|payload| {
            if let Some(engine) = engines.remove(&job.language) {
                std::mem::forget(engine);
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
}

fn engine_for<'a>(
    engines: &'a mut HashMap<String, Engine>,
    language: &str,
) -> Result<&'a Engine, OcrError> {
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
        // Under RLIMIT_AS a library that cannot be mapped is the memory limit: START_FAILURE
        // lets the sandbox child say so.
        let tess = capi::tess().map_err(|e| OcrError::Engine(format!("{START_FAILURE}: {e}")))?;
        let datapath = std::env::var("TESSDATA_PREFIX").unwrap_or_else(|_| TESSDATA.to_string());
        let (Ok(c_path), Ok(c_lang)) = (CString::new(datapath.clone()), CString::new(language))
        else {
            return Err(OcrError::Engine(format!(
                "TESSDATA_PREFIX '{datapath}' holds a NUL byte"
            )));
        };
        // SAFETY: TessBaseAPICreate has no preconditions; the engine owns the handle from here.
        let engine = Engine {
            tess,
            handle: unsafe { (tess.create)() },
        };
        if engine.handle.is_null() {
            std::mem::forget(engine);
            return Err(OcrError::Engine(format!(
                "{START_FAILURE}: no Tesseract engine"
            )));
        }
        // SAFETY: a live handle and two NUL-terminated strings that outlive the call.
        if unsafe { (tess.init3)(engine.handle, c_path.as_ptr(), c_lang.as_ptr()) } != 0 {
            return Err(OcrError::Engine(format!(
                "cannot load Tesseract language '{language}' from {datapath} \
                 (is tesseract-ocr-{language} installed?)"
            )));
        }
        engines.insert(language.to_string(), engine);
    }
    engines
        .get(language)
        .ok_or_else(|| OcrError::Engine("engine vanished".into()))
}

/// Sets the page image on the engine. The image must outlive every call until `clear`.
fn set_image(engine: &Engine, image: &GrayImage, psm: c_int, dpi: u32) {
    let (w, h) = (image.width() as c_int, image.height() as c_int);
    let t = engine.tess;
    // SAFETY: a live handle; the buffer holds w×h bytes (8-bit gray, one byte per pixel, rows of
    // w bytes) and stays borrowed until the caller clears the engine.
    unsafe {
        (t.set_page_seg_mode)(engine.handle, psm);
        (t.set_image)(engine.handle, image.as_raw().as_ptr(), w, h, 1, w);
        (t.set_source_resolution)(engine.handle, c_int::try_from(dpi).unwrap_or(300));
    }
}

fn recognize(
    engine: &Engine,
    image: &GrayImage,
    dpi: u32,
    timeout: Duration,
) -> Result<Vec<PixelWord>, OcrError> {
    let t = engine.tess;
    set_image(engine, image, PSM_AUTO, dpi);
    let started = std::time::Instant::now();
    let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
    // SAFETY: a live handle with an image set; the monitor is created, used for this one call
    // and deleted here.
    let status = unsafe {
        let monitor = (t.monitor_create)();
        (t.monitor_set_deadline)(monitor, ms);
        let status = (t.recognize)(engine.handle, monitor);
        (t.monitor_delete)(monitor);
        status
    };
    if status != 0 {
        // SAFETY: a live handle.
        unsafe { (t.clear)(engine.handle) };
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
    // SAFETY: a recognised page; the iterator (NULL on a blank page) is deleted below, before
    // the engine is cleared; each text Tesseract returns is freed with TessDeleteText.
    unsafe {
        let iter = (t.get_iterator)(engine.handle);
        if !iter.is_null() {
            let page = (t.result_iterator_page_iterator)(iter);
            loop {
                let text = (t.result_iterator_text)(iter, RIL_WORD);
                if !text.is_null() {
                    let s = CStr::from_ptr(text).to_string_lossy().trim().to_string();
                    (t.delete_text)(text);
                    let (mut left, mut top, mut right, mut bottom) = (0, 0, 0, 0);
                    let boxed = (t.page_iterator_bounding_box)(
                        page,
                        RIL_WORD,
                        &mut left,
                        &mut top,
                        &mut right,
                        &mut bottom,
                    ) != 0;
                    if boxed && !s.is_empty() {
                        words.push(PixelWord {
                            text: s,
                            left,
                            top,
                            right,
                            bottom,
                            confidence: (t.result_iterator_confidence)(iter, RIL_WORD),
                        });
                    }
                }
                if (t.result_iterator_next)(iter, RIL_WORD) == 0 {
                    break;
                }
            }
            (t.result_iterator_delete)(iter);
        }
        (t.clear)(engine.handle);
    }
    Ok(words)
}

fn orientation(engine: &Engine, image: &GrayImage) -> Option<Orientation> {
    let t = engine.tess;
    set_image(engine, image, PSM_OSD_ONLY, 300);
    let (mut deg, mut conf, mut script, mut script_conf) = (0, 0.0, std::ptr::null(), 0.0);
    // SAFETY: a live handle with an image set; the script name points into Tesseract's static
    // data and is not freed.
    let found = unsafe {
        let found = (t.detect_orientation_script)(
            engine.handle,
            &mut deg,
            &mut conf,
            &mut script,
            &mut script_conf,
        ) != 0;
        (t.clear)(engine.handle);
        found
    };
    if !found {
        return None;
    }
    Some(Orientation {
        rotate_cw: (360 - (deg.rem_euclid(360) as u32)) % 360,
        confidence: conf,
    })
}
