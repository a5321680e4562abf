//! Tesseract engines: one per thread, initialised once and reused, fed through a channel.
//!
//! Measured (DESIGN.md §3): one engine shared across threads returned another thread's page, so
//! each engine lives and dies on its own thread and only images and words cross the channel.
//! `OMP_THREAD_LIMIT=1` must already be in the environment (see `ensure_omp_thread_limit`).
//! The page deadline uses Tesseract's own monitor (`ETEXT_DESC`), which the crate does not expose,
//! hence the four FFI declarations below (the symbols come from the libtesseract it links).

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::os::raw::{c_int, c_void};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use image::GrayImage;
use tesseract_rs::{TessPageIteratorLevel, TessPageSegMode, TesseractAPI};

use super::OcrError;

/// Debian's tessdata; `TESSDATA_PREFIX` overrides it.
pub const TESSDATA: &str = "/usr/share/tesseract-ocr/5/tessdata";
/// Number of engines of the process-wide pool (default: one per core).
pub const ENV_ENGINES: &str = "FACTEUR_OCR_ENGINES";

extern "C" {
    fn TessMonitorCreate() -> *mut c_void;
    fn TessMonitorDelete(monitor: *mut c_void);
    fn TessMonitorSetDeadlineMSecs(monitor: *mut c_void, deadline: c_int);
    fn TessBaseAPIRecognize(handle: *mut c_void, monitor: *mut c_void) -> c_int;
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
/// The engines are `ManuallyDrop`: a C++ exception (std::bad_alloc under the sandbox's RLIMIT_AS)
/// thrown through the C API skips the crate's mutex guards, so dropping an engine while that
/// exception unwinds would wait forever on its handle. Skipping the drop lets the exception reach
/// the thread boundary, where Rust aborts the process, and the sandbox reports the memory limit.
fn engine_thread(rx: &Mutex<mpsc::Receiver<Job>>) {
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
