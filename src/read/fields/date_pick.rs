//! Dates picked by their labels (issue date, due date), and the first date printed when no
//! label names one.
//!
//! A date counts as a label's value when it sits right of the label (after punctuation and at most
//! one connector word) or below it in the same column; the date on the invoice-number line is the
//! issue date, a version line's date never is.

use chrono::NaiveDate;

use super::candidates::{strip_lead, windows, Place};
use super::dates::{find_dates, DateOrder};
use super::labels::Hit;
use super::text::TLine;
use super::totals::Scored;

pub fn labelled(
    lines: &[TLine],
    hits: &[Hit],
    field: &str,
    order: DateOrder,
    not_before: Option<NaiveDate>,
) -> Option<Scored<NaiveDate>> {
    let mut best: Option<(f32, NaiveDate, f32)> = None;
    for h in hits.iter().filter(|h| h.field == field) {
        for w in windows(h, lines, hits) {
            let norm = w.norm(lines);
            let lead = date_lead(&norm);
            for d in find_dates(&norm, order) {
                let near = match w.place {
                    Place::Right => d.start <= lead + 2,
                    Place::Below(_) => true,
                };
                if !near || not_before.is_some_and(|nb| d.date < nb) {
                    continue;
                }
                let c = lines
                    .get(w.line)
                    .map(|l| l.confidence(w.start + d.start, w.start + d.end))
                    .unwrap_or(1.0);
                // The date on the invoice-number line ("Rechnung Nr. 1 vom 05.03.2018") is the
                // issue date; a version line's date is not.
                let mut s = w.weight;
                if hits
                    .iter()
                    .any(|o| o.line == h.line && o.field == "invoice_number")
                {
                    s += 0.3;
                }
                if lines
                    .get(h.line)
                    .is_some_and(|l| l.norm.contains("version"))
                {
                    s *= 0.3;
                }
                if best.as_ref().is_none_or(|b| s > b.0) {
                    best = Some((s, d.date, c));
                }
                break;
            }
        }
    }
    best.map(|(s, value, c)| Scored {
        value,
        confidence: ((0.35 + 0.55 * s).min(0.95)) * c,
    })
}

/// Words that join a date label to its date ("Date limite de paiement le 05 juillet", "Fällig am
/// 3. März", "Due on the 5th"): skipped like punctuation, so the date still counts as right of the
/// label.
const DATE_CONNECTORS: &[&str] = &[
    "le ", "du ", "au ", "am ", "on ", "by ", "the ", "zum ", "vom ",
];

/// Characters before a label's date: punctuation, then at most one connector word.
fn date_lead(norm: &str) -> usize {
    let (lead, rest) = strip_lead(norm);
    match DATE_CONNECTORS.iter().find(|c| rest.starts_with(*c)) {
        Some(c) => lead + c.len() + strip_lead(&rest[c.len()..]).0,
        None => lead,
    }
}

/// Without a labelled issue date, a date printed right of the invoice number's label on its own
/// line ("Rechnung # RE-506 von 18.11.2017", "Facture n° 12 du 05/03/2018", "Invoice 7 dated
/// 1 March 2024") is the issue date: a header's print date above it is not.
pub fn on_number_line(
    lines: &[TLine],
    hits: &[Hit],
    order: DateOrder,
) -> Option<Scored<NaiveDate>> {
    hits.iter()
        .filter(|h| h.field == "invoice_number")
        .find_map(|h| {
            let l = lines.get(h.line)?;
            let right: String = l.norm.chars().skip(h.end).collect();
            let d = find_dates(&right, order).into_iter().next()?;
            // Only a date the line introduces as the document's ("von", "vom", "du", "dated"):
            // a period or a delivery date on the same line is not.
            let before: String = right.chars().take(d.start).collect();
            let introduced = ["von ", "vom ", "du ", "dated ", "date ", "of "]
                .iter()
                .any(|w| before.trim_end().ends_with(w.trim_end()));
            introduced.then(|| Scored {
                value: d.date,
                confidence: 0.6 * l.confidence(h.end + d.start, h.end + d.end),
            })
        })
}

/// A letter's date line, "<place>, den <date>" or "<place>, le <date>" ("München, den
/// 01.11.2024", "Paris, le 5 mars 2024"): the date the document was written, its issue date. It
/// outranks a bare "Datum"/"Date" label elsewhere (a footer's print date), not a named one.
pub fn letter_date(lines: &[TLine], order: DateOrder) -> Option<Scored<NaiveDate>> {
    lines.iter().filter(|l| l.page == 1).find_map(|l| {
        find_dates(&l.norm, order).into_iter().find_map(|d| {
            let before: String = l.norm.chars().take(d.start).collect();
            let seg = before.trim_end().rsplit("  ").next().unwrap_or("");
            let place = seg
                .strip_suffix(", den")
                .or_else(|| seg.strip_suffix(", le"))?
                .trim();
            let words: Vec<&str> = place.split_whitespace().collect();
            let is_place = (1..=3).contains(&words.len())
                && words
                    .iter()
                    .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-' || c == '.'));
            is_place.then(|| Scored {
                value: d.date,
                confidence: 0.85 * l.confidence(d.start, d.end),
            })
        })
    })
}

/// Without a labelled date, the first date printed is usually the issue date.
pub fn first(lines: &[TLine], order: DateOrder) -> Option<Scored<NaiveDate>> {
    lines.iter().filter(|l| l.page == 1).find_map(|l| {
        find_dates(&l.norm, order).first().map(|d| Scored {
            value: d.date,
            confidence: 0.3 * l.confidence(d.start, d.end),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_introduced_on_the_number_line_is_the_issue_date() {
        use crate::read::fields::labels::{find_labels, Lexicon};
        use crate::read::fields::text::lines_of;
        use crate::read::layout::{BBox, Page, Word};
        let page = |rows: &[&str]| {
            let mut words = Vec::new();
            for (r, row) in rows.iter().enumerate() {
                for (i, t) in row.split(' ').enumerate() {
                    let (x, y) = (40.0 + 60.0 * i as f32, 50.0 + 20.0 * r as f32);
                    words.push(Word {
                        text: t.to_string(),
                        bbox: BBox {
                            x0: x,
                            y0: y,
                            x1: x + 50.0,
                            y1: y + 10.0,
                        },
                        confidence: 1.0,
                    });
                }
            }
            vec![Page {
                number: 1,
                width: 595.0,
                height: 842.0,
                words,
            }]
        };
        let pick = |rows: &[&str]| {
            let lines = lines_of(&page(rows));
            let hits = find_labels(&lines, Lexicon::embedded());
            on_number_line(&lines, &hits, DateOrder::DayFirst).map(|d| d.value.to_string())
        };
        assert_eq!(
            pick(&["2019-02-03", "Rechnung # RE-506 von 18.11.2017"]).as_deref(),
            Some("2017-11-18")
        );
        // A period on the number line is not introduced as the document's date.
        assert_eq!(pick(&["Rechnung # RE-506 Zeitraum 01.11.2024"]), None);
    }

    #[test]
    fn a_letter_date_line_is_the_issue_date() {
        let lines = |text: &str| {
            let words = text
                .split(' ')
                .enumerate()
                .filter(|(_, t)| !t.is_empty())
                .map(|(i, t)| crate::read::layout::Word {
                    text: t.into(),
                    bbox: crate::read::layout::BBox {
                        x0: 40.0 * i as f32,
                        y0: 10.0,
                        x1: 40.0 * i as f32 + 30.0,
                        y1: 20.0,
                    },
                    confidence: 1.0,
                })
                .collect();
            super::super::text::lines_of(&[crate::read::layout::Page {
                number: 1,
                width: 600.0,
                height: 800.0,
                words,
            }])
        };
        let d = |t: &str| letter_date(&lines(t), DateOrder::DayFirst).map(|s| s.value);
        assert_eq!(
            d("München, den 01.11.2024"),
            NaiveDate::from_ymd_opt(2024, 11, 1)
        );
        assert_eq!(
            d("Paris, le 05/03/2024"),
            NaiveDate::from_ymd_opt(2024, 3, 5)
        );
        // Not a place before the comma, or no "den"/"le": not a letter date.
        assert_eq!(d("Lieferung 12, den 01.11.2024"), None);
        assert_eq!(d("Datum: 30.10.2024"), None);
    }

    #[test]
    fn a_connector_word_between_label_and_date_is_skipped() {
        assert_eq!(date_lead(" le 05 juillet 2015"), 4);
        assert_eq!(date_lead(": 05/07/2015"), 2);
        assert_eq!(date_lead(" am 3. marz 2026"), 4);
    }
}
