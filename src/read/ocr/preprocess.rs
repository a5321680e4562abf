//! Page clean-up before Tesseract, kept only where it pays for itself (see `facteur bench ocr`):
//! upscaling only very coarse scans (below 140 dpi) to ~300 dpi, and deskewing by projection profile (a 2° skew breaks table rows into
//! several lines). Orientation (0/90/180/270) is decided by Tesseract OSD in `mod.rs`, only for
//! pages whose first reading is poor. Binarisation is optional: Tesseract already thresholds.

use image::imageops::FilterType;
use image::{GrayImage, Luma};

/// Resolution pages are brought up to when they are below `UPSCALE_BELOW`.
pub const TARGET_DPI: f32 = 300.0;
/// Measured (`facteur bench ocr`): 150 and 200 dpi scans told Tesseract their resolution read as
/// well without upscaling, at a third of the time; only coarser (fax "normal" ~100 dpi) pages are
/// brought up.
const UPSCALE_BELOW: f32 = 140.0;
/// Skew search range and step, degrees.
const MAX_SKEW: f32 = 5.0;
const SKEW_STEP: f32 = 0.1;
/// Smaller skews are left alone (Tesseract copes, and resampling blurs).
const MIN_SKEW: f32 = 0.3;

/// Which corrections to apply (all but binarisation by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocess {
    pub upscale: bool,
    pub deskew: bool,
    pub orientation: bool,
    pub binarise: bool,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            upscale: true,
            deskew: true,
            orientation: true,
            binarise: false,
        }
    }
}

/// Applies the enabled corrections; returns the image and its resolution afterwards.
pub fn prepare(image: GrayImage, dpi: f32, how: &Preprocess, max_pixels: u64) -> (GrayImage, f32) {
    let (mut image, mut dpi) = (image, dpi);
    if how.upscale && dpi < UPSCALE_BELOW {
        let mut factor = TARGET_DPI / dpi.max(1.0);
        let pixels = f64::from(image.width()) * f64::from(image.height());
        let room = (max_pixels as f64 / pixels.max(1.0)).sqrt() as f32;
        factor = factor.min(room).min(4.0);
        if factor > 1.05 {
            let w = (image.width() as f32 * factor).round() as u32;
            let h = (image.height() as f32 * factor).round() as u32;
            image = image::imageops::resize(&image, w, h, FilterType::CatmullRom);
            dpi *= factor;
        }
    }
    if how.deskew {
        let angle = skew_angle(&image);
        if angle.abs() >= MIN_SKEW {
            image = rotate(&image, angle);
        }
    }
    if how.binarise {
        binarise(&mut image);
    }
    (image, dpi)
}

/// The angle (degrees) whose rotation makes text rows horizontal: the one maximising the
/// sharpness (sum of squares) of the horizontal projection of dark pixels.
pub fn skew_angle(image: &GrayImage) -> f32 {
    // Work on a ~1000 px thumbnail, keeping the darkest pixel of each block so text survives.
    let step = (image.width().max(image.height()) / 1000).max(1);
    let mut dark: Vec<(f32, f32)> = Vec::new();
    for by in (0..image.height()).step_by(step as usize) {
        for bx in (0..image.width()).step_by(step as usize) {
            let mut min = 255u8;
            for y in by..(by + step).min(image.height()) {
                for x in bx..(bx + step).min(image.width()) {
                    min = min.min(image.get_pixel(x, y).0[0]);
                }
            }
            if min < 128 {
                dark.push(((bx / step) as f32, (by / step) as f32));
            }
        }
    }
    if dark.len() < 100 {
        return 0.0;
    }
    let stride = (dark.len() / 150_000).max(1);
    let rows = (image.height() / step) as f32 + (image.width() / step) as f32 * 0.1 + 2.0;
    let score = |deg: f32| -> f64 {
        let (s, c) = deg.to_radians().sin_cos();
        let offset = (image.width() / step) as f32 * MAX_SKEW.to_radians().sin();
        let mut bins = vec![0u32; (rows + offset) as usize + 2];
        for &(x, y) in dark.iter().step_by(stride) {
            let r = (y * c - x * s + offset).round();
            if let Some(b) = bins.get_mut(r.max(0.0) as usize) {
                *b += 1;
            }
        }
        bins.iter().map(|&b| f64::from(b) * f64::from(b)).sum()
    };
    let steps = (MAX_SKEW / SKEW_STEP).round() as i32;
    let (mut best, mut best_score) = (0.0f32, score(0.0));
    for i in -steps..=steps {
        let deg = i as f32 * SKEW_STEP;
        let sc = score(deg);
        if sc > best_score * 1.000_001 {
            best = deg;
            best_score = sc;
        }
    }
    best
}

/// Rotates by `deg` (positive = the content turns counter-clockwise on screen) around the centre,
/// bilinear, white outside, same size.
pub fn rotate(image: &GrayImage, deg: f32) -> GrayImage {
    let (s, c) = deg.to_radians().sin_cos();
    let (w, h) = (image.width(), image.height());
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let sample = |x: f32, y: f32| -> u8 {
        if x < 0.0 || y < 0.0 || x >= (w - 1) as f32 || y >= (h - 1) as f32 {
            return 255;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let p = |dx: u32, dy: u32| f32::from(image.get_pixel(x0 as u32 + dx, y0 as u32 + dy).0[0]);
        let top = p(0, 0) * (1.0 - fx) + p(1, 0) * fx;
        let bottom = p(0, 1) * (1.0 - fx) + p(1, 1) * fx;
        (top * (1.0 - fy) + bottom * fy).round() as u8
    };
    GrayImage::from_fn(w, h, |xo, yo| {
        let (dx, dy) = (xo as f32 - cx, yo as f32 - cy);
        Luma([sample(cx + dx * c - dy * s, cy + dx * s + dy * c)])
    })
}

/// Otsu threshold: pixels become black or white.
pub fn binarise(image: &mut GrayImage) {
    let mut hist = [0u64; 256];
    for p in image.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut threshold) = (0u64, 0f64, 0f64, 128u8);
    for (t, &n) in hist.iter().enumerate() {
        w_b += n;
        if w_b == 0 || w_b == total {
            continue;
        }
        sum_b += t as f64 * n as f64;
        let w_f = (total - w_b) as f64;
        let (m_b, m_f) = (sum_b / w_b as f64, (sum_all - sum_b) / w_f);
        let between = w_b as f64 * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            threshold = t as u8;
        }
    }
    for p in image.pixels_mut() {
        p.0[0] = if p.0[0] > threshold { 255 } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of dashed "text rows".
    fn rows() -> GrayImage {
        GrayImage::from_fn(1200, 1600, |x, y| {
            let in_row = (y % 60) < 14 && (200..1400).contains(&y);
            let in_word = (x % 90) < 70 && (100..1100).contains(&x);
            Luma([if in_row && in_word { 0 } else { 255 }])
        })
    }

    #[test]
    fn a_skewed_page_is_measured_and_straightened() {
        let skewed = rotate(&rows(), 2.0);
        let angle = skew_angle(&skewed);
        assert!((angle.abs() - 2.0).abs() <= 0.15, "measured {angle}");
        let straight = rotate(&skewed, angle);
        assert!(skew_angle(&straight).abs() <= 0.15);
        assert!(skew_angle(&rows()).abs() <= 0.05);
    }

    #[test]
    fn low_resolution_pages_are_upscaled_within_the_pixel_limit() {
        let (img, dpi) = prepare(rows(), 100.0, &Preprocess::default(), 40_000_000);
        assert_eq!((img.width(), dpi.round() as u32), (3600, 300));
        let (img, _) = prepare(rows(), 100.0, &Preprocess::default(), 2_000_000);
        assert!(u64::from(img.width()) * u64::from(img.height()) <= 2_000_000);
    }
}
