//! The window envelope: a return-address line names the sender, the address block under it the
//! addressee.
//!
//! Letters made for window envelopes (DIN 5008 and its kin) print the sender's address as one
//! small line just above the addressee's ("Kraxi GmbH · Flugzeugallee 17 · 12345 Papierfeld",
//! "Alphabet, Lilienthalallee 26, 80786 München"), so that it shows through the window. The line
//! is pieces joined by one separator, one of them a postcode and town; the block under it, in
//! the same column, starts with the addressee's name and reaches a postcode line within a few
//! lines. Both are needed: a letterhead printed as one line over a heading and a form (no
//! postcode under it) is not an envelope, and leaves the names to the other rules.

use super::labels::Lexicon;
use super::names::clean_name;
use super::text::{normalize, TLine};

/// Separators between the pieces of a return-address line, tried in this order; one kind is used
/// per line.
const PIECE_SEPARATORS: &[&str] = &[" · ", " ● ", " • ", " | ", " – ", " - ", ", "];

/// How far under the return-address line the addressee's name may start, in points (the window
/// leaves room for a postal endorsement line).
const MAX_DROP: f32 = 100.0;

/// How far the addressee's block may start left or right of the return address, in points.
const ALIGN: f32 = 60.0;

/// Lines of the addressee's block, its name included, within which a postcode line must follow.
const BLOCK_LINES: usize = 6;

/// The sender named by a return-address line and the addressee named under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub sender: String,
    pub addressee: String,
}

/// A postcode and town, optionally after a country letter ("12345 Papierfeld", "D-80786
/// München", "1010 Wien").
fn is_postcode_town(s: &str) -> bool {
    let s = s.trim();
    let s = match s.split_once('-') {
        Some((c, rest)) if c.len() <= 2 && c.chars().all(|c| c.is_ascii_uppercase()) => rest,
        _ => s,
    };
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    (4..=5).contains(&digits)
        && s[digits..].starts_with(' ')
        && s[digits..].trim_start().starts_with(char::is_alphabetic)
}

/// A document title or a label of the lexicon ("GUTSCHRIFT", "Rechnungsempfänger"), not a name.
fn is_heading(name: &str) -> bool {
    let n = normalize(name);
    let n = n.trim_matches(|c: char| !c.is_alphanumeric());
    let lex = Lexicon::embedded();
    lex.doc_type
        .invoice
        .iter()
        .chain(&lex.doc_type.credit_note)
        .any(|w| n == w.as_str())
        || lex.labels.iter().any(|l| {
            let p: String = l.phrase.iter().collect();
            n == p
        })
}

/// The sender of a return-address segment: its first piece, when the segment has at least three
/// pieces and one of the others is a postcode and town.
fn sender_of(segment: &str) -> Option<String> {
    PIECE_SEPARATORS.iter().find_map(|sep| {
        let pieces: Vec<&str> = segment.split(sep).map(str::trim).collect();
        if pieces.len() < 3 || !pieces[1..].iter().any(|p| is_postcode_town(p)) {
            return None;
        }
        let first = pieces[0];
        // A name, not a street or a number: no digit in the sender's piece.
        if first.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        clean_name(first).filter(|n| n == first)
    })
}

/// The first return-address line of page 1 with an addressee block under it.
pub fn find(lines: &[TLine]) -> Option<Envelope> {
    for (i, l) in lines.iter().enumerate() {
        if l.page != 1 || l.bbox.y0 > 0.5 * l.page_height {
            continue;
        }
        let mut at = 0usize;
        for seg in l.raw.split("  ") {
            let start = at;
            at += seg.chars().count() + 2;
            let Some(sender) = sender_of(seg.trim()) else {
                continue;
            };
            let Some(b) = l.span_box(start, start + seg.chars().count()) else {
                continue;
            };
            if let Some(addressee) = addressee_under(&lines[i + 1..], b.x0, l.bbox.y1) {
                if normalize(&addressee) != normalize(&sender) {
                    return Some(Envelope { sender, addressee });
                }
            }
        }
    }
    None
}

/// The first segment under a return-address segment starting at `x0`, when it is a name (not a
/// heading such as the document's title) and a postcode line follows it in the same column
/// within `BLOCK_LINES`.
fn addressee_under(below: &[TLine], x0: f32, bottom: f32) -> Option<String> {
    let mut column = below
        .iter()
        .take_while(|l| l.page == below.first().map_or(0, |f| f.page))
        .filter_map(|l| {
            let mut at = 0usize;
            l.raw.split("  ").find_map(|seg| {
                let start = at;
                at += seg.chars().count() + 2;
                let b = l.span_box(start, start + seg.chars().count())?;
                // The addressee's block is aligned on the return address, give or take an
                // indent; text further right is the other column (dates, numbers, contacts).
                ((b.x0 - x0).abs() <= ALIGN).then(|| (b.y0, seg.trim().to_string()))
            })
        });
    let (y0, first) = column.next()?;
    if y0 - bottom > MAX_DROP {
        return None;
    }
    let name = clean_name(&first).filter(|n| *n == first && !is_heading(n))?;
    column
        .take(BLOCK_LINES - 1)
        .any(|(_, seg)| is_postcode_town(&seg))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::fields::text::lines_of;
    use crate::read::layout::{BBox, Page, Word};

    /// A page from rows of (x, y, text): each row's words set 5 points per character.
    fn page(rows: &[(f32, f32, &str)]) -> Vec<TLine> {
        let mut words = Vec::new();
        for (x, y, text) in rows {
            let mut x = *x;
            for t in text.split(' ') {
                let w = 5.0 * t.chars().count() as f32;
                words.push(Word {
                    text: t.into(),
                    bbox: BBox {
                        x0: x,
                        y0: *y,
                        x1: x + w,
                        y1: y + 9.0,
                    },
                    confidence: 1.0,
                });
                x += w + 3.0;
            }
        }
        lines_of(&[Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words,
        }])
    }

    #[test]
    fn a_return_address_names_sender_and_addressee() {
        let lines = page(&[
            (300.0, 40.0, "Kraxi GmbH"),
            (
                50.0,
                140.0,
                "Kraxi GmbH · Flugzeugallee 17 · 12345 Papierfeld",
            ),
            (400.0, 140.0, "info@kraxi.com"),
            (50.0, 164.0, "Papierflieger-Vertriebs-GmbH"),
            (50.0, 177.0, "Helga Musterfrau"),
            (50.0, 190.0, "Rabattstr. 25"),
            (50.0, 203.0, "34567 Osterhausen"),
        ]);
        assert_eq!(
            find(&lines),
            Some(Envelope {
                sender: "Kraxi GmbH".into(),
                addressee: "Papierflieger-Vertriebs-GmbH".into(),
            })
        );
        // Commas as separators, and the window's gap before the addressee.
        let lines = page(&[
            (70.0, 130.0, "Alphabet, Lilienthalallee 26, 80786 München"),
            (400.0, 170.0, "Kundennummer: 63"),
            (70.0, 182.0, "Muster GmbH"),
            (70.0, 194.0, "Musterweg 1"),
            (70.0, 206.0, "60325 Frankfurt am Main"),
        ]);
        assert_eq!(
            find(&lines).map(|e| (e.sender, e.addressee)),
            Some(("Alphabet".into(), "Muster GmbH".into()))
        );
    }

    #[test]
    fn a_one_line_letterhead_over_a_form_is_no_envelope() {
        // No postcode line under the name-like line: a heading and a form, not an address.
        let lines = page(&[
            (
                50.0,
                35.0,
                "Blanc SAS - 93 boulevard Victor Hugo - 31000 Toulouse",
            ),
            (50.0, 70.0, "Facture"),
            (50.0, 95.0, "Date 20/08/2026"),
            (50.0, 108.0, "Montant 12,00"),
        ]);
        assert_eq!(find(&lines), None);
        // The title under it and the addressee's block in the right column: no envelope either.
        let lines = page(&[
            (
                50.0,
                35.0,
                "Neumann GmbH - Lindenallee 32 - 20095 Hamburg - UID DE40 5197513",
            ),
            (50.0, 69.0, "GUTSCHRIFT"),
            (50.0, 95.0, "Gutschrift Nr. AV/2025/72033"),
            (340.0, 108.0, "Becker Verpackung AG"),
            (340.0, 121.0, "Industriestraße 100"),
            (340.0, 134.0, "10115 Berlin"),
        ]);
        assert_eq!(find(&lines), None);
        assert!(is_heading("GUTSCHRIFT"));
        // Two pieces only, or no postcode among them: not a return address.
        assert_eq!(sender_of("Kraxi GmbH · 12345 Papierfeld"), None);
        assert_eq!(
            sender_of("Kraxi GmbH · Flugzeugallee 17 · Papierfeld"),
            None
        );
        assert_eq!(
            sender_of("Bei Spiel GmbH ● Ecke 12 ● 12345 Stadthausen ● Germany").as_deref(),
            Some("Bei Spiel GmbH")
        );
        assert!(is_postcode_town("D-80786 München"));
        assert!(!is_postcode_town("123 Main Street"));
    }
}
