//! Hostile and malformed XML through `read_document`: DTDs, entity tricks, depth and size limits
//! are refused, and a broken document's message says where.

use facteur::read::{read_document, ReadError, ReadOptions};

use super::corpus;

fn xml_err(doc: &str) -> String {
    let opts = ReadOptions::default();
    match read_document(doc.as_bytes(), &opts) {
        Err(ReadError::BadXml(m)) => m,
        other => panic!("expected BadXml, got {other:?}"),
    }
}

#[test]
fn hostile_xml_is_refused() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:x"><ID>&x;</ID></rsm:CrossIndustryInvoice>"#;
    assert!(xml_err(xxe).contains("DTD"), "{}", xml_err(xxe));

    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]>\n<Invoice>&lol9;</Invoice>");
    let msg = xml_err(&laughs);
    assert!(
        msg.contains("DTD") && msg.contains("line 2, column 1"),
        "{msg}"
    );

    // Entities without a DTD are undeclared: refused, not expanded.
    let msg = xml_err("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><ID>&lol;</ID></Invoice>");
    assert!(msg.contains("<ID>"), "{msg}");

    let deep = "<a>".repeat(100) + &"</a>".repeat(100);
    assert!(
        xml_err(&deep).contains("deeper than 64"),
        "{}",
        xml_err(&deep)
    );

    let big = format!("<Invoice>{}</Invoice>", " ".repeat(21 * 1024 * 1024));
    assert!(xml_err(&big).contains("larger than"), "{}", xml_err(&big));
}

#[test]
fn malformed_xml_says_where() {
    let cii = std::fs::read_to_string(corpus().join("horstoeko-zugferd/xml_en16931_1.xml"))
        .expect("corpus CII");
    // Break the closing tag of the seller's name: the message must name the element and line.
    let at = cii.find("</ram:Name>").expect("a ram:Name in the sample");
    let line = cii[..at].lines().count();
    let broken = format!(
        "{}</ram:Nmae>{}",
        &cii[..at],
        &cii[at + "</ram:Name>".len()..]
    );
    let msg = xml_err(&broken);
    assert!(msg.contains("ram:Name"), "{msg}");
    assert!(msg.contains(&format!("line {line}")), "{msg}");
}
