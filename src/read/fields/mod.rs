//! Generic field extraction: pages of positioned words in, an `Extraction` with per-field
//! confidence out (DESIGN.md §4).
//!
//! It must work on suppliers nobody wrote a template for, so it only knows label words
//! (models/labels.toml), typed value parsers, where values sit relative to labels, and arithmetic
//! cross-checks. Supplier templates (`templates.rs`) may then override single fields. Each picker
//! returns a value with a confidence; OCR word confidence lowers it.

pub mod amounts;
pub mod calibrate;
pub mod candidates;
pub mod crosscheck;
pub mod date_pick;
pub mod dates;
pub mod envelope;
pub mod ids;
pub mod items;
pub mod labels;
pub mod names;
pub mod parties;
pub mod terms;
pub mod text;
pub mod totals;

use std::collections::BTreeMap;

use crate::domain::{Currency, DocType, DueDateSource, Extraction, Field, Invoice, Method};
use crate::read::layout::Page;
use crate::read::templates::{self, Template};

use candidates::{strip_lead, windows, Place};
use dates::{find_dates, DateOrder};
use labels::{find_labels, Hit, Lexicon};
use text::TLine;
use totals::Scored;

/// Reads the fields of a document from its pages, without supplier templates.
pub fn extract(pages: &[Page], method: Method) -> Extraction {
    extract_with(pages, method, &[])
}

/// Reads the fields, then lets a matching supplier template override the fields it defines.
/// Confidences are calibrated probabilities (`calibrate.rs`); a template's fields keep its own.
pub fn extract_with(pages: &[Page], method: Method, templates: &[Template]) -> Extraction {
    read_fields(
        pages,
        method,
        templates,
        calibrate::Calibrations::embedded().of(method),
    )
}

/// The extractor's own scores, uncalibrated and without templates: what the calibration is
/// fitted on (`facteur bench stp --fit`).
pub fn extract_uncalibrated(pages: &[Page], method: Method) -> Extraction {
    read_fields(pages, method, &[], None)
}

fn read_fields(
    pages: &[Page],
    method: Method,
    templates: &[Template],
    calibration: Option<&calibrate::Calibration>,
) -> Extraction {
    let lex = Lexicon::embedded();
    let lines = text::lines_of(pages);
    let hits = find_labels(&lines, lex);
    let mut inv = Invoice::default();
    let mut conf: BTreeMap<Field, f32> = BTreeMap::new();
    let mut warnings = Vec::new();
    let set = |conf: &mut BTreeMap<Field, f32>, k: Field, c: f32| {
        conf.insert(k, (c * 100.0).round() / 100.0);
    };

    let currency = detect_currency(&lines);
    if let Some((c, s)) = currency {
        inv.currency = Some(c);
        set(&mut conf, Field::Currency, s);
    }
    let order = dates::decide_order(
        lines.iter().map(|l| l.norm.as_str()),
        currency.is_some_and(|c| c.0 == Currency::USD),
    );

    if let Some(n) = pick_token(&lines, &hits, "invoice_number") {
        inv.number = Some(n.value);
        set(&mut conf, Field::InvoiceNumber, n.confidence);
    }
    if let Some(po) = pick_token(&lines, &hits, "purchase_order") {
        inv.purchase_order = Some(po.value);
        set(&mut conf, Field::PurchaseOrder, po.confidence);
    }
    let labelled_issue = date_pick::labelled(&lines, &hits, "issue_date", order, None);
    let letter = date_pick::letter_date(&lines, order);
    // The letter's date line beats a weaker label ("Datum" at 0.7 gives 0.74), not a named one.
    let issue = match (labelled_issue, letter) {
        (Some(l), Some(d)) if d.confidence > l.confidence => Some(d),
        (l, d) => l.or(d),
    }
    .or_else(|| date_pick::on_number_line(&lines, &hits, order))
    .or_else(|| date_pick::first(&lines, order));
    if let Some(d) = &issue {
        inv.issue_date = Some(d.value);
        set(&mut conf, Field::IssueDate, d.confidence);
    }
    let terms = terms::find(&lines, lex);
    inv.payment_terms = terms.as_ref().map(|t| t.text.clone());
    let printed_due = date_pick::labelled(
        &lines,
        &hits,
        "due_date",
        order,
        issue.as_ref().map(|d| d.value),
    );
    let from_terms = || {
        let t = terms.as_ref()?;
        let i = issue.as_ref()?;
        Some(Scored {
            value: t.resolve(i.value)?,
            confidence: 0.6 * i.confidence,
        })
    };
    let due = match printed_due {
        Some(d) => Some((d, DueDateSource::Printed)),
        None => from_terms().map(|d| (d, DueDateSource::Terms)),
    };
    let mut due_date_source = None;
    if let Some((d, source)) = due {
        inv.due_date = Some(d.value);
        due_date_source = Some(source);
        set(&mut conf, Field::DueDate, d.confidence);
    }

    let t = totals::pick(&lines, &hits);
    for (k, v, slot) in [
        (Field::TotalNet, &t.net, &mut inv.total_net),
        (Field::TotalTax, &t.tax, &mut inv.total_tax),
        (Field::TotalGross, &t.gross, &mut inv.total_gross),
    ] {
        if let Some(s) = v {
            *slot = Some(s.value);
            set(&mut conf, k, s.confidence);
        }
    }
    inv.vat_breakdown = t.breakdown;
    warnings.extend(t.warnings);

    let items = items::pick(&lines, &hits, &lex.table, inv.total_net);
    if !items.lines.is_empty() {
        inv.lines = items.lines;
        set(&mut conf, Field::Lines, items.confidence);
    }
    warnings.extend(items.warnings);
    if inv.vat_breakdown.is_empty() {
        inv.vat_breakdown =
            totals::breakdown_from_rate_lines(&t.rated, inv.total_net, inv.total_tax, &inv.lines);
    }

    let (doc_type, doc_conf) = doc_type(&lines, lex, t.printed_negative);
    inv.doc_type = doc_type;
    set(&mut conf, Field::DocType, doc_conf);

    let p = parties::pick(&lines, &hits);
    inv.seller = p.seller;
    inv.buyer = p.buyer;
    if let Some(n) = p.seller_name {
        set(&mut conf, Field::SupplierName, n.confidence);
    }
    if let Some(n) = p.buyer_name {
        set(&mut conf, Field::CustomerName, n.confidence);
    }
    if inv.seller.vat_id.is_some() {
        set(&mut conf, Field::SupplierVatId, p.seller_vat_conf);
    }
    if inv.seller.iban.is_some() {
        set(&mut conf, Field::SupplierIban, p.seller_iban_conf);
    }
    for (k, present) in [
        (Field::SupplierSiret, inv.seller.siret.is_some()),
        (Field::SupplierSiren, inv.seller.siren.is_some()),
    ] {
        if present {
            set(&mut conf, k, 0.9);
        }
    }
    if inv.total_gross.is_some() {
        inv.amount_due = inv.total_gross;
    }
    crosscheck::seller_ids(&inv, &mut conf, &mut warnings);
    crosscheck::due_date(
        &inv,
        due_date_source,
        terms.as_ref(),
        &mut conf,
        &mut warnings,
    );

    let unread = labelled_but_unread(&inv, &lines, &hits);
    let mut ex = Extraction {
        invoice: inv,
        method,
        confidence: conf,
        warnings,
        due_date_source,
        unread,
    };
    if let Some(c) = calibration {
        c.apply(&mut ex.confidence);
    }
    if let Some(t) = templates::matching(templates, &ex.invoice) {
        let all: Vec<String> = lines.iter().map(|l| l.raw.clone()).collect();
        t.apply(&all.join("\n"), order, &mut ex);
    }
    for key in Field::REQUIRED {
        if !ex.confidence.contains_key(&key) {
            ex.warnings.push(format!("{key} not found on the page"));
        }
    }
    ex
}

/// Key fields the page labels without a value read for them: a due-date label ("Échéance",
/// "Due date") with no due date printed or given by terms, and "IBAN" followed by an IBAN-shaped
/// value (country, two check digits, 8+ characters) that fails mod 97, when no seller IBAN was
/// read.
/// On a scan these are OCR damage far more often than absence, and an IBAN failing its check
/// cannot be paid either way, so they are doubts, not gaps (`Doubt::Unread`). An empty form
/// field ("IBAN :" and nothing) is an absence.
fn labelled_but_unread(inv: &Invoice, lines: &[TLine], hits: &[Hit]) -> Vec<Field> {
    let mut out = Vec::new();
    if inv.due_date.is_none() && hits.iter().any(|h| h.field == "due_date") {
        out.push(Field::DueDate);
    }
    let damaged_iban =
        |l: &&TLine| iban_shaped_after_label(&l.raw) && ids::find_ibans(&l.raw).is_empty();
    if inv.seller.iban.is_none() && lines.iter().any(|l| damaged_iban(&l)) {
        out.push(Field::SupplierIban);
    }
    let damaged_vat =
        |l: &&TLine| vat_shaped_after_label(l) && ids::find_vat_ids(&l.raw).is_empty();
    if inv.seller.vat_id.is_none() && lines.iter().any(|l| damaged_vat(&l)) {
        out.push(Field::SupplierVatId);
    }
    out
}

/// "IBAN" followed by a country code and at least 10 more letters or digits, 8 of them digits:
/// an IBAN whatever OCR did to its check digits ("FRO2 9091…").
fn iban_shaped_after_label(raw: &str) -> bool {
    let Some(i) = raw.to_ascii_lowercase().find("iban") else {
        return false;
    };
    let rest: Vec<u8> = raw[i + 4..]
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .take(34)
        .collect();
    rest.len() >= 12
        && rest[..2].iter().all(u8::is_ascii_alphabetic)
        && rest[2..].iter().filter(|b| b.is_ascii_digit()).count() >= 8
}

/// A VAT-id label ("N° TVA", "TVA intracommunautaire", "USt-IdNr.", "VAT No") followed by a
/// country code and 8 to 12 letters or digits, most of them digits: a VAT id that failed its
/// check (OCR damage), not a page without one.
fn vat_shaped_after_label(l: &TLine) -> bool {
    let norm = &l.norm;
    let labelled = [
        "tva intra",
        "n° tva",
        "numero de tva",
        "ust-id",
        "ust.-id",
        "ustid",
        "vat no",
        "vat number",
        "vat id",
        "uid ",
    ]
    .iter()
    .find_map(|k| norm.find(k).map(|i| i + k.len()));
    let Some(after) = labelled else {
        return false;
    };
    // The label's own words end before the id: skip to the first two capitals + alphanumerics.
    let rest: String = l.raw.chars().skip(norm[..after].chars().count()).collect();
    rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == ' ' || c == '.'))
        .flat_map(|seg| seg.split("  "))
        .any(|seg| {
            // From the first word that starts with a country code ("intracom. FR85 595…").
            let b = seg.as_bytes();
            let Some(at) = (0..b.len()).find(|&i| {
                b[i].is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_uppercase)
                    && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            }) else {
                return false;
            };
            let compact: Vec<u8> = seg[at..]
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .collect();
            (10..=14).contains(&compact.len())
                && compact[2..].iter().filter(|b| b.is_ascii_digit()).count() >= 6
        })
}

/// The document currency: the most printed code or symbol.
fn detect_currency(lines: &[TLine]) -> Option<(Currency, f32)> {
    // Votes, weighted by how much a mention says: an ISO code beats a symbol, a "Currency:" label
    // beats both, and a bare `$` counts least because OCR reads the `%` of "19 % VAT" as `$`.
    let mut votes: BTreeMap<Currency, f32> = BTreeMap::new();
    for l in lines {
        let labelled = {
            let low = l.raw.to_lowercase();
            ["währung", "currency", "devise", "monnaie"]
                .iter()
                .any(|k| low.contains(k))
        };
        let tokens: Vec<&str> = l
            .raw
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
            .map(|w| w.trim_matches(|c: char| c == '.' || c == ',' || c == '*'))
            .collect();
        for (i, w) in tokens.iter().copied().enumerate() {
            let (c, weight) = if w.contains('€') {
                (Some(Currency::EUR), 2.0)
            } else if w == "US$" {
                (Some(Currency::USD), 2.0)
            } else if w.starts_with('$') || w.ends_with('$') {
                let prev_is_rate =
                    i > 0 && tokens[i - 1].parse::<u32>().is_ok_and(|n| n <= 30) && w == "$";
                let next_is_tax = tokens.get(i + 1).is_some_and(|n| {
                    ["vat", "tva", "mwst", "ust", "tax", "iva"].contains(&n.to_lowercase().as_str())
                });
                if prev_is_rate || next_is_tax {
                    (None, 0.0)
                } else {
                    (Some(Currency::USD), 1.0)
                }
            } else if w.contains('£') {
                (Some(Currency::GBP), 2.0)
            } else if w.contains('₹') || w == "Rs" || w == "Rs." {
                (Currency::parse("INR").ok(), 2.0)
            } else if w == "zł" {
                (Currency::parse("PLN").ok(), 2.0)
            } else if ["EUR", "USD", "GBP", "CHF", "INR", "PLN"].contains(&w) {
                (Currency::parse(w).ok(), 3.0)
            } else if ["EURO", "Euro", "euros", "EUROS"].contains(&w) {
                (Some(Currency::EUR), 3.0)
            } else {
                (None, 0.0)
            };
            if let Some(c) = c {
                *votes.entry(c).or_default() += if labelled { weight + 5.0 } else { weight };
            }
        }
    }
    let total: f32 = votes.values().sum();
    let (c, n) = votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some((c, (0.6 + 0.35 * n / total).min(0.95)))
}

/// An identifier-like token (invoice number, PO): has a digit, 3–40 characters, not a date.
fn token_ok(t: &str) -> bool {
    let n = t.chars().count();
    (3..=40).contains(&n)
        && t.chars().any(|c| c.is_ascii_digit())
        && !t.starts_with('(')
        && find_dates(&text::normalize(t), DateOrder::DayFirst).is_empty()
        && !t.contains('%')
        && !(t.contains(',') && amounts::parse_amount(t).is_some())
        && !t.contains('@')
}

fn paren_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\([^)]{0,12}\)").expect("valid regex"))
}

fn pick_token(lines: &[TLine], hits: &[Hit], field: &str) -> Option<Scored<String>> {
    let mut best: Option<(f32, String, f32)> = None;
    for h in hits.iter().filter(|h| h.field == field) {
        for w in windows(h, lines, hits) {
            // Parenthesised asides ("(380)", a type code) are never the value.
            let raw = paren_re()
                .replace_all(&w.raw(lines), |c: &regex::Captures| {
                    " ".repeat(c.get(0).map_or(0, |m| m.as_str().chars().count()))
                })
                .into_owned();
            let (lead, rest) = strip_lead(&raw);
            let max_tokens = if w.place == Place::Right { 3 } else { 2 };
            let mut offset = lead;
            for tok in rest.split(' ').filter(|t| !t.is_empty()).take(max_tokens) {
                let t = tok.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '#' | '.'));
                let t = t.strip_prefix('#').unwrap_or(t);
                if token_ok(t) {
                    let line_conf = lines
                        .get(w.line)
                        .map(|l| l.confidence(w.start + offset, w.start + offset + tok.len()))
                        .unwrap_or(1.0);
                    let mut s = w.weight;
                    if !tok.chars().all(|c| c.is_ascii_digit()) && tok.len() < 4 {
                        s *= 0.5;
                    }
                    if lines.get(w.line).is_some_and(|l| l.page == 1) {
                        s += 0.05;
                    }
                    if best.as_ref().is_none_or(|b| s > b.0) {
                        best = Some((s, t.to_string(), line_conf));
                    }
                    break;
                }
                offset += tok.chars().count() + 1;
            }
        }
    }
    best.map(|(s, value, c)| Scored {
        value,
        confidence: ((0.35 + 0.55 * s).min(0.95)) * c,
    })
}

/// Credit note when a credit-note word heads a line of the first page's upper half.
fn doc_type(lines: &[TLine], lex: &Lexicon, printed_negative: bool) -> (DocType, f32) {
    let heads = |words: &[String]| {
        lines
            .iter()
            .filter(|l| l.page == 1 && l.bbox.y0 < 0.5 * l.page_height)
            .flat_map(|l| l.norm.split("  ").map(str::trim).collect::<Vec<_>>())
            .any(|seg| {
                words.iter().any(|w| {
                    seg.starts_with(w.as_str())
                        && !seg[w.len()..].starts_with(|c: char| c.is_alphabetic())
                })
            })
    };
    let credit = heads(&lex.doc_type.credit_note);
    let invoice = heads(&lex.doc_type.invoice);
    match (credit, invoice) {
        (true, _) => (
            DocType::CreditNote,
            if printed_negative { 0.95 } else { 0.8 },
        ),
        (false, true) => (DocType::Invoice, 0.9),
        (false, false) if printed_negative => (DocType::CreditNote, 0.5),
        (false, false) => (DocType::Invoice, 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::layout::{BBox, Page, Word};
    use rust_decimal::Decimal;

    fn page(rows: &[&str]) -> Vec<Page> {
        let mut words = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let y = 50.0 + 20.0 * r as f32;
            for (i, t) in row.split(' ').enumerate() {
                let x = 40.0 + 60.0 * i as f32;
                let bbox = BBox {
                    x0: x,
                    y0: y,
                    x1: x + 50.0,
                    y1: y + 10.0,
                };
                words.push(Word {
                    text: t.to_string(),
                    bbox,
                    confidence: 0.9,
                });
            }
        }
        vec![Page {
            number: 1,
            width: 595.0,
            height: 842.0,
            words,
        }]
    }

    #[test]
    fn ocr_dollar_for_percent_does_not_outvote_a_labelled_code() {
        let lines = text::lines_of(&page(&[
            "Währung : EUR",
            "19 $ VAT 3,80",
            "7 $ MwSt 1,40",
            "$ 12",
        ]));
        assert_eq!(detect_currency(&lines).map(|(c, _)| c), Some(Currency::EUR));
    }

    #[test]
    fn a_corrected_invoice_is_an_invoice_and_a_gutschrift_a_credit_note() {
        let lex = Lexicon::embedded();
        let kind = |head: &str| {
            doc_type(
                &text::lines_of(&page(&[head, "Datum 01.02.2026"])),
                lex,
                false,
            )
            .0
        };
        assert_eq!(kind("RECHNUNGSKORREKTUR"), DocType::Invoice);
        assert_eq!(kind("CORRECTED INVOICE"), DocType::Invoice);
        assert_eq!(kind("GUTSCHRIFT"), DocType::CreditNote);
    }

    #[test]
    fn a_total_without_any_tax_word_is_untaxed_and_unsure() {
        let ex = extract_uncalibrated(
            &page(&["Rechnung", "Zeilenbetrag ohne MwSt.", "Total EUR 34,73"]),
            Method::Text,
        );
        assert_eq!(ex.invoice.total_net, Some(Decimal::new(3473, 2)));
        assert_eq!(ex.invoice.total_tax, Some(Decimal::ZERO));
        let sure = |f: Field| ex.confidence.get(&f).copied().unwrap_or(0.0);
        assert!(sure(Field::TotalNet) < 0.5, "{:?}", ex.confidence);
        // A tax word on the page: no such guess, whatever else is missing.
        let ex = extract_uncalibrated(
            &page(&["Rechnung", "MwSt. 19 %", "Total EUR 34,73"]),
            Method::Text,
        );
        assert_ne!(ex.invoice.total_tax, Some(Decimal::ZERO));
    }

    #[test]
    fn one_rate_line_gives_the_vat_breakdown() {
        let ex = extract_uncalibrated(
            &page(&[
                "FACTURE",
                "Total HT 1 000,00",
                "TVA 5,5 % 55,00",
                "Total TTC 1 055,00",
            ]),
            Method::Text,
        );
        assert_eq!(ex.invoice.total_tax, Some(Decimal::new(5500, 2)));
        let b = &ex.invoice.vat_breakdown;
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].rate, Some(Decimal::new(55, 1)));
        assert_eq!(b[0].taxable_amount, Decimal::new(100000, 2));
    }

    #[test]
    fn rate_lines_and_rated_items_give_the_breakdown_per_rate() {
        use crate::domain::LineItem;
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let item = |net: &str, rate: &str| LineItem {
            net_amount: Some(d(net)),
            vat_rate: Some(d(rate)),
            ..LineItem::default()
        };
        let rated = [(d("5.5"), d("52.73")), (d("20"), d("200.00"))];
        let items = [
            item("958.70", "5.5"),
            item("600.00", "20"),
            item("400.00", "20"),
        ];
        let b = totals::breakdown_from_rate_lines(
            &rated,
            Some(d("1958.70")),
            Some(d("252.73")),
            &items,
        );
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!(
            (b[1].taxable_amount, b[1].tax_amount),
            (d("1000.00"), d("200.00"))
        );
        // Taxes that do not sum to the total read, or bases that do not give the printed tax:
        // no breakdown rather than a wrong one.
        assert!(totals::breakdown_from_rate_lines(
            &rated,
            Some(d("1958.70")),
            Some(d("250")),
            &items
        )
        .is_empty());
        let off = [
            item("958.70", "5.5"),
            item("500.00", "20"),
            item("500.00", "10"),
        ];
        assert!(totals::breakdown_from_rate_lines(
            &rated,
            Some(d("1958.70")),
            Some(d("252.73")),
            &off
        )
        .is_empty());
    }

    #[test]
    fn a_label_with_a_damaged_value_is_a_doubt_and_an_empty_one_is_not() {
        let read = |rows: &[&str]| extract_uncalibrated(&page(rows), Method::Text).unread;
        let base = ["FACTURE", "Date 01/02/2026", "Total TTC 120,00"];
        // An OCR-damaged IBAN (fails mod 97) after its label, a due-date label with no date.
        let mut damaged = base.to_vec();
        damaged.extend([
            "IBAN : FR76 3000 6000 0112 3456 7890 188",
            "Échéance : 3l/O2/2O26",
        ]);
        assert_eq!(read(&damaged), vec![Field::DueDate, Field::SupplierIban]);
        // A VAT id failing its key after its label; letters for the check digits of an IBAN.
        let mut damaged = base.to_vec();
        damaged.extend([
            "N° TVA intracom. FR85 595030131",
            "IBAN FRO3 9091 6768 5334 0396 9114 649",
        ]);
        assert_eq!(
            read(&damaged),
            vec![Field::SupplierIban, Field::SupplierVatId]
        );
        let mut empty = base.to_vec();
        empty.push("BIC : IBAN :");
        assert!(read(&empty).is_empty());
        let mut good = base.to_vec();
        good.push("IBAN : FR76 3000 6000 0112 3456 7890 189");
        assert!(read(&good).is_empty());
    }

    #[test]
    fn dollar_amounts_still_mean_usd() {
        let lines = text::lines_of(&page(&["Total $120.00", "Tax $20.00"]));
        assert_eq!(detect_currency(&lines).map(|(c, _)| c), Some(Currency::USD));
    }
}
