//! Hostile PDFs against the text layer's budgets, built here with lopdf: many pages each just
//! under the per-page operation cap, a huge uncompressed form drawn again and again, forms that
//! draw themselves or nest deep, through our interpreter and the pdf-extract fallback.

use facteur::read::pdf::{
    text_pages, text_pages_with, Interpreter, PdfError, MAX_DOC_BYTES, MAX_DOC_OPS, MAX_FORM_DEPTH,
    MAX_OPS,
};
use facteur::read::{read_document, MethodChoice, ReadError, ReadOptions};
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

/// Shows `word` once with Helvetica as `/F1`.
fn show(word: &str) -> String {
    format!("BT /F1 12 Tf 72 720 Td ({word}) Tj ET\n")
}

/// A document of `pages` pages sharing one content stream `content` (compressed when asked),
/// whose resources hold `/F1` and the XObjects `forms` adds (given the document and the id the
/// page resources will have).
fn pdf(
    pages: usize,
    content: Vec<u8>,
    compress: bool,
    forms: impl FnOnce(&mut Document, ObjectId) -> Dictionary,
) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let res_id = doc.new_object_id();
    let xobjects = forms(&mut doc, res_id);
    doc.objects.insert(
        res_id,
        Object::Dictionary(dictionary! {
            "Font" => dictionary! { "F1" => font },
            "XObject" => xobjects,
        }),
    );
    let mut stream = Stream::new(dictionary! {}, content);
    if compress {
        stream.compress().expect("deflate");
    }
    let content_id = doc.add_object(stream);
    let kids: Vec<Object> = (0..pages)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Resources" => res_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Contents" => content_id,
            })
            .into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

fn no_forms(_: &mut Document, _: ObjectId) -> Dictionary {
    Dictionary::new()
}

/// A form XObject with `content`, drawn with the page's resources (`res`).
fn form(content: Vec<u8>, res: ObjectId) -> Stream {
    Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form", "Resources" => res,
            "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        },
        content,
    )
}

fn words(pages: &[facteur::read::layout::Page], word: &str) -> usize {
    pages
        .iter()
        .flat_map(|p| &p.words)
        .filter(|w| w.text == word)
        .count()
}

#[test]
fn pages_each_under_the_page_cap_are_refused_by_the_document_cap() {
    // One page: `MAX_OPS - 10` no-op operations, then the word (5 operations).
    let mut content = "n\n".repeat(MAX_OPS - 10).into_bytes();
    content.extend_from_slice(show("Page").as_bytes());
    let fits = MAX_DOC_OPS / MAX_OPS - 1;
    let read = text_pages(&pdf(fits, content.clone(), true, no_forms)).expect("within budget");
    assert_eq!(words(&read, "Page"), fits, "each page is read whole");

    let hostile = pdf(MAX_DOC_OPS / MAX_OPS + 1, content, true, no_forms);
    match text_pages(&hostile) {
        Err(PdfError::Limit(why)) => assert!(why.contains("operations"), "{why}"),
        other => panic!("expected the document's operation cap, got {other:?}"),
    }
    let opts = ReadOptions {
        method: MethodChoice::Text,
        ..ReadOptions::default()
    };
    match read_document(&hostile, &opts) {
        Err(e @ ReadError::Limit(_)) => assert!(!e.killed_the_reader()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_uncompressed_form_counts_against_the_byte_budget() {
    // 60 MiB of blanks and a word, stored uncompressed, drawn `times` times by one page.
    let size = 60 << 20;
    let build = |times: usize| {
        let content = "/Big Do\n".repeat(times).into_bytes();
        pdf(1, content, true, |doc, res| {
            let mut body = vec![b' '; size];
            body.extend_from_slice(show("Big").as_bytes());
            dictionary! { "Big" => doc.add_object(form(body, res)) }
        })
    };
    let fits = MAX_DOC_BYTES / size;
    let read = text_pages(&build(fits)).expect("within budget");
    assert_eq!(words(&read, "Big"), fits);
    match text_pages(&build(fits + 1)) {
        Err(PdfError::Limit(why)) => assert!(why.contains("256 MiB"), "{why}"),
        other => panic!("expected the document's byte budget, got {other:?}"),
    }
}

/// `/Self` draws itself twice, then shows a word: infinite for a reader without a depth limit.
fn self_drawing() -> Vec<u8> {
    pdf(1, b"/Self Do\n".to_vec(), true, |doc, res| {
        let id = doc.new_object_id();
        let body = format!("/Self Do /Self Do {}", show("Loop")).into_bytes();
        doc.objects.insert(id, Object::Stream(form(body, res)));
        dictionary! { "Self" => id }
    })
}

/// `/F0` draws `/F1` ... draws `/F{levels-1}`, each also showing a word.
fn nested(levels: usize) -> Vec<u8> {
    pdf(1, b"/F0 Do\n".to_vec(), true, |doc, res| {
        let mut xobjects = Dictionary::new();
        for i in 0..levels {
            let next = if i + 1 < levels {
                format!("/F{} Do ", i + 1)
            } else {
                String::new()
            };
            let body = format!(
                "{next}BT /F1 12 Tf 72 {} Td (Deep) Tj ET\n",
                800 - 14 * (i % 50)
            )
            .into_bytes();
            xobjects.set(format!("F{i}"), doc.add_object(form(body, res)));
        }
        xobjects
    })
}

#[test]
fn our_interpreter_bounds_self_drawing_and_deeply_nested_forms() {
    let pages = text_pages(&self_drawing()).expect("read, bounded");
    // Depth 1..=MAX_FORM_DEPTH, each level drawing two copies of the next.
    let expected: usize = (1..=MAX_FORM_DEPTH as u32).map(|d| 1 << (d - 1)).sum();
    assert_eq!(words(&pages, "Loop"), expected);
    let pages = text_pages(&nested(10_000)).expect("read, bounded");
    assert_eq!(words(&pages, "Deep"), MAX_FORM_DEPTH);
}

#[test]
fn the_pdf_extract_fallback_refuses_forms_that_loop_or_nest_too_deep() {
    // Without the check pdf-extract recurses until the stack overflows and the process aborts.
    for (name, bytes) in [("self", self_drawing()), ("nested", nested(10_000))] {
        match text_pages_with(&bytes, Interpreter::PdfExtract) {
            Err(PdfError::Limit(why)) => assert!(why.contains("form XObjects"), "{name}: {why}"),
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    let shallow = nested(MAX_FORM_DEPTH);
    let pages = text_pages_with(&shallow, Interpreter::PdfExtract).expect("shallow forms read");
    assert_eq!(words(&pages, "Deep"), MAX_FORM_DEPTH);
}
