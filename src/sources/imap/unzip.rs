//! Zip attachments, unpacked within one budget per message: every archive of a message (nested
//! ones too) draws entries and uncompressed bytes from the same `Budget`, so a mail of 100 small
//! zips cannot ask for 100 times the limit. Bytes are counted while reading, never trusted from
//! the header (zip bombs lie), and reading stops one byte past what is left, so at most the
//! budget is ever held. Each entry gets the same verdict as an attachment; a broken archive is
//! refused as a whole.

use std::io::Read;

use super::mime::{judge, MimeOptions, Piece, Verdict};

/// Limits of one message's zip contents (`zip_max_*` in the source's config).
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Entries, over all the message's archives.
    pub max_entries: usize,
    /// Uncompressed bytes read out of all the message's archives together.
    pub max_total_bytes: u64,
    pub max_depth: u32,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 100,
            max_total_bytes: 100 * 1024 * 1024,
            max_depth: 2,
        }
    }
}

/// What one message may still take out of its archives.
#[derive(Debug)]
pub struct Budget {
    limits: ZipLimits,
    entries: usize,
    expanded: u64,
}

impl Budget {
    pub fn new(limits: ZipLimits) -> Budget {
        Budget {
            limits,
            entries: 0,
            expanded: 0,
        }
    }

    fn bytes_left(&self) -> u64 {
        self.limits.max_total_bytes.saturating_sub(self.expanded)
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

/// Unpacks `bytes` (the archive `name` at MIME `path`) into `out`, drawing on `budget`.
pub fn unpack(
    bytes: &[u8],
    path: &str,
    name: &str,
    opts: &MimeOptions<'_>,
    budget: &mut Budget,
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
    let limits = budget.limits;
    if depth > limits.max_depth {
        return refuse(
            out,
            format!(
                "zip nested deeper than {} levels (zip_max_depth)",
                limits.max_depth
            ),
        );
    }
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return refuse(out, format!("unreadable zip archive: {e}")),
    };
    budget.entries = budget.entries.saturating_add(archive.len());
    if budget.entries > limits.max_entries {
        return refuse(
            out,
            format!(
                "the message's zips hold {} entries or more, over the limit of {} per message \
                 (zip_max_entries)",
                budget.entries, limits.max_entries
            ),
        );
    }
    for i in 0..archive.len() {
        if out.len() > super::mime::MAX_PARTS {
            return; // extract() records the cut
        }
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => return refuse(out, format!("unreadable zip entry {i}: {e}")),
        };
        if entry.is_dir() {
            continue;
        }
        let full = entry.name().to_string();
        let short = full.rsplit('/').next().unwrap_or(&full).to_string();
        let piece_path = format!("{path}/{full}");
        let ignored = if !is_wanted_entry(&short) || short.starts_with('.') {
            Some("zip entry of a kind facteur does not read".to_string())
        } else {
            opts.filename
                .filter(|re| !re.is_match(&short))
                .map(|re| format!("file name does not match the folder's filename rule '{re}'"))
        };
        if let Some(why) = ignored {
            out.push(Piece {
                path: piece_path,
                name: short,
                size: entry.size(),
                verdict: Verdict::Ignored(why),
            });
            continue;
        }
        let data = match read_entry(entry, opts, budget) {
            Ok(data) => data,
            Err((size, why)) => {
                out.push(Piece {
                    path: piece_path,
                    name: short,
                    size,
                    verdict: Verdict::Refused(why),
                });
                continue;
            }
        };
        if short.to_ascii_lowercase().ends_with(".zip") {
            unpack(&data, &piece_path, &short, opts, budget, depth + 1, out);
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

/// Reads one entry, at most one byte past what the entry and the message may still take; the
/// bytes read count against the message either way. `Err((bytes read, why))` when refused.
fn read_entry(
    entry: zip::read::ZipFile<'_, std::io::Cursor<&[u8]>>,
    opts: &MimeOptions<'_>,
    budget: &mut Budget,
) -> Result<Vec<u8>, (u64, String)> {
    let per_entry = opts.intake.max_document_bytes();
    let left = budget.bytes_left();
    let allowed = per_entry.min(left);
    let claimed = entry.size();
    if claimed > allowed {
        // The header may lie smaller (caught below, by counting), never usefully bigger.
        return Err((
            claimed,
            over_budget(claimed, allowed, per_entry, opts, budget),
        ));
    }
    let mut data = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0));
    let read = entry.take(allowed.saturating_add(1)).read_to_end(&mut data);
    budget.expanded = budget.expanded.saturating_add(data.len() as u64);
    if let Err(e) = read {
        return Err((claimed, format!("unreadable zip entry: {e}")));
    }
    let got = data.len() as u64;
    if got <= allowed {
        return Ok(data);
    }
    Err((got, over_budget(got, allowed, per_entry, opts, budget)))
}

fn over_budget(
    size: u64,
    allowed: u64,
    per_entry: u64,
    opts: &MimeOptions<'_>,
    budget: &Budget,
) -> String {
    if allowed < per_entry {
        format!(
            "the message's zips expand past {} MiB in total (zip_max_total_mb, per message); \
             not taken",
            budget.limits.max_total_bytes / 1_048_576
        )
    } else {
        format!(
            "zip entry of {:.1} MiB or more is over the {} MiB limit (intake.max_document_mb)",
            size as f64 / 1_048_576.0,
            opts.intake.max_document_mb
        )
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::intake::IntakeSettings;
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
        unpack(
            bytes,
            "2",
            "a.zip",
            &opts,
            &mut Budget::new(limits),
            1,
            &mut out,
        );
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

    #[test]
    fn one_budget_for_all_the_archives_of_a_message() {
        let intake = IntakeSettings { max_document_mb: 1 };
        let opts = MimeOptions {
            inline: false,
            xml_body: true,
            filename: None,
            intake: &intake,
            zip: ZipLimits::default(),
        };
        let mut pdf = b"%PDF-1.4 ".to_vec();
        pdf.resize(600 * 1024, b'0');
        let z = make_zip(&[("f.pdf", &pdf)]);
        let limits = ZipLimits {
            max_total_bytes: 1024 * 1024,
            ..ZipLimits::default()
        };
        let mut budget = Budget::new(limits);
        let mut out = Vec::new();
        for n in ["1", "2", "3"] {
            unpack(&z, n, "a.zip", &opts, &mut budget, 1, &mut out);
        }
        let verdicts: Vec<_> = out
            .iter()
            .map(|p| match &p.verdict {
                Verdict::Take(_) => "take".to_string(),
                Verdict::Refused(r) => r.clone(),
                Verdict::Ignored(r) => r.clone(),
            })
            .collect();
        assert_eq!(verdicts[0], "take");
        assert!(verdicts[1].contains("zip_max_total_mb"), "{verdicts:?}");
        assert!(verdicts[2].contains("zip_max_total_mb"), "{verdicts:?}");
        // Never more than the budget (and one byte) was read.
        assert!(budget.expanded <= 1024 * 1024 + 1, "{}", budget.expanded);
    }
}
