//! The label lexicon (models/labels.toml, embedded at build time) and label matching on lines.
//!
//! Labels are data so a new language or wording is a one-line change, and embedded so the binary
//! needs no files at run time. A phrase matches at a word start and must not run into letters
//! ("invoice" does not match "invoices"); when phrases of different fields overlap, the longest
//! wins, so "total ht" is never also read as "total".

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text::{normalize, TLine};

const LEXICON_TOML: &str = include_str!("../../../models/labels.toml");

#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("models/labels.toml is invalid: {0}")]
    Toml(#[from] toml::de::Error),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    field: Vec<RawField>,
    doc_type: DocTypeWords,
    terms: TermWords,
    table: TableWords,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    labels: Vec<RawLabel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabel {
    text: String,
    weight: f32,
}

/// Words that say what kind of document this is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocTypeWords {
    pub credit_note: Vec<String>,
    pub invoice: Vec<String>,
}

/// Words of payment terms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermWords {
    pub end_of_month: Vec<String>,
    pub on_receipt: Vec<String>,
    pub days: Vec<String>,
}

/// Column headings of a line-item table (BG-25), one list per column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableWords {
    pub description: Vec<String>,
    pub quantity: Vec<String>,
    pub unit_price: Vec<String>,
    pub amount: Vec<String>,
    pub vat_rate: Vec<String>,
}

/// One label phrase, normalised, with the field it announces.
#[derive(Debug, Clone)]
pub struct Label {
    pub field: String,
    pub phrase: Vec<char>,
    pub weight: f32,
}

#[derive(Debug)]
pub struct Lexicon {
    pub labels: Vec<Label>,
    pub doc_type: DocTypeWords,
    pub terms: TermWords,
    pub table: TableWords,
    /// Indexes into `labels` by the phrase's first character.
    pub by_first: std::collections::HashMap<char, Vec<usize>>,
}

impl Lexicon {
    pub fn parse(toml_text: &str) -> Result<Lexicon, LexiconError> {
        let raw: RawLexicon = toml::from_str(toml_text)?;
        let mut labels = Vec::new();
        for f in raw.field {
            for l in f.labels {
                labels.push(Label {
                    field: f.name.clone(),
                    phrase: normalize(&l.text).chars().collect(),
                    weight: l.weight,
                });
            }
        }
        let mut by_first: std::collections::HashMap<char, Vec<usize>> = Default::default();
        for (k, l) in labels.iter().enumerate() {
            if let Some(&c) = l.phrase.first() {
                by_first.entry(c).or_default().push(k);
            }
        }
        Ok(Lexicon {
            by_first,
            labels,
            doc_type: raw.doc_type,
            terms: raw.terms,
            table: raw.table,
        })
    }

    /// The embedded lexicon. Its validity is checked by a unit test, so parsing cannot fail in a
    /// released binary.
    pub fn embedded() -> &'static Lexicon {
        static LEX: OnceLock<Lexicon> = OnceLock::new();
        LEX.get_or_init(|| {
            Lexicon::parse(LEXICON_TOML).expect("models/labels.toml parses (checked by unit test)")
        })
    }
}

/// A label found on a line: characters `start..end` of line `line`.
#[derive(Debug, Clone)]
pub struct Hit {
    pub field: String,
    pub weight: f32,
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

fn at_word_start(chars: &[char], i: usize) -> bool {
    i == 0
        || chars
            .get(i - 1)
            .is_some_and(|c| !c.is_alphanumeric() && !matches!(c, '_' | '@' | '.' | '/'))
}

/// Where `phrase` ends when it is printed at `i`: exactly, or, for a long label, with one slip of
/// OCR: a space put inside one of its words ("Fälligkeits datum" for "Fälligkeitsdatum"), or a
/// lone mark read between two of its words ("Date limite de : paiement").
fn phrase_end(chars: &[char], i: usize, phrase: &[char]) -> Option<usize> {
    let n = phrase.len();
    if chars.get(i..i + n) == Some(phrase) {
        return Some(i + n);
    }
    if n < 8 || chars.get(i) != phrase.first() {
        return None;
    }
    // One extra space between two letters of the same word of the label.
    let (mut p, mut c, mut skipped) = (0, i, false);
    while p < n {
        let &lc = chars.get(c)?;
        if phrase[p] == ' '
            && lc == ' '
            && !skipped
            && chars
                .get(c + 1)
                .is_some_and(|x| !x.is_alphanumeric() && *x != ' ')
            && chars.get(c + 2) == Some(&' ')
        {
            // A lone mark OCR read between two words of the label ("de : paiement").
            skipped = true;
            c += 2;
        } else if lc == phrase[p] {
            p += 1;
            c += 1;
        } else if lc == ' '
            && !skipped
            && p > 0
            && phrase[p - 1].is_alphabetic()
            && phrase[p].is_alphabetic()
        {
            skipped = true;
            c += 1;
        } else {
            return None;
        }
    }
    Some(c)
}

/// Seller and buyer labels are headings: nothing but a colon or a column gap may follow them
/// ("Seller trade name" is not a seller heading).
fn heading_ok(chars: &[char], end: usize) -> bool {
    let rest: String = chars[end.min(chars.len())..].iter().collect();
    let t = rest.trim_start_matches(' ');
    // A heading naming the party twice ("Käufer/Leistungsempfänger", "Client / Customer").
    let paired = t
        .strip_prefix('/')
        .is_some_and(|r| r.trim_start().starts_with(char::is_alphabetic));
    t.is_empty() || t.starts_with(':') || rest.starts_with("  ") || t.starts_with('(') || paired
}

/// Every label on every line, overlaps resolved longest-first.
pub fn find_labels(lines: &[TLine], lex: &Lexicon) -> Vec<Hit> {
    let mut out = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.norm.chars().collect();
        // (label index, start): labels are tried only at word starts, and only those whose
        // first character is there (a full scan of ~400 labels per line was the hot spot).
        let mut found: Vec<(usize, Hit)> = Vec::new();
        for i in (0..chars.len()).filter(|&i| at_word_start(&chars, i)) {
            let Some(first) = chars.get(i) else { continue };
            let Some(candidates) = lex.by_first.get(first) else {
                continue;
            };
            for &k in candidates {
                let Some(label) = lex.labels.get(k) else {
                    continue;
                };
                let Some(end) = phrase_end(&chars, i, &label.phrase) else {
                    continue;
                };
                let n = end - i;
                let last_is_letter = label.phrase.last().is_some_and(|c| c.is_alphabetic());
                let next = chars.get(i + n);
                if last_is_letter
                    && next.is_some_and(|c| c.is_alphabetic() || *c == '_' || *c == '@')
                {
                    continue;
                }
                // Not a piece of an e-mail address or a domain name.
                if next == Some(&'.') && chars.get(i + n + 1).is_some_and(|c| c.is_alphanumeric()) {
                    continue;
                }
                if (label.field == "seller" || label.field == "buyer") && !heading_ok(&chars, i + n)
                {
                    continue;
                }
                found.push((
                    k,
                    Hit {
                        field: label.field.clone(),
                        weight: label.weight,
                        line: li,
                        start: i,
                        end: i + n,
                    },
                ));
            }
        }
        // Same order as a scan label by label, so ties resolve as before.
        found.sort_by_key(|(k, h)| (*k, h.start));
        let mut found: Vec<Hit> = found.into_iter().map(|(_, h)| h).collect();
        found.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(b.weight.total_cmp(&a.weight))
        });
        let mut kept: Vec<Hit> = Vec::new();
        for h in found {
            if kept.iter().all(|k| h.end <= k.start || h.start >= k.end) {
                kept.push(h);
            }
        }
        kept.sort_by_key(|h| h.start);
        out.extend(absorb_qualified_tax(&chars, kept));
    }
    out.retain(|h| !negated_tax(lines, h));
    out
}

/// Words that say an amount is without tax: a tax word after one of them does not label a tax.
const NEGATIONS: &[&str] = &[
    "ohne",
    "excl",
    "exkl",
    "excluding",
    "exclusive",
    "hors",
    "sans",
    "without",
];

/// A tax word negated by the word before it ("Zeilenbetrag ohne MwSt.", a column heading "VK-Preis
/// / Ohne / MwSt." wrapped over lines, "prix hors TVA") labels amounts without tax, never the tax
/// total. The word before is on the same line, or, for a label starting its segment, the last
/// word right above it in the same column.
fn negated_tax(lines: &[TLine], h: &Hit) -> bool {
    if h.field != "total_tax" {
        return false;
    }
    let Some(l) = lines.get(h.line) else {
        return false;
    };
    let before: String = l.norm.chars().take(h.start).collect();
    let seg = before.rsplit("  ").next().unwrap_or("");
    let last_word = |t: &str| {
        t.split(|c: char| !c.is_alphanumeric())
            .rfind(|w| !w.is_empty())
            .map(str::to_string)
    };
    if let Some(w) = last_word(seg) {
        return NEGATIONS.contains(&w.as_str());
    }
    let (Some(b), Some(above)) = (l.span_box(h.start, h.end), h.line.checked_sub(1)) else {
        return false;
    };
    let Some(a) = lines.get(above).filter(|a| a.page == l.page) else {
        return false;
    };
    if b.y0 - a.bbox.y1 > b.height().max(1.0) {
        return false;
    }
    // The words of the line above that stand over the label.
    let over: Vec<&super::text::TWord> = a
        .words
        .iter()
        .filter(|w| w.bbox.x1 > b.x0 && w.bbox.x0 < b.x1)
        .collect();
    // The negation must end its cell: "Ohne" over "MwSt." is one heading wrapped, while "Total
    // hors taxes" over "TVA 20 %" is a totals block whose next row is the tax.
    over.last().is_some_and(|w| {
        let text: String = a.norm.chars().skip(w.start).take(w.end - w.start).collect();
        let after: String = a.norm.chars().skip(w.end).take(2).collect();
        (after.is_empty() || after == "  ")
            && last_word(&text).is_some_and(|t| NEGATIONS.contains(&t.as_str()))
    })
}

/// Words that end a total's label with "excluding/including", the tax word after them belonging
/// to the same label.
const QUALIFIERS: &[&str] = &[
    "excl",
    "incl",
    "excluding",
    "including",
    "hors",
    "ohne",
    "inkl",
    "exkl",
    "zzgl",
    "before",
    "without",
    "with",
];

/// "Total excl. VAT", "Total incl. VAT", "Summe inkl. MwSt": a tax word right after a total label
/// ending in excl./incl. qualifies that label, it is not a tax label of its own (whose window
/// would take the total's amount).
fn absorb_qualified_tax(chars: &[char], hits: Vec<Hit>) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::new();
    for h in hits {
        if let Some(prev) = out.last_mut() {
            let between: String = chars.get(prev.end..h.start).unwrap_or(&[]).iter().collect();
            let label: String = chars
                .get(prev.start..prev.end)
                .unwrap_or(&[])
                .iter()
                .collect();
            let qualified = label
                .split(|c: char| !c.is_alphanumeric())
                .rfind(|w| !w.is_empty())
                .is_some_and(|w| QUALIFIERS.contains(&w));
            if h.field == "total_tax"
                && matches!(prev.field.as_str(), "total_net" | "total_gross")
                && qualified
                && matches!(between.as_str(), " " | ". " | ".")
            {
                prev.end = h.end;
                continue;
            }
        }
        out.push(h);
    }
    out
}

/// Hits grouped by field name.
pub fn by_field(hits: &[Hit]) -> BTreeMap<&str, Vec<&Hit>> {
    let mut m: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
    for h in hits {
        m.entry(h.field.as_str()).or_default().push(h);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::fields::text::lines_of;
    use crate::read::layout::{BBox, Page, Word};

    fn line(text: &str) -> Vec<TLine> {
        let words = text
            .split(' ')
            .enumerate()
            .map(|(i, t)| Word {
                text: t.into(),
                bbox: BBox {
                    x0: i as f32 * 40.0,
                    y0: 0.0,
                    x1: i as f32 * 40.0 + 35.0,
                    y1: 10.0,
                },
                confidence: 1.0,
            })
            .collect();
        lines_of(&[Page {
            number: 1,
            width: 600.0,
            height: 800.0,
            words,
        }])
    }

    #[test]
    fn embedded_lexicon_parses() {
        let lex = Lexicon::parse(LEXICON_TOML).unwrap();
        assert!(lex.labels.len() > 100);
        assert!(lex.labels.iter().all(|l| l.weight > 0.0 && l.weight <= 1.0));
    }

    #[test]
    fn ocr_space_inside_a_long_label_word_still_matches() {
        let hits = find_labels(&line("Fälligkeits datum 12.04.2026"), Lexicon::embedded());
        assert!(hits.iter().any(|h| h.field == "due_date"), "{hits:?}");
        let hits = find_labels(
            &line("Date limite de : paiement 30/09/2026"),
            Lexicon::embedded(),
        );
        assert!(hits.iter().any(|h| h.field == "due_date"), "{hits:?}");
        // Two separate words are not glued into a short label ("da te" is not "date").
        let hits = find_labels(&line("da te 12.04.2026"), Lexicon::embedded());
        assert!(hits.iter().all(|h| h.field != "issue_date"), "{hits:?}");
    }

    #[test]
    fn an_ocr_speck_does_not_hide_a_label() {
        // A 0 % "." read between two of the label's words.
        let placed = [
            ("Date", 0.0, 35.0),
            ("limite", 40.0, 75.0),
            ("de", 80.0, 95.0),
            (".", 97.0, 99.0),
            ("paiement", 101.0, 140.0),
            ("07/08/2025", 145.0, 190.0),
        ];
        let words: Vec<Word> = placed
            .iter()
            .map(|(t, x0, x1)| Word {
                text: (*t).into(),
                bbox: BBox {
                    x0: *x0,
                    y0: 0.0,
                    x1: *x1,
                    y1: 10.0,
                },
                confidence: if *t == "." { 0.0 } else { 0.95 },
            })
            .collect();
        let ls = lines_of(&[Page {
            number: 1,
            width: 600.0,
            height: 800.0,
            words,
        }]);
        let hits = find_labels(&ls, Lexicon::embedded());
        assert!(hits.iter().any(|h| h.field == "due_date"), "{hits:?}");
    }

    #[test]
    fn a_negated_tax_word_labels_no_tax() {
        let tax = |lines: &[TLine]| {
            find_labels(lines, Lexicon::embedded())
                .iter()
                .filter(|h| h.field == "total_tax")
                .count()
        };
        assert_eq!(tax(&line("Zeilenbetrag ohne MwSt.")), 0);
        assert_eq!(tax(&line("Prix hors TVA")), 0);
        assert_eq!(tax(&line("MwSt. 19% 3,89")), 1);
        assert_eq!(tax(&line("zuzüglich 19% MwSt. 160,55")), 1);
        // A heading wrapped over two lines: "Ohne" over "MwSt.", and a plain "MwSt." heading.
        let stacked = |top: &str| {
            let w = |t: &str, y: f32| Word {
                text: t.into(),
                bbox: BBox {
                    x0: 100.0,
                    y0: y,
                    x1: 130.0,
                    y1: y + 8.0,
                },
                confidence: 1.0,
            };
            lines_of(&[Page {
                number: 1,
                width: 600.0,
                height: 800.0,
                words: vec![w(top, 100.0), w("MwSt.", 109.0)],
            }])
        };
        assert_eq!(tax(&stacked("Ohne")), 0);
        assert_eq!(tax(&stacked("Betrag")), 1);
        // A totals block: the net's "hors taxes" above the tax row does not negate it.
        let block = [
            ("Total", 100.0, 130.0),
            ("hors", 134.0, 150.0),
            ("taxes", 154.0, 180.0),
        ];
        let mut words: Vec<Word> = block
            .iter()
            .map(|(t, x0, x1)| Word {
                text: (*t).into(),
                bbox: BBox {
                    x0: *x0,
                    y0: 100.0,
                    x1: *x1,
                    y1: 108.0,
                },
                confidence: 1.0,
            })
            .collect();
        words.push(Word {
            text: "TVA".into(),
            bbox: BBox {
                x0: 136.0,
                y0: 110.0,
                x1: 149.0,
                y1: 118.0,
            },
            confidence: 1.0,
        });
        let lines = lines_of(&[Page {
            number: 1,
            width: 600.0,
            height: 800.0,
            words,
        }]);
        assert_eq!(tax(&lines), 1);
    }

    #[test]
    fn a_tax_word_after_excl_belongs_to_the_total_label() {
        let hits = find_labels(&line("Total excl. VAT 24,370.34"), Lexicon::embedded());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].field, "total_net");
    }

    #[test]
    fn longest_label_wins_and_glued_values_match() {
        let lex = Lexicon::embedded();
        let hits = find_labels(&line("Total HT : 46,68 €"), lex);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].field, "total_net");
        let hits = find_labels(&line("Facture n°562044387 du 02 Juillet 2015"), lex);
        assert_eq!(hits[0].field, "invoice_number");
        assert_eq!(hits[0].end, "facture n°".chars().count());
        assert!(hits.iter().any(|h| h.field == "issue_date"));
        assert!(find_labels(&line("Invoices"), lex).is_empty());
    }
}
