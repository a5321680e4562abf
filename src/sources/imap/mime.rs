//! What to take from a message (mail-parser 0.11): PDF, XML and image attachments, inline parts when
//! asked, zip attachments unpacked within limits, forwarded messages opened, and an e-invoice sent as
//! the XML body. Every part gets a verdict — take, refuse (with the reason), or ignore (with the
//! reason) — so nothing leaves without a trace.
//!
//! A message gets one budget, whatever its shape: at most `MAX_PARTS` parts get a verdict (each
//! becomes a row written in the message's one transaction: 100,000 parts would hold the store's
//! write lock for minutes), and its zips share one `unzip::Budget`.
//!
//! Sources never parse documents: the only look at the bytes is intake's own checks (size, and the
//! first bytes must be a kind facteur reads), done here so a refusal is recorded with its message.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use regex::Regex;

use super::unzip::{self, Budget, ZipLimits};
use crate::stages::intake;
use crate::stages::intake::IntakeSettings;
use crate::store::mail::MessageMeta;

/// Most parts (attachments, zip entries, XML bodies) given a verdict in one message; the rest of
/// a message past it is refused as a whole, with this reason.
pub const MAX_PARTS: usize = 500;

/// Per-folder choices for one message.
#[derive(Debug, Clone)]
pub struct MimeOptions<'a> {
    pub inline: bool,
    pub xml_body: bool,
    pub filename: Option<&'a Regex>,
    pub intake: &'a IntakeSettings,
    pub zip: ZipLimits,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Take(Vec<u8>),
    Refused(String),
    Ignored(String),
}

#[derive(Debug, Clone)]
pub struct Piece {
    /// MIME path: attachment index, `.`-nested for forwarded messages, `/entry` inside zips.
    pub path: String,
    pub name: String,
    pub size: u64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone)]
pub struct Extracted {
    pub meta: MessageMeta,
    pub to: Vec<String>,
    pub pieces: Vec<Piece>,
}

#[derive(Debug, thiserror::Error)]
pub enum MimeError {
    #[error("the message ({len} bytes) is not a MIME message mail-parser can read")]
    Unparseable { len: usize },
}

/// Kinds of attachment worth taking, by name or content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Document,
    Zip,
}

fn wanted(name: &str, ctype: &str) -> Option<Wanted> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let ctype = ctype.to_ascii_lowercase();
    if ext == "zip" || ctype == "application/zip" || ctype == "application/x-zip-compressed" {
        return Some(Wanted::Zip);
    }
    let by_ext = matches!(
        ext.as_str(),
        "pdf" | "xml" | "png" | "jpg" | "jpeg" | "tif" | "tiff"
    );
    let by_type = ctype == "application/pdf"
        || ctype.ends_with("/xml")
        || ctype.ends_with("+xml")
        || matches!(
            ctype.as_str(),
            "image/png" | "image/jpeg" | "image/jpg" | "image/tiff"
        );
    (by_ext || by_type).then_some(Wanted::Document)
}

/// The verdict on bytes that should be a document: intake's checks, before the store sees them.
pub fn judge(bytes: Vec<u8>, settings: &IntakeSettings) -> Verdict {
    if let Err(why) = intake::check_size(bytes.len() as u64, settings) {
        return Verdict::Refused(why);
    }
    if let Err(why) = intake::check_type(&bytes) {
        return Verdict::Refused(why);
    }
    Verdict::Take(bytes)
}

fn address_list(a: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

fn meta_of_message(msg: &Message<'_>) -> MessageMeta {
    MessageMeta {
        message_id: msg.message_id().map(str::to_string),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        subject: msg.subject().map(str::to_string),
    }
}

/// The headers kept with a record, read without the body (cheap, whatever the body holds).
pub fn meta(raw: &[u8]) -> MessageMeta {
    MessageParser::default()
        .parse_headers(raw)
        .map(|m| meta_of_message(&m))
        .unwrap_or_default()
}

/// Reads a message and decides on each of its parts.
pub fn extract(raw: &[u8], opts: &MimeOptions<'_>) -> Result<Extracted, MimeError> {
    let msg = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(MimeError::Unparseable { len: raw.len() })?;
    let meta = meta_of_message(&msg);
    let to = address_list(msg.to());
    let mut pieces = Vec::new();
    let mut budget = Budget::new(opts.zip);
    walk(&msg, "", 0, opts, &mut budget, &mut pieces);
    if pieces.len() > MAX_PARTS {
        pieces.truncate(MAX_PARTS);
        pieces.push(Piece {
            path: "rest".into(),
            name: "(the rest of the message)".into(),
            size: 0,
            verdict: Verdict::Refused(format!(
                "the message has more than {MAX_PARTS} parts (attachments and zip entries); \
                 the rest was not read"
            )),
        });
    }
    Ok(Extracted { meta, to, pieces })
}

fn walk(
    msg: &Message<'_>,
    prefix: &str,
    depth: u32,
    opts: &MimeOptions<'_>,
    budget: &mut Budget,
    out: &mut Vec<Piece>,
) {
    if opts.xml_body {
        for (i, part) in msg.text_bodies().enumerate() {
            let text = part.contents();
            let head = String::from_utf8_lossy(&text[..text.len().min(4096)]);
            let trimmed = head.trim_start_matches('\u{feff}').trim_start();
            let is_xml_type = part
                .content_type()
                .and_then(|c| c.subtype())
                .is_some_and(|s| s.eq_ignore_ascii_case("xml"));
            let looks_einvoice = trimmed.starts_with('<')
                && (head.contains("Invoice") || head.contains("CreditNote"));
            if is_xml_type || looks_einvoice {
                out.push(Piece {
                    path: format!("{prefix}body{}", i + 1),
                    name: "body.xml".into(),
                    size: text.len() as u64,
                    verdict: judge(text.to_vec(), opts.intake),
                });
            }
        }
    }
    for (i, part) in msg.attachments().enumerate() {
        if out.len() > MAX_PARTS {
            return;
        }
        let path = format!("{prefix}{}", i + 1);
        let ctype = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_default();
        if let PartType::Message(inner) = &part.body {
            // A forwarded invoice mail: its attachments are the invoices.
            if depth < 3 {
                walk(inner, &format!("{path}."), depth + 1, opts, budget, out);
            }
            continue;
        }
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("part-{path}"));
        let bytes = part.contents();
        let size = bytes.len() as u64;
        let piece = |verdict| Piece {
            path: path.clone(),
            name: name.clone(),
            size,
            verdict,
        };
        let inline = matches!(part.body, PartType::InlineBinary(_))
            || part.content_disposition().is_some_and(|d| d.is_inline());
        let Some(kind) = wanted(&name, &ctype) else {
            out.push(piece(Verdict::Ignored(format!(
                "not a kind facteur reads ({ctype})"
            ))));
            continue;
        };
        if inline && !opts.inline {
            out.push(piece(Verdict::Ignored(
                "inline part (folder has inline = false)".into(),
            )));
            continue;
        }
        if let Some(re) = opts.filename {
            if !re.is_match(&name) {
                out.push(piece(Verdict::Ignored(format!(
                    "file name does not match the folder's filename rule '{re}'"
                ))));
                continue;
            }
        }
        if part.is_encoding_problem {
            out.push(piece(Verdict::Refused(
                "the attachment's transfer encoding is broken".into(),
            )));
            continue;
        }
        match kind {
            Wanted::Document => out.push(piece(judge(bytes.to_vec(), opts.intake))),
            Wanted::Zip => unzip::unpack(bytes, &path, &name, opts, budget, 1, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(intake: &IntakeSettings) -> MimeOptions<'_> {
        MimeOptions {
            inline: false,
            xml_body: true,
            filename: None,
            intake,
            zip: ZipLimits::default(),
        }
    }

    const PDF: &str = "JVBERi0xLjQKJSVFT0YK"; // "%PDF-1.4\n%%EOF\n"

    #[test]
    fn french_file_names_in_both_encodings() {
        let s = IntakeSettings::default();
        let mail = format!(
            "From: Fournisseur <compta@fournisseur.fr>\r\nTo: ap@example.test\r\nSubject: =?UTF-8?Q?Facture_=C3=A9t=C3=A9?=\r\n\
             Message-ID: <a@b>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n\
             --b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename*=UTF-8''Facture%20%C3%A9t%C3%A9.pdf\r\n\r\n{PDF}\r\n\
             --b\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?Facture_=C3=A9t=C3=A9_2.pdf?=\"\r\n\
             Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?Facture_=C3=A9t=C3=A9_2.pdf?=\"\r\n\r\n{PDF}\r\n\
             --b--\r\n"
        );
        let x = extract(mail.as_bytes(), &opts(&s)).unwrap();
        assert_eq!(x.meta.from.as_deref(), Some("compta@fournisseur.fr"));
        assert_eq!(x.meta.subject.as_deref(), Some("Facture été"));
        let names: Vec<_> = x.pieces.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Facture été.pdf", "Facture été 2.pdf"]);
        assert!(x
            .pieces
            .iter()
            .all(|p| matches!(p.verdict, Verdict::Take(_))));
    }

    #[test]
    fn refuses_a_pdf_that_is_not_one_and_ignores_other_kinds() {
        let s = IntakeSettings::default();
        let mail = "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"f.pdf\"\r\n\r\n<html>no</html>\r\n\
             --b\r\nContent-Type: text/calendar\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\n\r\nBEGIN:VCALENDAR\r\n\
             --b--\r\n";
        let x = extract(mail.as_bytes(), &opts(&s)).unwrap();
        assert!(
            matches!(&x.pieces[0].verdict, Verdict::Take(_)),
            "html sniffs as XML: {:?}",
            x.pieces[0]
        );
        assert!(matches!(&x.pieces[1].verdict, Verdict::Ignored(_)));
        let bad = "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"f.pdf\"\r\n\r\nGIF89a\r\n--b--\r\n";
        let x = extract(bad.as_bytes(), &opts(&s)).unwrap();
        assert!(matches!(&x.pieces[0].verdict, Verdict::Refused(r) if r.contains("unsupported")));
    }

    #[test]
    fn takes_an_xml_body() {
        let s = IntakeSettings::default();
        let mail = "From: a@b\r\nContent-Type: text/xml\r\n\r\n<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>\r\n";
        let x = extract(mail.as_bytes(), &opts(&s)).unwrap();
        assert_eq!(x.pieces.len(), 1);
        assert!(matches!(&x.pieces[0].verdict, Verdict::Take(b) if b.starts_with(b"<?xml")));
    }

    #[test]
    fn inline_parts_only_when_asked_and_zips_are_opened() {
        use std::io::Write;
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("f1.pdf", ::zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"%PDF-1.4 one").unwrap();
        let zipped = w.finish().unwrap().into_inner();
        let b64 = |b: &[u8]| {
            use std::fmt::Write as _;
            // A small base64 encoder: facteur has no base64 crate among its dependencies.
            let t = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for c in b.chunks(3) {
                let n = (u32::from(c[0]) << 16)
                    | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                    | u32::from(*c.get(2).unwrap_or(&0));
                for k in 0..4 {
                    if k <= c.len() {
                        let _ = out.write_char(t[((n >> (18 - 6 * k)) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        };
        let png = b"\x89PNG\r\n\x1a\n0000";
        let mail = format!(
            "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
             --b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: inline; filename=\"logo.png\"\r\n\r\n{}\r\n\
             --b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"factures.zip\"\r\n\r\n{}\r\n--b--\r\n",
            b64(png),
            b64(&zipped)
        );
        let s = IntakeSettings::default();
        let x = extract(mail.as_bytes(), &opts(&s)).unwrap();
        let verdicts: Vec<_> = x
            .pieces
            .iter()
            .map(|p| (p.path.as_str(), &p.verdict))
            .collect();
        assert!(
            matches!(verdicts[0], ("1", Verdict::Ignored(r)) if r.contains("inline")),
            "{verdicts:?}"
        );
        assert!(matches!(verdicts[1], ("2/f1.pdf", Verdict::Take(b)) if b.starts_with(b"%PDF")));
        let with_inline = MimeOptions {
            inline: true,
            ..opts(&s)
        };
        let x = extract(mail.as_bytes(), &with_inline).unwrap();
        assert!(matches!(&x.pieces[0].verdict, Verdict::Take(b) if b.starts_with(b"\x89PNG")));
    }

    #[test]
    fn garbage_is_unparseable() {
        let s = IntakeSettings::default();
        assert!(extract(b"", &opts(&s)).is_err());
    }
}
