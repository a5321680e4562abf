//! Payment terms printed instead of a due date ("30 jours fin de mois", "Net 30", "à réception",
//! "zahlbar innerhalb 14 Tagen"), resolved to a date from the issue date.

use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate};
use regex::Regex;

use super::labels::Lexicon;
use super::text::TLine;

#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    /// The printed terms, as on the page.
    pub text: String,
    pub days: u32,
    pub end_of_month: bool,
}

impl Terms {
    /// The due date for an invoice issued on `issue`: `days` later, then to the month's end when
    /// the terms say so (the French "30 jours fin de mois" reading).
    pub fn resolve(&self, issue: NaiveDate) -> Option<NaiveDate> {
        let d = issue.checked_add_days(Days::new(self.days.into()))?;
        if !self.end_of_month {
            return Some(d);
        }
        let (y, m) = if d.month() == 12 {
            (d.year() + 1, 1)
        } else {
            (d.year(), d.month() + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
    }
}

fn days_re(lex: &Lexicon) -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let words: Vec<String> = lex
            .terms
            .days
            .iter()
            .filter(|w| *w != "net")
            .map(|w| regex::escape(w))
            .collect();
        Regex::new(&format!(
            r"\b(?:net\s*(\d{{1,3}})|(\d{{1,3}})\s*(?:{}))\b",
            words.join("|")
        ))
        .expect("terms regex is valid")
    })
}

/// The first payment-terms statement in the document.
pub fn find(lines: &[TLine], lex: &Lexicon) -> Option<Terms> {
    for l in lines {
        let n = &l.norm;
        let eom = lex
            .terms
            .end_of_month
            .iter()
            .any(|w| n.contains(w.as_str()));
        if let Some(c) = days_re(lex).captures(n) {
            let days: u32 = c
                .get(1)
                .or_else(|| c.get(2))
                .and_then(|m| m.as_str().parse().ok())?;
            if days == 0 || days > 180 {
                continue;
            }
            return Some(Terms {
                text: l.raw.trim().to_string(),
                days,
                end_of_month: eom,
            });
        }
        if lex.terms.on_receipt.iter().any(|w| {
            n.match_indices(w.as_str()).any(|(i, _)| {
                (i == 0 || !n[..i].ends_with(|c: char| c.is_alphanumeric()))
                    && !n[i + w.len()..].starts_with(|c: char| c.is_alphanumeric())
            })
        }) {
            return Some(Terms {
                text: l.raw.trim().to_string(),
                days: 0,
                end_of_month: false,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn terms_resolve() {
        let t = Terms {
            text: String::new(),
            days: 30,
            end_of_month: true,
        };
        assert_eq!(t.resolve(d(2026, 1, 15)), Some(d(2026, 2, 28)));
        let t = Terms {
            text: String::new(),
            days: 30,
            end_of_month: false,
        };
        assert_eq!(t.resolve(d(2022, 1, 1)), Some(d(2022, 1, 31)));
        let t = Terms {
            text: String::new(),
            days: 0,
            end_of_month: false,
        };
        assert_eq!(t.resolve(d(2022, 1, 1)), Some(d(2022, 1, 1)));
    }
}
