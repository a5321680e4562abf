//! Zip attachments, unpacked within limits: entries per archive, uncompressed bytes per archive
//! (counted while reading, not trusted from the header: zip bombs lie), and nesting depth. Each
//! entry gets the same verdict as an attachment; a broken archive is refused as a whole.

use std::io::Read;

use super::mime::{judge, MimeOptions, Piece, Verdict};

#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    pub max_entries: usize,
    pub max_total_bytes: u64,
    pub max_depth: u32,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 100,
            max_total_bytes: 200 * 1024 * 1024,
            max_depth: 2,
        }
    }
}

fn is_wanted_entry(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".pdf", ".xml", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".zip",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

/// Unpacks `bytes` (the archive `name` at MIME `path`) into `out`.
pub fn unpack(
    bytes: &[u8],
    path: &str,
    name: &str,
    opts: &MimeOptions<'_>,
    depth: u32,
    out: &mut Vec<Piece>,
) {
    let refuse = |out: &mut Vec<Piece>, why: String| {
        out.push(Piece {
            path: path.to_string(),
            name: name.to_string(),
            size: bytes.len() as u64,
            verdict: Verdict::Refused(why),
        })
    };
    if depth > opts.zip.max_depth {
        return refuse(
            out,
            format!(
                "zip nested deeper than {} levels (zip_max_depth)",
                opts.zip.max_depth
            ),
        );
    }
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return refuse(out, format!("unreadable zip archive: {e}")),
    };
    if archive.len() > opts.zip.max_entries {
        return refuse(
            out,
            format!(
                "zip has {} entries, over the limit of {} (zip_max_entries)",
                archive.len(),
                opts.zip.max_entries
            ),
        );
    }
    let per_entry = opts.intake.max_document_bytes();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => return refuse(out, format!("unreadable zip entry {i}: {e}")),
        };
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_string();
        let short = entry_name
            .rsplit('/')
            .next()
            .unwrap_or(&entry_name)
            .to_string();
        let piece_path = format!("{path}/{entry_name}");
        if !is_wanted_entry(&short) || short.starts_with('.') {
            out.push(Piece {
                path: piece_path,
                name: short,
                size: entry.size(),
                verdict: Verdict::Ignored("zip entry of a kind facteur does not read".into()),
            });
            continue;
        }
        if let Some(re) = opts.filename {
            if !re.is_match(&short) {
                out.push(Piece {
                    path: piece_path,
                    name: short,
                    size: entry.size(),
                    verdict: Verdict::Ignored(format!(
                        "file name does not match the folder's filename rule '{re}'"
                    )),
                });
                continue;
            }
        }
        // Read at most one byte past what is allowed, whatever the header claims.
        let budget = per_entry.min(opts.zip.max_total_bytes.saturating_sub(total));
        let mut data = Vec::new();
        if let Err(e) = (&mut entry).take(budget + 1).read_to_end(&mut data) {
            out.push(Piece {
                path: piece_path,
                name: short,
                size: entry.size(),
                verdict: Verdict::Refused(format!("unreadable zip entry: {e}")),
            });
            continue;
        }
        total += data.len() as u64;
        if data.len() as u64 > budget {
            let why = if budget < per_entry {
                format!(
                    "zip expands past {} MiB in total (zip_max_total_mb)",
                    opts.zip.max_total_bytes / 1_048_576
                )
            } else {
                format!(
                    "zip entry is over the {} MiB limit (intake.max_document_mb)",
                    opts.intake.max_document_mb
                )
            };
            out.push(Piece {
                path: piece_path,
                name: short,
                size: data.len() as u64,
                verdict: Verdict::Refused(why),
            });
            if budget < per_entry {
                return;
            }
            continue;
        }
        if short.to_ascii_lowercase().ends_with(".zip") {
            unpack(&data, &piece_path, &short, opts, depth + 1, out);
            continue;
        }
        let size = data.len() as u64;
        out.push(Piece {
            path: piece_path,
            name: short,
            size,
            verdict: judge(data, opts.intake),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IntakeSettings;
    use std::io::Write;

    fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (n, b) in entries {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn run(bytes: &[u8], limits: ZipLimits) -> Vec<Piece> {
        let intake = IntakeSettings { max_document_mb: 1 };
        let opts = MimeOptions {
            inline: false,
            xml_body: true,
            filename: None,
            intake: &intake,
            zip: limits,
        };
        let mut out = Vec::new();
        unpack(bytes, "2", "a.zip", &opts, 1, &mut out);
        out
    }

    #[test]
    fn unpacks_nested_and_keeps_limits() {
        let inner = make_zip(&[("b.pdf", b"%PDF-1.4 b")]);
        let outer = make_zip(&[
            ("a.pdf", b"%PDF-1.4 a"),
            ("readme.txt", b"hi"),
            ("in.zip", &inner),
        ]);
        let got = run(&outer, ZipLimits::default());
        let taken: Vec<_> = got
            .iter()
            .filter(|p| matches!(p.verdict, Verdict::Take(_)))
            .map(|p| p.path.as_str())
            .collect();
        assert_eq!(taken, ["2/a.pdf", "2/in.zip/b.pdf"]);
        let shallow = ZipLimits {
            max_depth: 1,
            ..ZipLimits::default()
        };
        let got = run(&outer, shallow);
        assert!(got
            .iter()
            .any(|p| matches!(&p.verdict, Verdict::Refused(r) if r.contains("nested"))));
        let few = ZipLimits {
            max_entries: 2,
            ..ZipLimits::default()
        };
        assert!(
            matches!(&run(&outer, few)[0].verdict, Verdict::Refused(r) if r.contains("entries"))
        );
    }

    #[test]
    fn a_bomb_stops_at_the_budget() {
        let big = vec![b'%'; 3 * 1024 * 1024];
        let z = make_zip(&[("big.pdf", &big)]);
        let got = run(&z, ZipLimits::default());
        assert!(matches!(&got[0].verdict, Verdict::Refused(r) if r.contains("max_document_mb")));
        assert!(
            matches!(&run(b"PK\x03\x04junk", ZipLimits::default())[0].verdict, Verdict::Refused(r) if r.contains("unreadable"))
        );
    }
}
