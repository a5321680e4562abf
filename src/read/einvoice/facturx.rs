//! Finding the invoice XML attached to a Factur-X / ZUGFeRD / XRechnung PDF.
//!
//! The attachment is listed in the catalog's EmbeddedFiles name tree and, for PDF/A-3, in the
//! catalog's /AF array; producers fill one or both. The standard names are tried first
//! (factur-x.xml, zugferd-invoice.xml, ZUGFeRD-invoice.xml, xrechnung.xml); otherwise any attached
//! .xml that reads as CII or UBL is taken. The PDF is untrusted: the name tree walk is bounded, and
//! attachments are decoded with a size limit so a flate bomb cannot grow past the XML limit.

use std::collections::HashSet;

use lopdf::{decode_text_string, Dictionary, Document, Object, ObjectId};

use super::xml::MAX_BYTES;
use super::{EinvoiceError, EmbeddedXml};

/// Standard attachment names, in order of preference (compared case-insensitively).
const STANDARD_NAMES: [&str; 3] = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"];
/// Name-tree nodes visited at most (real trees have one or two).
const MAX_NODES: usize = 1_000;
const MAX_TREE_DEPTH: usize = 32;

/// One attached file: its name and the filespec dictionary that holds it.
struct Attachment<'a> {
    name: String,
    spec: &'a Dictionary,
}

pub fn embedded_xml(pdf: &[u8]) -> Result<Option<EmbeddedXml>, EinvoiceError> {
    let doc = Document::load_mem(pdf).map_err(|e| EinvoiceError::Pdf(e.to_string()))?;
    let catalog = doc
        .catalog()
        .map_err(|e| EinvoiceError::Pdf(format!("no document catalog: {e}")))?;
    let mut found: Vec<Attachment<'_>> = Vec::new();
    if let Ok(names) = deref_dict(&doc, catalog.get(b"Names").ok()) {
        if let Ok(tree) = deref_dict(&doc, names.get(b"EmbeddedFiles").ok()) {
            let mut seen = HashSet::new();
            walk_name_tree(&doc, tree, 0, &mut seen, &mut found);
        }
    }
    if let Some(Object::Array(af)) = catalog.get(b"AF").ok().map(|o| resolve(&doc, o)) {
        for item in af {
            if let Ok(spec) = deref_dict(&doc, Some(item)) {
                if let Some(name) = spec_name(spec) {
                    found.push(Attachment { name, spec });
                }
            }
        }
    }

    for standard in STANDARD_NAMES {
        if let Some(a) = found
            .iter()
            .find(|a| file_name(&a.name).eq_ignore_ascii_case(standard))
        {
            let bytes = contents(&doc, a)?;
            return Ok(Some(EmbeddedXml {
                name: a.name.clone(),
                bytes,
            }));
        }
    }
    // Non-standard names: take the first XML attachment that really is an invoice.
    for a in found
        .iter()
        .filter(|a| a.name.to_ascii_lowercase().ends_with(".xml"))
    {
        let Ok(bytes) = contents(&doc, a) else {
            continue;
        };
        if super::read_xml(&bytes).is_ok() {
            return Ok(Some(EmbeddedXml {
                name: a.name.clone(),
                bytes,
            }));
        }
    }
    Ok(None)
}

/// The last path component (some producers store a path in /F).
fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map(|(_, o)| o).unwrap_or(obj)
}

fn deref_dict<'a>(doc: &'a Document, obj: Option<&'a Object>) -> Result<&'a Dictionary, ()> {
    match obj.map(|o| resolve(doc, o)) {
        Some(Object::Dictionary(d)) => Ok(d),
        Some(Object::Stream(s)) => Ok(&s.dict),
        _ => Err(()),
    }
}

fn walk_name_tree<'a>(
    doc: &'a Document,
    node: &'a Dictionary,
    depth: usize,
    seen: &mut HashSet<ObjectId>,
    out: &mut Vec<Attachment<'a>>,
) {
    if depth > MAX_TREE_DEPTH || seen.len() > MAX_NODES {
        return;
    }
    if let Ok(Object::Array(pairs)) = node.get(b"Names").map(|o| resolve(doc, o)) {
        for pair in pairs.chunks(2) {
            let [key, value] = pair else { continue };
            let Ok(spec) = deref_dict(doc, Some(value)) else {
                continue;
            };
            let key_name = decode_text_string(resolve(doc, key)).ok();
            if let Some(name) = spec_name(spec).or(key_name) {
                out.push(Attachment { name, spec });
            }
        }
    }
    if let Ok(Object::Array(kids)) = node.get(b"Kids").map(|o| resolve(doc, o)) {
        for kid in kids {
            if let Object::Reference(id) = kid {
                // A cycle in the tree would otherwise loop forever.
                if !seen.insert(*id) {
                    continue;
                }
            }
            if let Ok(child) = deref_dict(doc, Some(kid)) {
                walk_name_tree(doc, child, depth + 1, seen, out);
            }
        }
    }
}

/// /UF (Unicode) or /F of a filespec.
fn spec_name(spec: &Dictionary) -> Option<String> {
    [b"UF".as_slice(), b"F".as_slice()]
        .iter()
        .filter_map(|k| spec.get(k).ok())
        .find_map(|o| decode_text_string(o).ok())
        .filter(|n| !n.trim().is_empty())
}

fn contents(doc: &Document, a: &Attachment<'_>) -> Result<Vec<u8>, EinvoiceError> {
    let bad = |why: String| EinvoiceError::Attachment {
        name: a.name.clone(),
        why,
    };
    let ef = deref_dict(doc, a.spec.get(b"EF").ok())
        .map_err(|_| bad("its file specification has no /EF dictionary".into()))?;
    let stream_obj = ef
        .get(b"F")
        .or_else(|_| ef.get(b"UF"))
        .map(|o| resolve(doc, o))
        .map_err(|_| bad("its /EF dictionary has no /F stream".into()))?;
    let Object::Stream(stream) = stream_obj else {
        return Err(bad(format!(
            "/EF /F is a {}, not a stream",
            stream_obj.enum_variant()
        )));
    };
    stream
        .get_plain_content_with_limit(MAX_BYTES)
        .map_err(|e| bad(format!("cannot decode its stream: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Stream};

    const UBL: &[u8] = br#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>X-9</cbc:ID></Invoice>"#;

    /// A one-page-less PDF whose catalog lists `files` in /AF (or in the name tree when `tree`).
    fn pdf_with(files: &[(&str, &[u8])], tree: bool) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let mut specs = Vec::new();
        for (name, bytes) in files {
            let stream = doc.add_object(Stream::new(
                dictionary! { "Type" => "EmbeddedFile" },
                bytes.to_vec(),
            ));
            let spec = doc.add_object(dictionary! {
                "Type" => "Filespec",
                "F" => Object::string_literal(*name),
                "EF" => dictionary! { "F" => stream },
            });
            specs.push((name.to_string(), spec));
        }
        let mut catalog = dictionary! { "Type" => "Catalog" };
        if tree {
            let names: Vec<Object> = specs
                .iter()
                .flat_map(|(n, id)| [Object::string_literal(n.as_str()), Object::Reference(*id)])
                .collect();
            let tree = doc.add_object(dictionary! { "Names" => names });
            catalog.set("Names", dictionary! { "EmbeddedFiles" => tree });
        } else {
            let af: Vec<Object> = specs.iter().map(|(_, id)| Object::Reference(*id)).collect();
            catalog.set("AF", af);
        }
        let root = doc.add_object(catalog);
        doc.trailer.set("Root", root);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    #[test]
    fn standard_name_wins_in_af_and_name_tree() {
        for tree in [false, true] {
            let pdf = pdf_with(&[("other.xml", UBL), ("ZUGFeRD-invoice.xml", UBL)], tree);
            let x = embedded_xml(&pdf).unwrap().unwrap();
            assert_eq!(x.name, "ZUGFeRD-invoice.xml");
            assert_eq!(x.bytes, UBL);
        }
    }

    #[test]
    fn other_xml_only_when_it_is_an_invoice() {
        let pdf = pdf_with(&[("notes.xml", b"<notes/>"), ("inv.xml", UBL)], false);
        assert_eq!(embedded_xml(&pdf).unwrap().unwrap().name, "inv.xml");
        let pdf = pdf_with(&[("notes.xml", b"<notes/>")], true);
        assert!(embedded_xml(&pdf).unwrap().is_none());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            embedded_xml(b"%PDF-1.7\n1 0 obj << /Type /Catalog"),
            Err(EinvoiceError::Pdf(_))
        ));
    }
}
