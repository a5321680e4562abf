//! The OCR engine pool: N engine threads behind one queue, fed through a channel.
//!
//! Measured (DESIGN.md §3): one engine shared across threads returned another thread's page, so
//! each engine lives and dies on its own thread and only images and words cross the channel.
//! What runs on those threads is installed at start-up (`install`): Tesseract (`tesseract.rs`) in
//! the `facteur-ocr` binary and in tests, nothing in `facteur` itself, so that the main binary
//! never links libtesseract and a text PDF is read without loading it (issue 9: ~55 ms saved
//! per process). Without an engine, OCR answers `ReadError::NeedsOcr` and the sandbox sends the
//! document to a `facteur-ocr` child.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use image::GrayImage;

use super::OcrError;

/// Number of engines of the process-wide pool (default: one per core).
pub const ENV_ENGINES: &str = "FACTEUR_OCR_ENGINES";

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

/// One page of work for an engine thread.
pub enum Task {
    Recognize {
        image: Arc<GrayImage>,
        dpi: u32,
        timeout: Duration,
    },
    Orientation {
        image: Arc<GrayImage>,
    },
}

/// What an engine thread answers.
pub enum Answer {
    Words(Vec<PixelWord>),
    Orientation(Option<Orientation>),
}

/// A task for the engine of `language`, and where its answer goes.
pub struct Job {
    pub language: String,
    pub task: Task,
    pub reply: mpsc::Sender<Result<Answer, OcrError>>,
}

/// The body of an engine thread: serves jobs from the queue until it closes.
pub type EngineThread = fn(&Mutex<mpsc::Receiver<Job>>);

static ENGINE: OnceLock<EngineThread> = OnceLock::new();

/// Installs the engine this process runs OCR with (first call wins). Only the binaries that
/// link an OCR library call it; see the module comment.
pub fn install(engine: EngineThread) {
    let _ = ENGINE.set(engine);
}

/// The installed engine, if any. Unit tests of this crate always have Tesseract.
pub fn installed() -> Option<EngineThread> {
    #[cfg(test)]
    install(super::tesseract::serve);
    ENGINE.get().copied()
}

/// Why a pool has no engine thread when none is installed.
pub const NOT_INSTALLED: &str = "this program has no OCR engine (OCR runs in facteur-ocr)";

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
        let mut start_error = None;
        let Some(body) = installed() else {
            return EnginePool {
                queue: Mutex::new(tx),
                size,
                start_error: Some(NOT_INSTALLED.into()),
            };
        };
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..size {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("ocr-engine-{i}"))
                .spawn(move || body(&rx));
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
