//! PDF pages → grayscale page images for OCR.
//!
//! A scanned page is usually one embedded image: it is taken as-is (DCT/JPEG, Flate, CCITT G4/G3),
//! which is faster and sharper than rasterising it again. Any other page (vector text drawn as
//! outlines, several images, masks, unusual colour spaces) is rendered by `pdftoppm -r 300 -gray`
//! (~35 ms a page, DESIGN.md §3). Sizes are checked before anything is decoded or rendered.
//! This file walks the pages and their geometry; `embedded.rs` decodes a page's single image,
//! `render.rs` runs pdftoppm.

mod embedded;
mod render;

use image::GrayImage;
use lopdf::{Document, Object, ObjectId};

use super::decode::check_pixels;
use super::{OcrError, PageImage};
use crate::read::ReadOptions;
use embedded::single_image;
use render::{render, write_temp};

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

fn rotate_orth(image: GrayImage, degrees: i64) -> GrayImage {
    match degrees {
        90 => image::imageops::rotate90(&image),
        180 => image::imageops::rotate180(&image),
        270 => image::imageops::rotate270(&image),
        _ => image,
    }
}
