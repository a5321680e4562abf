//! Rewrites the `'` and `"` text-showing operators into the operators pdf-extract understands.
//!
//! pdf-extract 0.12 ignores `'` and `"` (PDF 32000-1 §9.4.3), so a page written with them reads as
//! empty and goes to OCR. Before pdf-extract interprets a page, its content stream is decoded with
//! lopdf (the 0.42 whose items pdf-extract re-exports), each `string '` becomes `T* string Tj` and each
//! `aw ac string "` becomes `aw Tw ac Tc T* string Tj`, and the page gets the re-encoded stream.
//! Pages without either operator are left untouched (a cheap byte scan avoids decoding them twice).
//! Form XObjects keep their own streams; only page content is rewritten.

use pdf_extract::content::{Content, Operation};
use pdf_extract::{Dictionary, Document, Object, ObjectId, Stream};

/// True when the content may hold a `'` or `"` operator: the byte stands alone between delimiters.
/// Quotes inside strings (`(d'echeance)`) are not preceded by a delimiter, so they rarely trigger
/// a decode; a false positive only costs one decode.
fn may_use_quote_operators(content: &[u8]) -> bool {
    let delim = |b: u8| b.is_ascii_whitespace() || matches!(b, b')' | b'>' | b']');
    content.iter().enumerate().any(|(i, &b)| {
        (b == b'\'' || b == b'"')
            && i > 0
            && content.get(i - 1).is_some_and(|&p| delim(p))
            && content.get(i + 1).is_none_or(|&n| n.is_ascii_whitespace())
    })
}

/// The same operations with `'` and `"` expanded; `None` when there was nothing to expand.
pub fn expand(ops: &[Operation]) -> Option<Vec<Operation>> {
    if !ops.iter().any(|o| o.operator == "'" || o.operator == "\"") {
        return None;
    }
    let mut out = Vec::with_capacity(ops.len() + 8);
    for op in ops {
        match (op.operator.as_str(), op.operands.as_slice()) {
            ("'", [text]) => {
                out.push(Operation::new("T*", vec![]));
                out.push(Operation::new("Tj", vec![text.clone()]));
            }
            ("\"", [aw, ac, text]) => {
                out.push(Operation::new("Tw", vec![aw.clone()]));
                out.push(Operation::new("Tc", vec![ac.clone()]));
                out.push(Operation::new("T*", vec![]));
                out.push(Operation::new("Tj", vec![text.clone()]));
            }
            // A malformed quote operator shows nothing; drop it rather than hand it on.
            ("'" | "\"", _) => {}
            _ => out.push(op.clone()),
        }
    }
    Some(out)
}

/// Rewrites one page's content when it uses `'` or `"`. Returns whether the page changed; a page
/// whose content cannot be decoded is left for pdf-extract to fail on (and then OCR).
pub fn rewrite_page(doc: &mut Document, page: ObjectId) -> bool {
    let Ok(data) = doc.get_page_content(page) else {
        return false;
    };
    if !may_use_quote_operators(&data) {
        return false;
    }
    let Ok(content) = Content::decode(&data) else {
        return false;
    };
    let Some(ops) = expand(&content.operations) else {
        return false;
    };
    let Ok(bytes) = (Content { operations: ops }).encode() else {
        return false;
    };
    let id = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), bytes)));
    match doc.get_object_mut(page).and_then(Object::as_dict_mut) {
        Ok(dict) => {
            dict.set("Contents", Object::Reference(id));
            true
        }
        Err(_) => false,
    }
}

/// Rewrites every page that uses the quote operators.
pub fn rewrite_document(doc: &mut Document) {
    let pages: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    for p in pages {
        rewrite_page(doc, p);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn pdf_with_content(content: &str) -> Vec<u8> {
        crate::testing::one_page_pdf(content.as_bytes())
    }

    #[test]
    fn quote_and_double_quote_pages_read_like_tj_pages() {
        let quoted = pdf_with_content(
            "BT /F1 11 Tf 14 TL 56 780 Td\n(Facture numero F-2026-001) '\n(Date d'echeance 11/04/2026) '\n2 0.5 (Total TTC 120,00 EUR) \"\nET",
        );
        let plain = pdf_with_content(
            "BT /F1 11 Tf 14 TL 56 780 Td\nT* (Facture numero F-2026-001) Tj\nT* (Date d'echeance 11/04/2026) Tj\n2 Tw 0.5 Tc T* (Total TTC 120,00 EUR) Tj\nET",
        );
        let q = crate::read::pdf::text_pages(&quoted).unwrap();
        let p = crate::read::pdf::text_pages(&plain).unwrap();
        let text = q[0].text();
        assert!(text.contains("Facture numero F-2026-001"), "{text}");
        assert!(text.contains("d'echeance 11/04/2026"), "{text}");
        assert!(text.contains("Total"), "{text}");
        assert!(text.contains("120,00"), "{text}");
        // Three lines, one leading apart, like the T*/Tj equivalent.
        assert_eq!(q[0].lines().len(), 3, "{text}");
        assert_eq!(q[0].words, p[0].words);
    }

    #[test]
    fn expand_leaves_other_streams_alone_and_drops_malformed_quotes() {
        let plain = Content::decode(b"BT (a) Tj ET").unwrap();
        assert!(expand(&plain.operations).is_none());
        let bad = Content::decode(b"BT 1 ' (b) Tj ET").unwrap();
        let ops = expand(&bad.operations).unwrap();
        let names: Vec<_> = ops.iter().map(|o| o.operator.as_str()).collect();
        assert!(!names.contains(&"'"), "{names:?}");
        assert!(names.contains(&"Tj"));
    }

    #[test]
    fn byte_scan_ignores_apostrophes_inside_words() {
        assert!(!may_use_quote_operators(b"BT (d'echeance) Tj ET"));
        assert!(may_use_quote_operators(b"BT (x) '\nET"));
        assert!(may_use_quote_operators(b"BT 1 2 (x) \" ET"));
    }
}
