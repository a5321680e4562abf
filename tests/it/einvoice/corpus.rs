//! Every invoice XML and every PDF in the corpus: the XML reads with its core fields, and the PDFs
//! that carry invoice XML are exactly those pdfdetach lists an .xml attachment for.

use std::collections::BTreeMap;

use facteur::read::einvoice::{embedded_xml, read_xml, EinvoiceError};

use super::{corpus, files, missing_core, read_path};

#[test]
fn every_invoice_xml_in_the_corpus_reads() {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut incomplete = Vec::new();
    for p in files(&corpus(), &["xml"]) {
        let folder = p
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry = counts.entry(folder).or_default();
        match read_path(&p) {
            Ok(inv) => {
                entry.0 += 1;
                entry.1 += 1;
                let missing = missing_core(&inv);
                if !missing.is_empty() {
                    incomplete.push(format!("{}: lacks {}", p.display(), missing.join(", ")));
                }
            }
            // Order-X orders live in the same folders; they are not invoices.
            Err(EinvoiceError::NotInvoice { root, .. }) if root.starts_with("SCRDM") => {}
            Err(e) => {
                entry.1 += 1;
                failures.push(format!("{}: {e}", p.display()));
            }
        }
    }
    for (folder, (ok, all)) in &counts {
        println!("{folder}: {ok}/{all} invoice XML read");
    }
    for i in &incomplete {
        println!("incomplete: {i}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(incomplete.is_empty(), "{}", incomplete.join("\n"));
}

#[test]
fn every_facturx_pdf_in_the_corpus_reads() {
    let mut with_xml = 0;
    let mut failures = Vec::new();
    let mut without = Vec::new();
    let pdfs = files(&corpus(), &["pdf"]);
    for p in &pdfs {
        let bytes = std::fs::read(p).expect("corpus PDF is readable");
        match embedded_xml(&bytes) {
            Ok(Some(xml)) => {
                with_xml += 1;
                match read_xml(&xml.bytes) {
                    Ok(inv) if missing_core(&inv).is_empty() => {}
                    Ok(inv) => failures.push(format!(
                        "{} ({}): lacks {}",
                        p.display(),
                        xml.name,
                        missing_core(&inv).join(", ")
                    )),
                    Err(e) => failures.push(format!("{} ({}): {e}", p.display(), xml.name)),
                }
            }
            Ok(None) => without.push(p.display().to_string()),
            Err(e) => failures.push(format!("{}: {e}", p.display())),
        }
    }
    println!(
        "PDFs with embedded invoice XML: {with_xml}/{} ({} without)",
        pdfs.len(),
        without.len()
    );
    for w in &without {
        println!("no embedded XML: {w}");
    }
    // pdfdetach (poppler-utils) is the independent judge of which PDFs carry attachments.
    let mut disagree = Vec::new();
    for p in &pdfs {
        let Ok(out) = std::process::Command::new("pdfdetach")
            .arg("-list")
            .arg(p)
            .output()
        else {
            println!("pdfdetach not installed: attachments not cross-checked");
            break;
        };
        let listing = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        let has_xml = listing
            .lines()
            .skip(1)
            .any(|l| l.trim_end().ends_with(".xml"));
        let we_found = !without.contains(&p.display().to_string());
        if has_xml != we_found {
            disagree.push(format!("{}: pdfdetach lists {listing:?}", p.display()));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
