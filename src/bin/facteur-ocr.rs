//! The `facteur-ocr` binary: facteur with Tesseract. The sandbox starts it as the child that reads
//! documents needing OCR, and the benchmarks that OCR in-process run in it; `facteur` itself never
//! links libtesseract, so a text PDF is read without loading it (see `read::ocr::engine`).

fn main() -> std::process::ExitCode {
    facteur::read::ocr::install_tesseract();
    facteur::cli::main()
}
