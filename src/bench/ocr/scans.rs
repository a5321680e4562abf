//! Degraded "scans" of corpus PDFs, made at run time for the OCR bench and tests: each page is
//! rendered by `pdftoppm`, degraded (resolution, skew, blur, noise, JPEG artefacts) and stored as a
//! JPEG, as a scanner or a phone would, then wrapped in an image-only PDF.
//!
//! Made here rather than committed: 8 variants of a dozen documents would be tens of MB of fixtures,
//! and the degradations are deterministic (fixed noise seed), so every run reads the same pixels.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::GrayImage;
use rand::{Rng, SeedableRng};

use crate::read::ocr::preprocess;

/// One way of degrading a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// Clean render at this resolution, JPEG quality 70.
    Dpi(u32),
    /// 300 dpi turned by this many degrees (counter-clockwise positive).
    Skew(i8),
    /// 300 dpi, Gaussian blur σ = 1.6 px.
    Blur,
    /// 300 dpi, 0.4 % salt-and-pepper pixels, then bilevel (a fax).
    Noise,
    /// 300 dpi, JPEG quality 20.
    Jpeg20,
}

impl Variant {
    /// Every variant the bench reports, in table order.
    pub const ALL: [Variant; 8] = [
        Variant::Dpi(150),
        Variant::Dpi(200),
        Variant::Dpi(300),
        Variant::Skew(2),
        Variant::Skew(-2),
        Variant::Blur,
        Variant::Noise,
        Variant::Jpeg20,
    ];

    pub fn name(&self) -> String {
        match self {
            Variant::Dpi(d) => format!("{d}dpi"),
            Variant::Skew(d) => format!("skew{d:+}"),
            Variant::Blur => "blur".into(),
            Variant::Noise => "noise".into(),
            Variant::Jpeg20 => "jpeg20".into(),
        }
    }

    pub fn dpi(&self) -> u32 {
        match self {
            Variant::Dpi(d) => *d,
            _ => 300,
        }
    }

    fn quality(&self) -> u8 {
        match self {
            Variant::Jpeg20 => 20,
            Variant::Noise => 90,
            _ => 70,
        }
    }

    /// The degraded page, JPEG-encoded with its resolution in the JFIF header.
    pub fn degrade(&self, page: &GrayImage) -> anyhow::Result<Vec<u8>> {
        let img = match self {
            Variant::Dpi(_) | Variant::Jpeg20 => page.clone(),
            Variant::Skew(d) => preprocess::rotate(page, f32::from(*d)),
            Variant::Blur => image::imageops::blur(page, 1.6),
            Variant::Noise => fax(page),
        };
        jpeg(&img, self.quality(), self.dpi())
    }
}

/// Salt and pepper on 0.4 % of the pixels, then a fixed threshold, like a cheap fax.
fn fax(page: &GrayImage) -> GrayImage {
    let mut img = page.clone();
    let (w, h) = img.dimensions();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20260101);
    for _ in 0..(u64::from(w) * u64::from(h) / 250) {
        let (x, y) = (rng.gen_range(0..w), rng.gen_range(0..h));
        img.put_pixel(x, y, image::Luma([if rng.gen() { 0 } else { 255 }]));
    }
    for p in img.pixels_mut() {
        p.0[0] = if p.0[0] > 160 { 255 } else { 0 };
    }
    img
}

pub fn jpeg(img: &GrayImage, quality: u8, dpi: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
    let d = u16::try_from(dpi).unwrap_or(300);
    enc.set_pixel_density(PixelDensity::dpi(d));
    enc.encode_image(img)
        .context("Failed to encode a JPEG page")?;
    Ok(out)
}

/// Renders the pages of a PDF (all when `page` is `None`) in grey at `dpi` with `pdftoppm`.
pub fn render(pdf: &Path, dpi: u32, page: Option<u32>) -> anyhow::Result<Vec<GrayImage>> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new("pdftoppm");
    cmd.args(["-r", &dpi.to_string(), "-gray", "-png"]);
    if let Some(p) = page {
        cmd.args(["-f", &p.to_string(), "-l", &p.to_string()]);
    }
    let status = cmd
        .arg(pdf)
        .arg(dir.path().join("p"))
        .status()
        .context("Failed to run pdftoppm (apt-get install poppler-utils)")?;
    if !status.success() {
        bail!("pdftoppm failed on {}: {status}", pdf.display());
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    // p-1.png … p-10.png: pdftoppm pads the numbers to the same width, so a sort is page order.
    files.sort();
    files
        .iter()
        .map(|f| -> anyhow::Result<GrayImage> {
            Ok(image::open(f)
                .with_context(|| format!("Failed to read {}", f.display()))?
                .into_luma8())
        })
        .collect()
}

/// An image-only PDF of the given `variant` of every page of `pdf`, as a scanner would make it.
pub fn scanned_pdf(pdf: &Path, variant: Variant) -> anyhow::Result<Vec<u8>> {
    let pages = render(pdf, variant.dpi(), None)?;
    let jpegs = pages
        .iter()
        .map(|p| Ok((variant.degrade(p)?, p.width(), p.height())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    image_pdf(&jpegs, variant.dpi())
}

/// One page per JPEG (`(bytes, width, height)`), each filling a page of its size at `dpi`.
pub fn image_pdf(jpegs: &[(Vec<u8>, u32, u32)], dpi: u32) -> anyhow::Result<Vec<u8>> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids: Vec<Object> = Vec::new();
    for (jpeg, w, h) in jpegs {
        let pt = |px: u32| f64::from(px) * 72.0 / f64::from(dpi.max(1));
        let (pw, ph) = (pt(*w), pt(*h));
        let image_id = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => i64::from(*w), "Height" => i64::from(*h),
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
            },
            jpeg.clone(),
        ));
        let content = doc.add_object(Stream::new(
            dictionary! {},
            format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im0 Do Q").into_bytes(),
        ));
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), (pw as f32).into(), (ph as f32).into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            })
            .into(),
        );
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_have_distinct_names_and_degrade_to_jpeg() {
        let names: std::collections::BTreeSet<_> = Variant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), Variant::ALL.len());
        let page = GrayImage::from_fn(200, 100, |x, _| {
            image::Luma([if x % 7 == 0 { 0 } else { 255 }])
        });
        for v in Variant::ALL {
            let jpeg = v.degrade(&page).unwrap();
            let back = image::load_from_memory(&jpeg).unwrap();
            assert_eq!((back.width(), back.height()), (200, 100), "{}", v.name());
        }
    }

    #[test]
    fn an_image_pdf_has_one_page_per_image_sized_by_resolution() {
        let page = GrayImage::from_pixel(300, 600, image::Luma([255]));
        let j = jpeg(&page, 70, 300).unwrap();
        let pdf = image_pdf(&[(j.clone(), 300, 600), (j, 300, 600)], 300).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 2);
    }
}
