//! Dates as printed: `12/03/2026`, `12.03.2026`, `2026-03-12`, `12 mars 2026`, `March 12, 2026`,
//! `12 Mar 2026`, `12-Mar-26`, `7. Mai 2014`, with month names in FR/EN/DE/NL.
//!
//! Numeric dates are ambiguous (03/04/2026): the day/month order is decided once per document from
//! its unambiguous dates (a first number above 12 means day first), then from the currency (USD
//! documents write month first), else day first as in Europe. Runs on the normalised text
//! (lower case, no accents), whose characters map 1:1 to the raw text.

use std::sync::OnceLock;

use chrono::NaiveDate;
use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    DayFirst,
    MonthFirst,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundDate {
    pub date: NaiveDate,
    pub start: usize,
    pub end: usize,
}

const MONTHS: &[(&str, u32)] = &[
    ("janvier", 1),
    ("january", 1),
    ("januar", 1),
    ("januari", 1),
    ("janner", 1),
    ("janv", 1),
    ("jan", 1),
    ("fevrier", 2),
    ("february", 2),
    ("februar", 2),
    ("februari", 2),
    ("fevr", 2),
    ("fev", 2),
    ("feb", 2),
    ("mars", 3),
    ("march", 3),
    ("marz", 3),
    ("maerz", 3),
    ("maart", 3),
    ("mar", 3),
    ("mrt", 3),
    ("avril", 4),
    ("april", 4),
    ("avr", 4),
    ("apr", 4),
    ("mai", 5),
    ("may", 5),
    ("mei", 5),
    ("juin", 6),
    ("june", 6),
    ("juni", 6),
    ("jun", 6),
    ("juillet", 7),
    ("july", 7),
    ("juli", 7),
    ("juil", 7),
    ("jul", 7),
    ("aout", 8),
    ("august", 8),
    ("augustus", 8),
    ("aug", 8),
    ("septembre", 9),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("octobre", 10),
    ("october", 10),
    ("oktober", 10),
    ("oct", 10),
    ("okt", 10),
    ("novembre", 11),
    ("november", 11),
    ("nov", 11),
    ("decembre", 12),
    ("december", 12),
    ("dezember", 12),
    ("dec", 12),
    ("dez", 12),
];

fn month_of(name: &str) -> Option<u32> {
    let name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    MONTHS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

struct Res {
    iso: Regex,
    numeric: Regex,
    day_month: Regex,
    month_day: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| {
        let mut names: Vec<&str> = MONTHS.iter().map(|(n, _)| *n).collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        // OCR splits a capital from the rest of its word ("J anuar", "M ärz"): a month name may
        // carry one space after its first letter.
        let spaced: Vec<String> = names
            .iter()
            .map(|n| {
                let mut c = n.chars();
                let first = c.next().map(String::from).unwrap_or_default();
                format!("{}\\s?{}", regex::escape(&first), regex::escape(c.as_str()))
            })
            .collect();
        let m = spaced.join("|");
        let build = |s: &str| Regex::new(s).expect("date regexes are valid");
        Res {
            iso: build(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
            numeric: build(r"\b(\d{1,2})([./-])(\d{1,2})([./-])(\d{4}|\d{2})\b"),
            day_month: build(&format!(
                r"\b(\d{{1,2}})(?:er|\.)?\s?[-\s]\s?({m})\.?\s?[-,\s]\s?(\d{{4}}|\d{{2}})\b"
            )),
            month_day: build(&format!(
                r"\b({m})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s?,?\s?,?\s?(\d{{4}})\b"
            )),
        }
    })
}

fn year_of(s: &str) -> Option<i32> {
    let y: i32 = s.parse().ok()?;
    let y = match s.len() {
        2 if y < 70 => 2000 + y,
        2 => 1900 + y,
        _ => y,
    };
    (1990..=2100).contains(&y).then_some(y)
}

fn char_span(text: &str, m: &regex::Match) -> (usize, usize) {
    let start = text[..m.start()].chars().count();
    (start, start + m.as_str().chars().count())
}

/// Every date in a normalised line, left to right.
pub fn find_dates(norm: &str, order: DateOrder) -> Vec<FoundDate> {
    let r = res();
    let mut out: Vec<FoundDate> = Vec::new();
    let mut push = |m: regex::Match, date: Option<NaiveDate>| {
        if let Some(date) = date {
            let (start, end) = char_span(norm, &m);
            if out.iter().all(|d| end <= d.start || start >= d.end) {
                out.push(FoundDate { date, start, end });
            }
        }
    };
    for c in r.iso.captures_iter(norm) {
        let (Some(m), Some(y), Some(mo), Some(d)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        let date = year_of(y.as_str()).and_then(|y| {
            NaiveDate::from_ymd_opt(y, mo.as_str().parse().ok()?, d.as_str().parse().ok()?)
        });
        push(m, date);
    }
    for c in r.numeric.captures_iter(norm) {
        let (Some(m), Some(a), Some(s1), Some(b), Some(s2), Some(y)) =
            (c.get(0), c.get(1), c.get(2), c.get(3), c.get(4), c.get(5))
        else {
            continue;
        };
        if s1.as_str() != s2.as_str() {
            continue;
        }
        // Not a piece of a longer token (a version number, an id).
        let after = &norm[m.end()..];
        if after.starts_with(|c: char| c.is_ascii_digit())
            || (after.starts_with(['.', '/', '-'])
                && after[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            continue;
        }
        let (Ok(a), Ok(b)) = (a.as_str().parse::<u32>(), b.as_str().parse::<u32>()) else {
            continue;
        };
        let Some(y) = year_of(y.as_str()) else {
            continue;
        };
        let dmy = NaiveDate::from_ymd_opt(y, b, a);
        let mdy = NaiveDate::from_ymd_opt(y, a, b);
        let date = match order {
            DateOrder::DayFirst => dmy.or(mdy),
            DateOrder::MonthFirst => mdy.or(dmy),
        };
        push(m, date);
    }
    for c in r.day_month.captures_iter(norm) {
        let (Some(m), Some(d), Some(mo), Some(y)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        let date = (|| {
            NaiveDate::from_ymd_opt(
                year_of(y.as_str())?,
                month_of(mo.as_str())?,
                d.as_str().parse().ok()?,
            )
        })();
        push(m, date);
    }
    for c in r.month_day.captures_iter(norm) {
        let (Some(m), Some(mo), Some(d), Some(y)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        let date = (|| {
            NaiveDate::from_ymd_opt(
                year_of(y.as_str())?,
                month_of(mo.as_str())?,
                d.as_str().parse().ok()?,
            )
        })();
        push(m, date);
    }
    out.sort_by_key(|d| d.start);
    out
}

/// Decides the day/month order of a document's numeric dates.
pub fn decide_order<'a>(norm_lines: impl Iterator<Item = &'a str>, us_currency: bool) -> DateOrder {
    let (mut day_first, mut month_first) = (0, 0);
    for line in norm_lines {
        for c in res().numeric.captures_iter(line) {
            let (Some(a), Some(b)) = (c.get(1), c.get(3)) else {
                continue;
            };
            let (a, b): (u32, u32) = (
                a.as_str().parse().unwrap_or(0),
                b.as_str().parse().unwrap_or(0),
            );
            if a > 12 && b <= 12 {
                day_first += 1;
            } else if b > 12 && a <= 12 {
                month_first += 1;
            }
        }
    }
    if month_first > day_first || (month_first == day_first && us_currency) {
        DateOrder::MonthFirst
    } else {
        DateOrder::DayFirst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::fields::text::normalize;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn one(s: &str, order: DateOrder) -> Option<NaiveDate> {
        let f = find_dates(&normalize(s), order);
        (f.len() == 1).then(|| f[0].date)
    }

    #[test]
    fn formats_parse() {
        let o = DateOrder::DayFirst;
        assert_eq!(one("12/03/2026", o), Some(d(2026, 3, 12)));
        assert_eq!(one("12.03.2026", o), Some(d(2026, 3, 12)));
        assert_eq!(one("2026-03-12", o), Some(d(2026, 3, 12)));
        assert_eq!(one("12 mars 2026", o), Some(d(2026, 3, 12)));
        assert_eq!(one("March 12, 2026", o), Some(d(2026, 3, 12)));
        assert_eq!(one("12 Mar 2026", o), Some(d(2026, 3, 12)));
        assert_eq!(one("12-Mar-26", o), Some(d(2026, 3, 12)));
        assert_eq!(one("7. Mai 2014", o), Some(d(2014, 5, 7)));
        assert_eq!(one("02 Juillet 2015", o), Some(d(2015, 7, 2)));
        assert_eq!(one("August 3 , 2014", o), Some(d(2014, 8, 3)));
        assert_eq!(one("1er février 2026", o), Some(d(2026, 2, 1)));
        assert_eq!(one("19 april 2014", o), Some(d(2014, 4, 19)));
        assert_eq!(one("8-9-2022", o), Some(d(2022, 9, 8)));
        assert_eq!(one("Jan 31, 2022", o), Some(d(2022, 1, 31)));
        // OCR's split capital.
        assert_eq!(one("15. J anuar 2025", o), Some(d(2025, 1, 15)));
    }

    #[test]
    fn order_is_decided_per_document() {
        assert_eq!(
            one("04/03/2023", DateOrder::MonthFirst),
            Some(d(2023, 4, 3))
        );
        assert_eq!(one("04/03/2023", DateOrder::DayFirst), Some(d(2023, 3, 4)));
        // An impossible reading falls back to the other order.
        assert_eq!(one("03/20/2023", DateOrder::DayFirst), Some(d(2023, 3, 20)));
        let us = ["03/20/2023 04/04/2023"];
        assert_eq!(
            decide_order(us.iter().copied(), false),
            DateOrder::MonthFirst
        );
        let eu = ["20/03/2023"];
        assert_eq!(decide_order(eu.iter().copied(), true), DateOrder::DayFirst);
        assert_eq!(
            decide_order(["01/02/2023"].iter().copied(), true),
            DateOrder::MonthFirst
        );
    }

    #[test]
    fn non_dates_are_ignored() {
        assert!(find_dates("version 1.2.3", DateOrder::DayFirst).is_empty());
        assert!(find_dates("32/13/2026", DateOrder::DayFirst).is_empty());
        assert!(find_dates("tel 01.71.17.61.67", DateOrder::DayFirst).is_empty());
    }
}
