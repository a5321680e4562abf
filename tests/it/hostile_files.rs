//! The hostile-file suite (issue 15): files an attacker or a broken scanner could send, each fed to
//! the part of facteur that meets it in production — the sandboxed reader (a `facteur` child, and
//! `facteur-ocr` for images) with its default limits, the mail parser with its zip budget, intake
//! by the real binary — and each must be refused (or cut) in bounded time and memory with a
//! reason, after which the same reader still reads a good invoice. Times and peak resident
//! memory (VmHWM of the reader process, or the whole `facteur` process) are printed as a table:
//! `scripts/hostile` runs this with the output shown. Nothing here fails on timing.

use std::io::Write as _;
use std::time::Instant;

use facteur::read::sandbox::{SandboxConfig, SandboxPool};
use facteur::read::{ReadError, ReadOptions};
use lopdf::{dictionary, Document, Object, Stream};

use crate::helpers::*;

/// One row of the printed table.
struct Row {
    file: String,
    outcome: String,
    secs: f64,
    peak_mib: Option<f64>,
}

fn print_table(rows: &[Row]) {
    let mut out = String::from(
        "\nhostile file                                   | outcome | s | peak RSS MiB\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{:<46} | {} | {:.2} | {}\n",
            r.file,
            r.outcome,
            r.secs,
            r.peak_mib.map_or("-".into(), |m| format!("{m:.0}"))
        ));
    }
    println!("{out}");
}

fn pool() -> SandboxPool {
    SandboxPool::new(SandboxConfig {
        workers: 1,
        program: Some(env!("CARGO_BIN_EXE_facteur").into()),
        ocr_program: Some(env!("CARGO_BIN_EXE_facteur-ocr").into()),
        ..SandboxConfig::default()
    })
}

/// Peak resident memory of a live process, MiB.
fn vm_hwm(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Reads `bytes` in a fresh pool; the reader's peak memory is read while it waits, alive.
async fn read_hostile(file: &str, bytes: Vec<u8>) -> (Row, Result<String, ReadError>) {
    let pool = pool();
    let started = Instant::now();
    let result = pool
        .read(bytes, ReadOptions::default())
        .await
        .map(|x| format!("read ({} warnings)", x.warnings.len()));
    let secs = started.elapsed().as_secs_f64();
    let peak_mib = pool
        .idle_pids()
        .iter()
        .filter_map(|p| vm_hwm(*p))
        .reduce(f64::max);
    // The worker goes on: the same pool reads a good invoice afterwards.
    let good = std::fs::read(demo("facture-papeterie-dupont.pdf")).unwrap();
    let after = pool.read(good, ReadOptions::default()).await;
    assert!(after.is_ok(), "after {file}, a good invoice: {after:?}");
    pool.shutdown().await;
    let outcome = match &result {
        Ok(s) => s.clone(),
        Err(e) => format!("refused: {e}"),
    };
    (
        Row {
            file: file.into(),
            outcome: shorten(&outcome),
            secs,
            peak_mib,
        },
        result,
    )
}

fn demo(name: &str) -> String {
    format!("{}/fixtures/demo/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn shorten(s: &str) -> String {
    let s: String = s.chars().take(110).collect();
    s.replace('\n', " ")
}

/// A PDF whose one page draws `content` (compressed when `flate`).
fn pdf_with_content(content: Vec<u8>, flate: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut dict = dictionary! {};
    if flate {
        dict.set("Filter", "FlateDecode");
    }
    let content_id = doc.add_object(Stream::new(dict, content));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// `mib` MiB of text-drawing operators, deflated (a flate bomb: ~1000:1).
fn flate_bomb(mib: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    z.write_all(b"BT /F1 12 Tf 72 700 Td (bomb) Tj ET\n")
        .unwrap();
    for _ in 0..mib {
        z.write_all(&chunk).unwrap();
    }
    pdf_with_content(z.finish().unwrap(), true)
}

/// `pages` pages sharing one small content stream.
fn many_pages(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 12 Tf 72 700 Td (page) Tj ET".to_vec(),
    ));
    let kids: Vec<Object> = (0..pages)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            })
            .into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Form XObjects each drawing the next, `levels` deep.
fn nested_forms(levels: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut inner = doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form",
        "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()] },
        b"BT /F1 12 Tf 72 700 Td (deep) Tj ET".to_vec(),
    ));
    for _ in 0..levels {
        inner = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "X" => inner } } },
            b"/X Do".to_vec(),
        ));
    }
    let content = doc.add_object(Stream::new(dictionary! {}, b"/X Do".to_vec()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        "Resources" => dictionary! { "XObject" => dictionary! { "X" => inner } },
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// An object nested `depth` arrays deep, in an otherwise valid PDF (recursive parsers overflow
/// their stack on this).
fn deep_arrays(depth: usize) -> Vec<u8> {
    let mut pdf = pdf_with_content(b"BT ET".to_vec(), false);
    let tail = pdf.split_off(pdf.len() - 6); // "%%EOF\n" stays at the end
    let mut obj = b"999 0 obj\n".to_vec();
    obj.extend(std::iter::repeat_n(b'[', depth));
    obj.extend(std::iter::repeat_n(b']', depth));
    obj.extend(b"\nendobj\n");
    pdf.extend(obj);
    pdf.extend(tail);
    pdf
}

/// A real grayscale PNG of `w`×`h` pixels (all white: it compresses to little).
fn big_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&lol9;</rsm:CrossIndustryInvoice>"#;

const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&xxe;</rsm:CrossIndustryInvoice>"#;

/// Each hostile file through the sandboxed reader: refused or cut, with a reason, within the
/// reader's limits; the reader reads a good invoice afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_are_refused_in_bounded_time_and_memory() {
    let nested_xml = format!(
        "<?xml version=\"1.0\"?>{}{}",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        // (file, bytes, may it be read, cut at a limit, rather than refused?)
        (
            "PDF flate bomb: 256 MiB in one stream",
            flate_bomb(256),
            true,
        ),
        ("PDF of 50,000 pages", many_pages(50_000), false),
        (
            "PDF with forms nested 2,000 deep",
            nested_forms(2_000),
            true,
        ),
        (
            "PDF with arrays nested 100,000 deep",
            deep_arrays(100_000),
            true,
        ),
        (
            "PNG of 100 megapixels (10,000 x 10,000)",
            big_png(10_000, 10_000),
            false,
        ),
        (
            "XML billion laughs",
            BILLION_LAUGHS.as_bytes().to_vec(),
            false,
        ),
        ("XML external entity (XXE)", XXE.as_bytes().to_vec(), false),
        (
            "XML nested 100,000 elements deep",
            nested_xml.into_bytes(),
            false,
        ),
    ];
    let mut rows = Vec::new();
    for (file, bytes, may_read) in cases {
        let size = bytes.len();
        let (mut row, result) = read_hostile(file, bytes).await;
        row.file = format!("{file} ({} KiB)", size / 1024);
        match &result {
            Err(e) => assert!(
                !e.to_string().trim().is_empty() && !matches!(e, ReadError::Timeout(_)),
                "{file}: {e:?}"
            ),
            Ok(_) => assert!(may_read, "{file} was read: {}", row.outcome),
        }
        if let Err(ReadError::Crashed(why)) = &result {
            // A crash is contained by the sandbox, but the reason must say what happened.
            assert!(why.len() > 10, "{file}: {why}");
        }
        rows.push(row);
    }
    print_table(&rows);
}

/// A mail carrying a zip whose one entry inflates to 1 GiB: the message's zip budget (100 MiB
/// uncompressed by default) stops it while reading, whatever the header claims.
#[test]
fn a_zip_bomb_in_a_mail_stops_at_the_budget() {
    use facteur::sources::imap::mime::{extract, MimeOptions, Verdict};
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file::<_, ()>(
        "facture.pdf",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )
    .unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        zip.write_all(&chunk).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    assert!(zip.len() < 4 << 20, "{} bytes", zip.len());
    let b64 = base64_lines(&zip);
    let mail = format!(
        "From: a@example.test\r\nTo: ap@example.test\r\nSubject: bomb\r\nMessage-ID: <bomb@x>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
         Content-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/zip\r\n\
         Content-Disposition: attachment; filename=\"invoices.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}--B--\r\n"
    );
    let intake = facteur::stages::intake::IntakeSettings::default();
    let opts = MimeOptions {
        inline: false,
        xml_body: false,
        filename: None,
        intake: &intake,
        zip: Default::default(),
    };
    let started = Instant::now();
    let extracted = extract(mail.as_bytes(), &opts).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let refused: Vec<String> = extracted
        .pieces
        .iter()
        .filter_map(|p| match &p.verdict {
            Verdict::Refused(why) => Some(why.clone()),
            _ => None,
        })
        .collect();
    assert!(
        refused
            .iter()
            .any(|w| w.contains("MiB") || w.contains("limit")),
        "{refused:?}"
    );
    assert!(
        !extracted
            .pieces
            .iter()
            .any(|p| matches!(p.verdict, Verdict::Take(_))),
        "nothing of the bomb is taken"
    );
    print_table(&[Row {
        file: format!("mail with a zip bomb: 1 GiB in {} KiB", zip.len() / 1024),
        outcome: shorten(&format!("refused: {}", refused.join("; "))),
        secs,
        peak_mib: None,
    }]);
}

fn base64_lines(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in bytes.chunks(3).enumerate() {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

/// A 1 GiB file (sparse) given to the real binary: intake refuses it by its size, before reading
/// it; the process's own peak memory (from wait4) shows it was never loaded.
#[test]
fn a_one_gib_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.pdf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let config = dir.path().join("facteur.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.path().join("facteur.db").display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let child = std::process::Command::new(facteur_bin())
        .arg("--config")
        .arg(&config)
        .arg("ingest")
        .arg(&big)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let secs = started.elapsed().as_secs_f64();
    let mut said = String::new();
    let mut child = child;
    if let Some(mut o) = child.stdout.take() {
        std::io::Read::read_to_string(&mut o, &mut said).unwrap();
    }
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut said).unwrap();
    }
    assert!(
        said.contains("too large") || said.contains("larger"),
        "{said}"
    );
    let peak_mib = usage.ru_maxrss as f64 / 1024.0;
    assert!(peak_mib < 512.0, "the file was loaded: {peak_mib} MiB");
    print_table(&[Row {
        file: "1 GiB file dropped for ingest".into(),
        outcome: shorten(
            said.lines()
                .find(|l| l.contains("too large") || l.contains("larger"))
                .unwrap_or("")
                .trim(),
        ),
        secs,
        peak_mib: Some(peak_mib),
    }]);
}

/// A small deterministic generator (xorshift), so a failing mutation can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Truncated and mutated files of every kind the reader takes (text PDF, Factur-X PDF, CII and
/// UBL XML, PNG, JPEG, TIFF): each is read or refused with a reason; none hangs; the reader goes
/// on. Crashes (a parser's panic, contained by the sandbox) are counted and must be none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_mutated_files_of_every_kind_fail_alone() {
    let seed: u64 = std::env::var("FACTEUR_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    println!("seed {seed} (FACTEUR_HOSTILE_SEED replays it)");
    let scans = format!("{}/fixtures/scans", env!("CARGO_MANIFEST_DIR"));
    let originals: Vec<(String, usize)> = vec![
        (demo("facture-papeterie-dupont.pdf"), 12),
        (demo("facturx-le-fournisseur.pdf"), 12),
        (demo("ubl-example1.xml"), 12),
        (
            corpus()
                .join("en16931-examples/cii__examples__CII_business_example_01.xml")
                .display()
                .to_string(),
            12,
        ),
        // Images that decode are OCRed (about a second a page): fewer of them.
        (format!("{scans}/rotated-netpresse.jpg"), 3),
        (format!("{scans}/multipage-free.tif"), 3),
        (
            corpus()
                .join("invoice2data/AmazonWebServices.png")
                .display()
                .to_string(),
            3,
        ),
    ];
    let pool = pool();
    let mut rng = Rng(seed);
    let mut rows = Vec::new();
    let mut crashes = Vec::new();
    for (path, mutations) in &originals {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut variants: Vec<Vec<u8>> = [1, 3, 5, 7]
            .iter()
            .map(|k| bytes[..bytes.len() * k / 8].to_vec())
            .collect();
        for _ in 0..*mutations {
            let mut m = bytes.clone();
            for _ in 0..1 + rng.below(16) {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            variants.push(m);
        }
        let (mut read, mut refused, mut worst) = (0, 0, 0.0f64);
        for v in variants {
            let started = Instant::now();
            match pool.read(v, ReadOptions::default()).await {
                Ok(_) => read += 1,
                Err(ReadError::Crashed(why)) => crashes.push(format!("{path}: {why}")),
                Err(ReadError::Timeout(why)) => panic!("{path}: a variant hung: {why}"),
                Err(e) => {
                    assert!(!e.to_string().trim().is_empty());
                    refused += 1
                }
            }
            worst = worst.max(started.elapsed().as_secs_f64());
        }
        let name = std::path::Path::new(path)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        rows.push(Row {
            file: format!("{name}: 4 truncations, {mutations} mutations"),
            outcome: format!("{read} read, {refused} refused"),
            secs: worst,
            peak_mib: pool
                .idle_pids()
                .iter()
                .filter_map(|p| vm_hwm(*p))
                .reduce(f64::max),
        });
    }
    let good = pool
        .read(
            std::fs::read(demo("facture-papeterie-dupont.pdf")).unwrap(),
            ReadOptions::default(),
        )
        .await;
    assert!(good.is_ok(), "{good:?}");
    pool.shutdown().await;
    print_table(&rows);
    assert!(crashes.is_empty(), "{crashes:#?}");
}
