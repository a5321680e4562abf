//! The PDF/A-3b container of a Factur-X invoice: drawn pages with the embedded fonts, the sRGB
//! output intent (models/icc/sRGB.icc, zlib licence), the CII XML as the embedded file
//! `factur-x.xml` (catalog /AF and /Names, /AFRelationship /Data), and the XMP metadata that
//! declares PDF/A-3B and the Factur-X profile with its PDF/A extension schema. A quote is the
//! same container without the XML (a plain PDF/A-3B: no attachment, no Factur-X metadata).

use chrono::{DateTime, Utc};
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};

use super::canvas::{HEIGHT, WIDTH};
use super::font::{self, Font};

const SRGB: &[u8] = include_bytes!("../../../models/icc/sRGB.icc");

/// The name the Factur-X standard gives the embedded XML.
pub const XML_NAME: &str = "factur-x.xml";

/// What the metadata says about the document.
pub struct Meta<'a> {
    pub title: &'a str,
    pub author: &'a str,
    /// EN 16931, BASIC, MINIMUM (fx:ConformanceLevel).
    pub level: &'a str,
    pub created: DateTime<Utc>,
}

fn text(s: &str) -> Object {
    // A text string in UTF-16BE with its byte order mark: any character survives.
    let mut bytes = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        bytes.extend(u.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn pdf_date(t: DateTime<Utc>) -> Object {
    Object::string_literal(t.format("D:%Y%m%d%H%M%S+00'00'").to_string())
}

fn xml_esc(s: &str) -> String {
    crate::receivables::cii::esc(s)
}

fn add_font(doc: &mut Document, f: &Font) -> Result<ObjectId, lopdf::Error> {
    let mut file = Stream::new(
        dictionary! { "Length1" => f.bytes.len() as i64 },
        f.bytes.to_vec(),
    );
    file.compress()?;
    let file_id = doc.add_object(file);
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => Object::Name(f.base_name.as_bytes().to_vec()),
        "Flags" => 32,
        "FontBBox" => f.bbox.iter().map(|v| Object::Integer(*v)).collect::<Vec<_>>(),
        "ItalicAngle" => 0,
        "Ascent" => f.ascent,
        "Descent" => f.descent,
        "CapHeight" => f.cap_height,
        "StemV" => 80,
        "FontFile2" => file_id,
    });
    Ok(doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "TrueType",
        "BaseFont" => Object::Name(f.base_name.as_bytes().to_vec()),
        "FirstChar" => 32,
        "LastChar" => 255,
        "Widths" => f.widths.iter().map(|w| Object::Integer(*w)).collect::<Vec<_>>(),
        "Encoding" => "WinAnsiEncoding",
        "FontDescriptor" => descriptor,
    }))
}

/// The XMP packet; the Factur-X parts only when an XML is embedded.
fn xmp(meta: &Meta<'_>, facturx: bool) -> String {
    let full = xmp_facturx(meta);
    if facturx {
        return full;
    }
    // Cut the two Factur-X descriptions out of the packet (they are its last two).
    let start = full
        .find("<rdf:Description rdf:about=\"\" xmlns:fx=")
        .unwrap_or(full.len());
    let end = full.find("</rdf:RDF>").unwrap_or(full.len()).max(start);
    format!("{}{}", &full[..start], &full[end..])
}

fn xmp_facturx(meta: &Meta<'_>) -> String {
    let date = meta.created.format("%Y-%m-%dT%H:%M:%S+00:00");
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdf:Producer>facteur</pdf:Producer>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<xmp:CreatorTool>facteur</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
<fx:DocumentType>INVOICE</fx:DocumentType>
<fx:DocumentFileName>{XML_NAME}</fx:DocumentFileName>
<fx:Version>1.0</fx:Version>
<fx:ConformanceLevel>{level}</fx:ConformanceLevel>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>
{props}
</rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        title = xml_esc(meta.title),
        author = xml_esc(meta.author),
        level = xml_esc(meta.level),
        props = [
            ("DocumentFileName", "name of the embedded XML invoice file"),
            ("DocumentType", "INVOICE"),
            ("Version", "The actual version of the Factur-X XML schema"),
            ("ConformanceLevel", "The conformance level of the embedded Factur-X data"),
        ]
        .iter()
        .map(|(name, what)| format!(
            "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{what}</pdfaProperty:description></rdf:li>"
        ))
        .collect::<Vec<_>>()
        .join("\n"),
    )
}

/// The whole file: `pages` (content streams), with `xml` inside when given (Factur-X).
pub fn assemble(
    pages: Vec<Vec<u8>>,
    xml: Option<&str>,
    meta: &Meta<'_>,
) -> Result<Vec<u8>, lopdf::Error> {
    let mut hasher = Sha256::new();
    for p in &pages {
        hasher.update(p);
    }
    let mut doc = Document::with_version("1.7");
    let f1 = add_font(&mut doc, font::regular())?;
    let f2 = add_font(&mut doc, font::bold())?;
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => f1, "F2" => f2 },
        "ProcSet" => vec![Object::Name(b"PDF".to_vec()), Object::Name(b"Text".to_vec())],
    });
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for content in pages {
        let mut s = Stream::new(Dictionary::new(), content);
        s.compress()?;
        let content_id = doc.add_object(s);
        kids.push(Object::Reference(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(WIDTH as f32), Object::Real(HEIGHT as f32)],
            "Resources" => resources,
            "Contents" => content_id,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let date = pdf_date(meta.created);
    let metadata = doc.add_object(Stream::new(
        dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
        xmp(meta, xml.is_some()).into_bytes(),
    ));
    let mut icc = Stream::new(dictionary! { "N" => 3 }, SRGB.to_vec());
    icc.compress()?;
    let icc_id = doc.add_object(icc);
    let intent = doc.add_object(dictionary! {
        "Type" => "OutputIntent",
        "S" => "GTS_PDFA1",
        "OutputConditionIdentifier" => Object::string_literal("sRGB IEC61966-2.1"),
        "Info" => Object::string_literal("sRGB IEC61966-2.1"),
        "DestOutputProfile" => icc_id,
    });
    let mut catalog = dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
        "Metadata" => metadata,
        "OutputIntents" => vec![Object::Reference(intent)],
    };
    if let Some(xml) = xml {
        hasher.update(xml.as_bytes());
        let filespec = embed(&mut doc, xml, &date)?;
        catalog.set(
            "Names",
            dictionary! {
                "EmbeddedFiles" => dictionary! {
                    "Names" => vec![Object::string_literal(XML_NAME), Object::Reference(filespec)],
                },
            },
        );
        catalog.set("AF", vec![Object::Reference(filespec)]);
        catalog.set("PageMode", "UseAttachments");
    }
    let catalog = doc.add_object(catalog);
    let info = doc.add_object(dictionary! {
        "Title" => text(meta.title),
        "Author" => text(meta.author),
        "Creator" => text("facteur"),
        "Producer" => text("facteur"),
        "CreationDate" => date.clone(),
        "ModDate" => date,
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    let id: Vec<u8> = hasher.finalize()[..16].to_vec();
    doc.trailer.set(
        "ID",
        vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ],
    );
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Embeds `xml` as `factur-x.xml` (/AFRelationship /Data); its file specification.
fn embed(doc: &mut Document, xml: &str, date: &Object) -> Result<ObjectId, lopdf::Error> {
    let mut embedded = Stream::new(
        dictionary! {
            "Type" => "EmbeddedFile",
            "Subtype" => Object::Name(b"text/xml".to_vec()),
            "Params" => dictionary! { "Size" => xml.len() as i64, "ModDate" => date.clone() },
        },
        xml.as_bytes().to_vec(),
    );
    embedded.compress()?;
    let embedded_id = doc.add_object(embedded);
    let filespec = doc.add_object(dictionary! {
        "Type" => "Filespec",
        "F" => Object::string_literal(XML_NAME),
        "UF" => text(XML_NAME),
        "Desc" => Object::string_literal("Factur-X invoice"),
        "AFRelationship" => "Data",
        "EF" => dictionary! { "F" => embedded_id, "UF" => embedded_id },
    });
    Ok(filespec)
}
