//! Pages that are not a single image, rasterised by `pdftoppm -r DPI -gray` (~35 ms a page,
//! DESIGN.md §3) from a temporary copy of the PDF, with a time limit; its PGM output is parsed
//! here rather than through an image decoder so a truncated output is refused, not padded.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::GrayImage;

use super::super::OcrError;
use crate::read::ReadOptions;

pub(super) fn write_temp(bytes: &[u8]) -> Result<tempfile::NamedTempFile, OcrError> {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .prefix("facteur-ocr-")
        .suffix(".pdf")
        .tempfile()
        .map_err(|e| OcrError::Render(format!("cannot create a temporary file: {e}")))?;
    f.write_all(bytes)
        .map_err(|e| OcrError::Render(format!("cannot write a temporary file: {e}")))?;
    Ok(f)
}

/// `pdftoppm -r DPI -gray` of one page, read back from its PGM output.
pub(super) fn render(
    path: &std::path::Path,
    page: u32,
    dpi: f32,
    opts: &ReadOptions,
) -> Result<GrayImage, OcrError> {
    let n = page.to_string();
    let mut child = Command::new("pdftoppm")
        .args(["-r", &format!("{dpi}"), "-gray", "-f", &n, "-l", &n])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            OcrError::Render(format!("cannot run pdftoppm (install poppler-utils): {e}"))
        })?;
    let mut out = Vec::new();
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| OcrError::Render("pdftoppm has no stdout".into()))?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + Duration::from_secs(opts.page_timeout_secs.max(1));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(OcrError::Timeout {
                    secs: opts.page_timeout_secs,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(OcrError::Render(format!("pdftoppm: {e}"))),
        }
    };
    if let Ok(Ok(buf)) = reader.join() {
        out = buf;
    }
    if !status.success() || out.is_empty() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(OcrError::Render(format!(
            "pdftoppm could not render page {page}: {}",
            err.trim()
        )));
    }
    parse_pgm(&out).ok_or_else(|| {
        OcrError::Render(format!(
            "pdftoppm output for page {page} is not an 8-bit PGM image"
        ))
    })
}

/// Binary PGM (`P5`, maxval 255) as pdftoppm writes it.
fn parse_pgm(data: &[u8]) -> Option<GrayImage> {
    let mut fields = Vec::with_capacity(4);
    let mut at = 0usize;
    while fields.len() < 4 {
        while data.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        if *data.get(at)? == b'#' {
            while *data.get(at)? != b'\n' {
                at += 1;
            }
            continue;
        }
        let start = at;
        while !data.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(data.get(start..at)?).ok()?);
    }
    let [magic, w, h, max] = fields.as_slice() else {
        return None;
    };
    if *magic != "P5" || *max != "255" {
        return None;
    }
    let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
    let pixels = data.get(at + 1..)?.get(..w as usize * h as usize)?;
    GrayImage::from_raw(w, h, pixels.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgm_is_parsed_and_truncation_refused() {
        let img = parse_pgm(b"P5\n# c\n3 2\n255\n\x00\x01\x02\x03\x04\x05").unwrap();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert_eq!(img.get_pixel(2, 1).0, [5]);
        assert!(parse_pgm(b"P5\n3 2\n255\n\x00").is_none());
    }
}
