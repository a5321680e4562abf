//! PDF pages → grayscale page images for OCR.
//!
//! A scanned page is usually one embedded image: it is taken as-is (DCT/JPEG, Flate, CCITT G4/G3),
//! which is faster and sharper than rasterising it again. Any other page (vector text drawn as
//! outlines, several images, masks, unusual colour spaces) is rendered by `pdftoppm -r 300 -gray`
//! (~35 ms a page, DESIGN.md §3). Sizes are checked before anything is decoded or rendered.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::{GrayImage, Luma};
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::decode::check_pixels;
use super::{OcrError, PageImage};
use crate::read::ReadOptions;

/// Resolution pdftoppm renders at, lowered for pages too large for `max_pixels`.
const RENDER_DPI: f32 = 300.0;

/// The page images of `pages` (1-based; empty = all), in that order, decoded one at a time as
/// the iterator is advanced (a 50-page scan is never all in memory at once).
pub struct PdfPages<'a> {
    bytes: &'a [u8],
    doc: Document,
    all: std::collections::BTreeMap<u32, ObjectId>,
    wanted: std::vec::IntoIter<u32>,
    opts: ReadOptions,
    file: Option<tempfile::NamedTempFile>,
}

impl<'a> PdfPages<'a> {
    /// Parses the PDF and checks the page count against `max_pages`.
    pub fn new(bytes: &'a [u8], pages: &[u32], opts: &ReadOptions) -> Result<Self, OcrError> {
        let doc = Document::load_mem(bytes).map_err(|e| OcrError::Decode(format!("PDF: {e}")))?;
        let all = doc.get_pages();
        let wanted: Vec<u32> = if pages.is_empty() {
            all.keys().copied().collect()
        } else {
            pages.to_vec()
        };
        if wanted.len() > opts.max_pages as usize {
            return Err(OcrError::TooManyPages {
                pages: wanted.len().to_string(),
                max: opts.max_pages,
            });
        }
        Ok(PdfPages {
            bytes,
            doc,
            all,
            wanted: wanted.into_iter(),
            opts: opts.clone(),
            file: None,
        })
    }

    fn page(&mut self, number: u32) -> Result<PageImage, OcrError> {
        let id = *self.all.get(&number).ok_or_else(|| {
            OcrError::Decode(format!(
                "PDF has no page {number} (it has {})",
                self.all.len()
            ))
        })?;
        let opts = &self.opts;
        let (width_pt, height_pt, rotate) = page_geometry(&self.doc, id);
        if let Some((image, dpi)) = single_image(&self.doc, id, width_pt, height_pt, opts)? {
            let image = rotate_orth(image, rotate);
            return Ok(PageImage { number, image, dpi });
        }
        let long_in = width_pt.max(height_pt) / 72.0;
        let short_in = width_pt.min(height_pt) / 72.0;
        let fit = (opts.max_pixels as f32 / (long_in * short_in).max(0.01)).sqrt();
        let dpi = RENDER_DPI.min(fit).floor().max(1.0);
        check_pixels(
            (width_pt / 72.0 * dpi) as u64,
            (height_pt / 72.0 * dpi) as u64,
            opts,
        )?;
        if self.file.is_none() {
            self.file = Some(write_temp(self.bytes)?);
        }
        let path = self
            .file
            .as_ref()
            .map(|f| f.path().to_path_buf())
            .unwrap_or_default();
        let image = render(&path, number, dpi, opts)?;
        Ok(PageImage { number, image, dpi })
    }
}

impl Iterator for PdfPages<'_> {
    type Item = Result<PageImage, OcrError>;

    fn next(&mut self) -> Option<Self::Item> {
        let number = self.wanted.next()?;
        Some(self.page(number))
    }
}

/// Width, height (points, as displayed) and /Rotate of a page, inherited values included.
fn page_geometry(doc: &Document, id: ObjectId) -> (f32, f32, i64) {
    let media = inherited(doc, id, b"MediaBox")
        .and_then(|o| o.as_array().ok())
        .map(|a| a.iter().filter_map(number).collect::<Vec<f32>>());
    let (w, h) = match media.as_deref() {
        Some([x0, y0, x1, y1]) => ((x1 - x0).abs(), (y1 - y0).abs()),
        _ => (595.0, 842.0),
    };
    let rotate = inherited(doc, id, b"Rotate")
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(0)
        .rem_euclid(360);
    if rotate == 90 || rotate == 270 {
        (h, w, rotate)
    } else {
        (w, h, rotate)
    }
}

fn number(o: &Object) -> Option<f32> {
    o.as_float()
        .ok()
        .or_else(|| o.as_i64().ok().map(|i| i as f32))
}

fn inherited<'a>(doc: &'a Document, mut id: ObjectId, key: &[u8]) -> Option<&'a Object> {
    for _ in 0..32 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return doc.dereference(v).ok().map(|(_, o)| o);
        }
        id = dict.get(b"Parent").ok()?.as_reference().ok()?;
    }
    None
}

/// The page's only image, decoded, when the page is nothing but that image filling the page.
fn single_image(
    doc: &Document,
    id: ObjectId,
    width_pt: f32,
    height_pt: f32,
    opts: &ReadOptions,
) -> Result<Option<(GrayImage, f32)>, OcrError> {
    let Ok(images) = doc.get_page_images(id) else {
        return Ok(None);
    };
    let [img] = images.as_slice() else {
        return Ok(None);
    };
    if doc
        .get_page_fonts(id)
        .map(|f| !f.is_empty())
        .unwrap_or(true)
    {
        return Ok(None);
    }
    let (w, h) = (img.width.max(0) as u64, img.height.max(0) as u64);
    check_pixels(w, h, opts)?;
    let dict = img.origin_dict;
    if dict.has(b"SMask") || dict.has(b"Mask") || dict.has(b"Decode") || dict.has(b"ImageMask") {
        return Ok(None);
    }
    // The image must fill the page (same aspect ratio, either orientation): else render.
    let (page_ratio, image_ratio) = (width_pt / height_pt, w as f32 / h as f32);
    let same = |a: f32, b: f32| (a - b).abs() / b < 0.03;
    if !same(image_ratio, page_ratio) && !same(image_ratio, 1.0 / page_ratio) {
        return Ok(None);
    }
    let filters = img.filters.clone().unwrap_or_default();
    let (w32, h32) = (w as u32, h as u32);
    let decoded = match filters
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["DCTDecode"] => image::load_from_memory_with_format(img.content, image::ImageFormat::Jpeg)
            .ok()
            .map(|i| i.into_luma8()),
        ["CCITTFaxDecode"] => ccitt(img.content, dict, w32, h32),
        ["FlateDecode"] | [] => {
            let stream = doc.get_object(img.id).and_then(Object::as_stream);
            let limit = (w * h * 4) as usize;
            stream
                .ok()
                .and_then(|s| {
                    if filters.is_empty() {
                        Some(s.content.clone())
                    } else {
                        s.decompressed_content_with_limit(limit).ok()
                    }
                })
                .and_then(|raw| raw_samples(&raw, w32, h32, img.bits_per_component))
        }
        _ => None,
    };
    let Some(image) = decoded.filter(|i| i.width() == w32 && i.height() == h32) else {
        return Ok(None);
    };
    let long_px = w.max(h) as f32;
    let dpi = long_px / (width_pt.max(height_pt) / 72.0);
    Ok(Some((image, dpi)))
}

/// Uncompressed samples: 1-bit or 8-bit gray, 8-bit RGB or CMYK, told apart by their length.
fn raw_samples(raw: &[u8], w: u32, h: u32, bpc: Option<i64>) -> Option<GrayImage> {
    let px = w as usize * h as usize;
    match bpc.unwrap_or(8) {
        1 => {
            let stride = (w as usize).div_ceil(8);
            (raw.len() >= stride * h as usize).then(|| {
                GrayImage::from_fn(w, h, |x, y| {
                    let byte = raw[y as usize * stride + x as usize / 8];
                    Luma([if (byte >> (7 - x % 8)) & 1 == 1 {
                        255
                    } else {
                        0
                    }])
                })
            })
        }
        8 if raw.len() == px => GrayImage::from_raw(w, h, raw.to_vec()),
        8 if raw.len() == px * 3 => {
            let rgb = image::RgbImage::from_raw(w, h, raw.to_vec())?;
            Some(image::DynamicImage::ImageRgb8(rgb).into_luma8())
        }
        8 if raw.len() == px * 4 => {
            let gray = raw
                .chunks_exact(4)
                .map(|c| {
                    let k = 255 - u16::from(c[3]);
                    let avg = (u16::from(c[0]) + u16::from(c[1]) + u16::from(c[2])) / 3;
                    ((255 - avg) * k / 255) as u8
                })
                .collect();
            GrayImage::from_raw(w, h, gray)
        }
        _ => None,
    }
}

/// CCITT Group 4 (K < 0) or Group 3 1-D (K = 0) fax data.
fn ccitt(data: &[u8], dict: &Dictionary, w: u32, h: u32) -> Option<GrayImage> {
    let params = dict.get(b"DecodeParms").ok().and_then(|p| {
        p.as_dict()
            .ok()
            .or_else(|| p.as_array().ok()?.first()?.as_dict().ok())
    });
    let param = |key: &[u8]| {
        params
            .and_then(|p| p.get(key).ok())
            .and_then(|v| v.as_i64().ok())
    };
    let k = param(b"K").unwrap_or(0);
    let black_is_1 = params
        .and_then(|p| p.get(b"BlackIs1").ok())
        .and_then(|v| v.as_bool().ok())
        .unwrap_or(false);
    let width = u16::try_from(w).ok()?;
    let mut pixels: Vec<u8> = Vec::with_capacity(w as usize * h as usize);
    let mut line = |transitions: &[u16]| {
        if pixels.len() < w as usize * h as usize {
            pixels.extend(fax::decoder::pels(transitions, width).map(|c| {
                let black = c == fax::Color::Black;
                // BlackIs1 = false (the default): 0 bits are black, as the decoder reports.
                if black != black_is_1 {
                    0u8
                } else {
                    255u8
                }
            }));
        }
    };
    let decoded = if k < 0 {
        fax::decoder::decode_g4(
            data.iter().copied(),
            width,
            u16::try_from(h).ok(),
            &mut line,
        )
    } else if k == 0 {
        fax::decoder::decode_g3(data.iter().copied(), &mut line)
    } else {
        None
    };
    decoded?;
    pixels.resize(w as usize * h as usize, 255);
    GrayImage::from_raw(w, h, pixels)
}

fn rotate_orth(image: GrayImage, degrees: i64) -> GrayImage {
    match degrees {
        90 => image::imageops::rotate90(&image),
        180 => image::imageops::rotate180(&image),
        270 => image::imageops::rotate270(&image),
        _ => image,
    }
}

fn write_temp(bytes: &[u8]) -> Result<tempfile::NamedTempFile, OcrError> {
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
fn render(
    path: &std::path::Path,
    page: u32,
    dpi: f32,
    opts: &ReadOptions,
) -> Result<GrayImage, OcrError> {
    let n = page.to_string();
    let mut child = Command::new("pdftoppm")
        .args(["-r", &format!("{dpi}"), "-gray", "-f", &n, "-l", &n])
        .arg(path)
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
