//! Tesseract's C API, loaded with `dlopen` the first time a page needs OCR.
//!
//! Measured (2026-12, this machine): linking libtesseract costs every process ~11 ms in the dynamic
//! loader before `main` (56 libraries: leptonica, libarchive, libcurl, ICU, GnuTLS, libgomp…), and
//! a one-off `facteur extract` paid it three times (the process, its re-exec to set
//! `OMP_THREAD_LIMIT` before libgomp loaded, its sandbox child) although a text PDF needs no OCR.
//! The engines themselves were already started lazily. So the library is no longer linked: the
//! symbols below are resolved from `libtesseract.so.5` on first use, in the process that OCRs (the
//! sandbox child, or a bench), and never in one that only reads text layers or XML.
//!
//! libgomp reads `OMP_THREAD_LIMIT` once, when it loads, i.e. now inside `load`: the variable is set
//! (if absent) just before `dlopen`, so no re-exec is needed either.

use std::ffi::{c_char, c_float, c_int, c_void, CStr};
use std::sync::OnceLock;

/// The library's names, tried in turn (Debian's soname first, then a development symlink).
const LIBRARIES: [&str; 2] = ["libtesseract.so.5", "libtesseract.so"];

/// `PSM_OSD_ONLY` and `PSM_AUTO` of Tesseract's `TessPageSegMode`.
pub const PSM_OSD_ONLY: c_int = 0;
pub const PSM_AUTO: c_int = 3;
/// `RIL_WORD` of `TessPageIteratorLevel`.
pub const RIL_WORD: c_int = 3;

macro_rules! symbols {
    ($($field:ident = $sym:literal : fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The C functions facteur calls, resolved from the loaded library.
        pub struct Tess {
            $(pub $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl Tess {
            /// # Safety
            /// `lib` is a live handle from `dlopen` of a libtesseract 5, whose C API declares each
            /// symbol with the signature given here.
            unsafe fn resolve(lib: *mut c_void) -> Result<Tess, String> {
                Ok(Tess {
                    $($field: {
                        let p = libc::dlsym(lib, concat!($sym, "\0").as_ptr().cast());
                        if p.is_null() {
                            return Err(format!("the loaded libtesseract has no {}", $sym));
                        }
                        std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) $(-> $ret)?>(p)
                    },)*
                })
            }
        }
    };
}

symbols! {
    create = "TessBaseAPICreate": fn() -> *mut c_void;
    delete = "TessBaseAPIDelete": fn(*mut c_void);
    end = "TessBaseAPIEnd": fn(*mut c_void);
    init3 = "TessBaseAPIInit3": fn(*mut c_void, *const c_char, *const c_char) -> c_int;
    set_page_seg_mode = "TessBaseAPISetPageSegMode": fn(*mut c_void, c_int);
    set_image = "TessBaseAPISetImage": fn(*mut c_void, *const u8, c_int, c_int, c_int, c_int);
    set_source_resolution = "TessBaseAPISetSourceResolution": fn(*mut c_void, c_int);
    recognize = "TessBaseAPIRecognize": fn(*mut c_void, *mut c_void) -> c_int;
    clear = "TessBaseAPIClear": fn(*mut c_void);
    get_iterator = "TessBaseAPIGetIterator": fn(*mut c_void) -> *mut c_void;
    detect_orientation_script = "TessBaseAPIDetectOrientationScript":
        fn(*mut c_void, *mut c_int, *mut c_float, *mut *const c_char, *mut c_float) -> c_int;
    result_iterator_delete = "TessResultIteratorDelete": fn(*mut c_void);
    result_iterator_text = "TessResultIteratorGetUTF8Text": fn(*mut c_void, c_int) -> *mut c_char;
    result_iterator_confidence = "TessResultIteratorConfidence": fn(*mut c_void, c_int) -> c_float;
    result_iterator_next = "TessResultIteratorNext": fn(*mut c_void, c_int) -> c_int;
    result_iterator_page_iterator = "TessResultIteratorGetPageIterator": fn(*mut c_void) -> *mut c_void;
    page_iterator_bounding_box = "TessPageIteratorBoundingBox":
        fn(*mut c_void, c_int, *mut c_int, *mut c_int, *mut c_int, *mut c_int) -> c_int;
    delete_text = "TessDeleteText": fn(*mut c_char);
    monitor_create = "TessMonitorCreate": fn() -> *mut c_void;
    monitor_delete = "TessMonitorDelete": fn(*mut c_void);
    monitor_set_deadline = "TessMonitorSetDeadlineMSecs": fn(*mut c_void, c_int);
}

/// Whether this process has loaded libtesseract (for tests: reading a text PDF must not).
pub fn loaded() -> bool {
    TESS.get().is_some_and(|t| t.is_ok())
}

static TESS: OnceLock<Result<Tess, String>> = OnceLock::new();

/// The C API, loading the library on the first call. The error says why it could not load
/// (not installed, or no address space left under the sandbox's memory limit).
pub fn tess() -> Result<&'static Tess, String> {
    TESS.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Tess, String> {
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        // Read by libgomp when it loads, with libtesseract, just below; `main` sets it first
        // thing already, so this only acts in test and bench binaries.
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
    let mut why = Vec::new();
    for name in LIBRARIES {
        let cname = format!("{name}\0");
        // SAFETY: a NUL-terminated name; the handle is never closed, so the resolved functions
        // stay valid for the life of the process.
        let lib = unsafe { libc::dlopen(cname.as_ptr().cast(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if lib.is_null() {
            why.push(dl_error());
            continue;
        }
        // SAFETY: `lib` is libtesseract 5, whose C API (capi.h) declares these signatures.
        return unsafe { Tess::resolve(lib) };
    }
    Err(format!(
        "cannot load Tesseract ({}); install libtesseract5 (Debian: tesseract-ocr)",
        why.join("; ")
    ))
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated message owned by libc.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "unknown dlopen error".into()
    } else {
        // SAFETY: non-null, NUL-terminated, read before any other dl* call on this thread.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}
