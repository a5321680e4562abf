//! The files facteur reads from spreadsheets (the bank statement CSV, the opening trial
//! balance): UTF-8 (a BOM is skipped), `;`-separated, a header line of known names (compared
//! trimmed and case-blind), blank lines ignored, every other line with as many fields as the
//! header. Line numbers are the file's, CRLF or LF.

use csv::StringRecord;

/// The rows after the header, each with its line number; or the line that is wrong and why.
pub fn rows(
    bytes: &[u8],
    header: &[&str],
    max_rows: usize,
) -> Result<Vec<(u64, StringRecord)>, (u64, String)> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The csv reader numbers lines by LF: CRLF files are read as LF so that line numbers hold.
    let body: Vec<u8> = body.iter().copied().filter(|&b| b != b'\r').collect();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_slice());
    let mut out = Vec::new();
    let mut header_seen = false;
    for rec in r.records() {
        let rec = rec.map_err(|e| (e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if !header_seen {
            let got: Vec<String> = rec.iter().map(|f| f.trim().to_lowercase()).collect();
            if got != header {
                return Err((
                    line,
                    format!(
                        "the first line must be the header `{}`, not `{}`",
                        header.join(";"),
                        got.join(";")
                    ),
                ));
            }
            header_seen = true;
            continue;
        }
        if out.len() >= max_rows {
            return Err((line, format!("more than {max_rows} lines: split the file")));
        }
        if rec.len() != header.len() {
            return Err((
                line,
                format!(
                    "{} fields; a line has {}: {}",
                    rec.len(),
                    header.len(),
                    header.join(";")
                ),
            ));
        }
        out.push((line, rec));
    }
    if !header_seen {
        return Err((
            1,
            format!("empty file: expected the header `{}`", header.join(";")),
        ));
    }
    Ok(out)
}
