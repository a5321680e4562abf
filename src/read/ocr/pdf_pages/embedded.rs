//! A scanned PDF page that is nothing but one image: that image decoded straight from the PDF
//! (DCT/JPEG, Flate or raw samples, CCITT G4/G3), faster and sharper than rasterising the page.
//! Anything unusual (masks, colour spaces other than grey/RGB/CMYK, several images) returns
//! `None` so the caller renders the page instead.

use image::{GrayImage, Luma};
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::super::decode::check_pixels;
use super::super::OcrError;
use crate::read::ReadOptions;

/// The page's only image, decoded, when the page is nothing but that image filling the page.
pub(super) fn single_image(
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
