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
    fn a_connector_word_between_label_and_date_is_skipped() {
        assert_eq!(date_lead(" le 05 juillet 2015"), 4);
        assert_eq!(date_lead(": 05/07/2015"), 2);
        assert_eq!(date_lead(" am 3. marz 2026"), 4);
    }
}
