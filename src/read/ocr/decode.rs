//! Image files → grayscale page images: PNG, JPEG and (multi-page) TIFF.
//!
//! Sizes are checked from the header before anything is decoded: a 100k×100k PNG is 60 bytes on
//! disk and 10 GB in memory, so `max_pixels` is enforced on the header's numbers and the decoders
//! also get an allocation cap. Resolution comes from the file (PNG pHYs, JPEG JFIF, TIFF
//! XResolution) when it is plausible, else from the page size of an A4 sheet.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader};

use super::tiff::TiffPages;
use super::{OcrError, PageImage};
use crate::read::{sniff, Kind, ReadOptions};

/// Plausible scan resolutions; outside them the stated dpi is ignored.
const DPI_RANGE: std::ops::RangeInclusive<f32> = 70.0..=1200.0;

/// The pages of an image file (one for PNG/JPEG, every page of a TIFF), checking limits first.
/// A TIFF's pages are decoded one at a time as the iterator advances (`tiff.rs`), so a long
/// multi-page scan never sits whole in memory.
pub fn image_pages<'a>(
    bytes: &'a [u8],
    opts: &ReadOptions,
) -> Result<Box<dyn Iterator<Item = Result<PageImage, OcrError>> + 'a>, OcrError> {
    match sniff(bytes) {
        Some(Kind::Tiff) => Ok(Box::new(TiffPages::new(bytes, opts)?)),
        Some(Kind::Png) => Ok(Box::new(
            single(bytes, ImageFormat::Png, png_dpi(bytes), opts)?
                .into_iter()
                .map(Ok),
        )),
        Some(Kind::Jpeg) => Ok(Box::new(
            single(bytes, ImageFormat::Jpeg, jpeg_dpi(bytes), opts)?
                .into_iter()
                .map(Ok),
        )),
        _ => Err(OcrError::Decode(
            "not a PNG, JPEG or TIFF image (looked at the first bytes)".into(),
        )),
    }
}

/// Refuses a page whose pixel count is over the limit, from its stated size alone.
pub fn check_pixels(width: u64, height: u64, opts: &ReadOptions) -> Result<(), OcrError> {
    let pixels = width.saturating_mul(height);
    if pixels > opts.max_pixels || width == 0 || height == 0 {
        return Err(OcrError::TooManyPixels {
            width,
            height,
            max: opts.max_pixels,
        });
    }
    Ok(())
}

fn single(
    bytes: &[u8],
    format: ImageFormat,
    dpi: Option<f32>,
    opts: &ReadOptions,
) -> Result<Vec<PageImage>, OcrError> {
    let bad = |e: image::ImageError| OcrError::Decode(format!("{format:?} image: {e}"));
    // Our own look at the header first: the decoders read past it before saying the size.
    if let Some((w, h)) = header_size(bytes, format) {
        check_pixels(w.into(), h.into(), opts)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(opts));
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let (w, h) = decoder.dimensions();
    check_pixels(w.into(), h.into(), opts)?;
    let orientation = decoder.orientation().ok();
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(bad)?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    let gray = image.into_luma8();
    let dpi = plausible(dpi).unwrap_or_else(|| a4_dpi(gray.width(), gray.height()));
    Ok(vec![PageImage {
        number: 1,
        image: gray,
        dpi,
    }])
}

/// Width and height as the PNG IHDR or the JPEG SOF marker states them.
fn header_size(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    match format {
        ImageFormat::Png => {
            let ihdr = bytes.get(12..24)?;
            (&ihdr[..4] == b"IHDR").then(|| {
                let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                (be(&ihdr[4..8]), be(&ihdr[8..12]))
            })
        }
        ImageFormat::Jpeg => {
            let mut at = 2usize;
            loop {
                let m = bytes.get(at..at + 4)?;
                if m[0] != 0xFF {
                    return None;
                }
                let len = usize::from(u16::from_be_bytes([m[2], m[3]]));
                // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
                if (0xC0..=0xCF).contains(&m[1]) && ![0xC4, 0xC8, 0xCC].contains(&m[1]) {
                    let sof = bytes.get(at + 5..at + 9)?;
                    let h = u32::from(u16::from_be_bytes([sof[0], sof[1]]));
                    let w = u32::from(u16::from_be_bytes([sof[2], sof[3]]));
                    return Some((w, h));
                }
                at = at.checked_add(2 + len)?;
            }
        }
        _ => None,
    }
}

fn decoder_limits(opts: &ReadOptions) -> image::Limits {
    let mut limits = image::Limits::default();
    // RGBA8 of the largest page allowed, plus the decoder's working memory.
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    limits
}

fn png_dpi(bytes: &[u8]) -> Option<f32> {
    // Chunks follow the 8-byte signature: length, type, data, CRC.
    let mut at = 8usize;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        if kind == b"pHYs" {
            let d = bytes.get(at + 8..at + 17)?;
            let ppu = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as f32;
            // Unit 1 = metre; 0 = aspect ratio only.
            return (d[8] == 1).then_some(ppu * 0.0254);
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        at = at.checked_add(len)?.checked_add(12)?;
    }
    None
}

fn jpeg_dpi(bytes: &[u8]) -> Option<f32> {
    // JFIF APP0: FFE0, length, "JFIF\0", version (2), units, Xdensity, Ydensity.
    let app0 = bytes.get(2..20)?;
    if app0[0] != 0xFF || app0[1] != 0xE0 || &app0[4..9] != b"JFIF\0" {
        return None;
    }
    let units = app0[11];
    let x = u16::from_be_bytes([app0[12], app0[13]]) as f32;
    match units {
        1 => Some(x),
        2 => Some(x * 2.54),
        _ => None,
    }
}

pub(super) fn plausible(dpi: Option<f32>) -> Option<f32> {
    dpi.filter(|d| DPI_RANGE.contains(d))
}

/// Resolution of a full A4 page (the common case for invoices) of this many pixels.
pub fn a4_dpi(w: u32, h: u32) -> f32 {
    let long = w.max(h) as f32;
    (long / 11.69).clamp(50.0, 1200.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GrayImage;

    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.extend_from_slice(&13u32.to_be_bytes());
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 0, 0, 0, 0]);
        let crc = crc32(&v[12..]);
        v.extend_from_slice(&crc.to_be_bytes());
        v
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_bomb_header_is_refused_before_decoding() {
        let err = image_pages(&png_header(100_000, 100_000), &ReadOptions::default())
            .err()
            .expect("refused");
        assert!(
            matches!(
                err,
                OcrError::TooManyPixels {
                    width: 100_000,
                    height: 100_000,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn resolution_is_read_from_png_and_estimated_otherwise() {
        let mut img = Vec::new();
        GrayImage::new(1240, 1754)
            .write_to(&mut Cursor::new(&mut img), ImageFormat::Png)
            .unwrap();
        let pages: Vec<_> = image_pages(&img, &ReadOptions::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(pages.len(), 1);
        assert!((pages[0].dpi - 150.0).abs() < 1.0, "{}", pages[0].dpi);
        assert_eq!(png_dpi(&img), None);
    }
}
