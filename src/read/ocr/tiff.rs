//! The pages of a (multi-page) TIFF, decoded one at a time as the iterator advances.
//!
//! A fax or a scanner's batch can hold dozens of pages that each pass `max_pixels`; decoded all
//! at once they add up to more than the sandbox's memory limit. Handing them to `ocr_stream` one
//! by one keeps at most the engine's window (two pages per engine) plus the page being decoded
//! in memory. Every page's size is checked from its header before it is decoded, and the page
//! count against `max_pages` as pages are met.

use std::io::Cursor;

use image::{GrayImage, Luma};
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use tiff::ColorType;

use super::decode::{a4_dpi, check_pixels, plausible};
use super::{OcrError, PageImage};
use crate::read::ReadOptions;

pub struct TiffPages<'a> {
    dec: Decoder<Cursor<&'a [u8]>>,
    opts: ReadOptions,
    /// Pages handed out so far.
    done: u32,
    /// Set after the last page or an error: the iterator is over.
    finished: bool,
}

fn bad(e: tiff::TiffError) -> OcrError {
    OcrError::Decode(format!("TIFF image: {e}"))
}

impl<'a> TiffPages<'a> {
    /// Reads the header and the first page's directory; decodes nothing yet.
    pub fn new(bytes: &'a [u8], opts: &ReadOptions) -> Result<Self, OcrError> {
        let mut limits = Limits::default();
        limits.decoding_buffer_size =
            usize::try_from(opts.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX);
        let dec = Decoder::new(Cursor::new(bytes))
            .map_err(bad)?
            .with_limits(limits);
        Ok(TiffPages {
            dec,
            opts: opts.clone(),
            done: 0,
            finished: false,
        })
    }

    /// Decodes the current page, then moves the decoder to the next directory, if any.
    fn page(&mut self) -> Result<PageImage, OcrError> {
        let number = self.done + 1;
        if number > self.opts.max_pages {
            return Err(OcrError::TooManyPages {
                pages: format!("more than {}", self.opts.max_pages),
                max: self.opts.max_pages,
            });
        }
        let dec = &mut self.dec;
        let (w, h) = dec.dimensions().map_err(bad)?;
        check_pixels(w.into(), h.into(), &self.opts)?;
        let color = dec.colortype().map_err(bad)?;
        let dpi = tiff_dpi(dec, Tag::XResolution, Tag::ResolutionUnit);
        let data = dec.read_image().map_err(bad)?;
        let image = to_gray(color, data, w, h, number)?;
        let dpi = plausible(dpi).unwrap_or_else(|| a4_dpi(w, h));
        self.done = number;
        if dec.more_images() {
            dec.next_image().map_err(bad)?;
        } else {
            self.finished = true;
        }
        Ok(PageImage { number, image, dpi })
    }
}

impl Iterator for TiffPages<'_> {
    type Item = Result<PageImage, OcrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let page = self.page();
        if page.is_err() {
            self.finished = true;
        }
        Some(page)
    }
}

fn to_gray(
    color: ColorType,
    data: DecodingResult,
    w: u32,
    h: u32,
    number: u32,
) -> Result<GrayImage, OcrError> {
    match (color, data) {
        (ColorType::Gray(1), DecodingResult::U8(bits)) => unpack_bits(&bits, w, h),
        (ColorType::Gray(8), DecodingResult::U8(v)) => GrayImage::from_raw(w, h, v),
        (ColorType::Gray(16), DecodingResult::U16(v)) => {
            GrayImage::from_raw(w, h, v.iter().map(|p| (p >> 8) as u8).collect())
        }
        (ColorType::RGB(8), DecodingResult::U8(v)) => image::RgbImage::from_raw(w, h, v)
            .map(|i| image::DynamicImage::ImageRgb8(i).into_luma8()),
        (ColorType::RGBA(8), DecodingResult::U8(v)) => image::RgbaImage::from_raw(w, h, v)
            .map(|i| image::DynamicImage::ImageRgba8(i).into_luma8()),
        (other, _) => {
            return Err(OcrError::Decode(format!(
                "TIFF page {number}: colour type {other:?} is not supported \
                 (expected bilevel, 8/16-bit gray, RGB or RGBA)"
            )))
        }
    }
    .ok_or_else(|| {
        OcrError::Decode(format!(
            "TIFF page {number}: pixel data shorter than {w}×{h}"
        ))
    })
}

/// 1 bit per pixel, rows padded to a byte, 0 = black once the TIFF decoder applied
/// PhotometricInterpretation.
fn unpack_bits(bits: &[u8], w: u32, h: u32) -> Option<GrayImage> {
    let stride = (w as usize).div_ceil(8);
    if bits.len() < stride * h as usize {
        return None;
    }
    Some(GrayImage::from_fn(w, h, |x, y| {
        let byte = bits[y as usize * stride + x as usize / 8];
        let bit = (byte >> (7 - (x % 8))) & 1;
        Luma([if bit == 1 { 255 } else { 0 }])
    }))
}

fn tiff_dpi<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    res: Tag,
    unit: Tag,
) -> Option<f32> {
    let value = dec.find_tag(res).ok()??;
    let dpi = match value {
        tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => n as f32 / d as f32,
        other => other.into_f32().ok()?,
    };
    // ResolutionUnit 3 = centimetre; 2 (inch) is the default.
    let per_cm = dec.find_tag_unsigned::<u16>(unit).ok().flatten() == Some(3);
    Some(if per_cm { dpi * 2.54 } else { dpi })
}
