//! Money as printed: `1 234,56 €`, `1.234,56`, `1,234.56`, `-1 234,56`, `(1,234.56)`, `€ 399,00`,
//! with NBSP or narrow NBSP as group separators.
//!
//! The decimal separator is decided per number: the last of `.`/`,` when both appear; a lone
//! separator followed by exactly three digits is a thousands separator, otherwise a decimal one.
//! Amounts are found in a line's raw text, never across a column gap (two spaces, see text.rs),
//! and never inside a date, a percentage's neighbour id or a longer number.

use std::str::FromStr;
use std::sync::OnceLock;

use regex::Regex;
use rust_decimal::Decimal;

/// An amount found in a line: its value and its character span.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundAmount {
    pub value: Decimal,
    pub start: usize,
    pub end: usize,
    /// Printed with decimals (`12,00`), which totals almost always are.
    pub has_decimals: bool,
    /// A currency symbol or code was printed next to it.
    pub has_currency: bool,
}

/// Parses one printed amount (no surrounding text besides a sign, parentheses, a currency).
pub fn parse_amount(s: &str) -> Option<Decimal> {
    let found = find_amounts(s.trim());
    match found.as_slice() {
        [one] => Some(one.value),
        _ => None,
    }
}

/// Converts the digits-and-separators core (`1.234,56`) into a decimal.
pub fn parse_number(core: &str) -> Option<Decimal> {
    let core: String = core
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\''))
        .collect();
    let last_dot = core.rfind('.');
    let last_comma = core.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) | (None, Some(_)) => {
            let sep = if last_dot.is_some() { '.' } else { ',' };
            let count = core.matches(sep).count();
            let tail = core.rsplit(sep).next().unwrap_or("");
            if count == 1 && tail.len() != 3 {
                Some(sep)
            } else {
                None
            }
        }
        (None, None) => None,
    };
    let mut out = String::with_capacity(core.len());
    for c in core.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if Some(c) == decimal_sep {
            out.push('.');
        } else if c != '.' && c != ',' {
            return None;
        }
    }
    Decimal::from_str(&out).ok()
}

fn amount_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?P<neg>[-−–]\s?)?
            (?P<open>\()?
            (?P<cur1>(?:[€$£₹]|EUR|USD|GBP|CHF|INR|PLN|Rs\.?)\s?)?
            (?P<neg2>-\s?)?
            (?P<num>\d{1,3}(?:(?:[.,'\u{a0}\u{202f}\u{2009}]|\x20)\d{3})+(?:[.,]\d{1,4})?|\d+(?:[.,]\d{1,4})?)
            (?P<cur2>\s?(?:[€$£₹]|EUR|USD|GBP|CHF|INR|PLN|zł)(?:\x20?(?:TTC|HT))?)?
            (?P<close>\))?
            (?P<neg3>-)?
            ",
        )
        .expect("the amount regex is valid")
    })
}

/// Every amount on a line, left to right.
pub fn find_amounts(text: &str) -> Vec<FoundAmount> {
    let mut out = Vec::new();
    for caps in amount_re().captures_iter(text) {
        let (Some(m), Some(num)) = (caps.get(0), caps.get(5)) else {
            continue;
        };
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let after2: Option<char> = text[m.end()..].chars().nth(1);
        // Not the middle of a word, date, id, time or percentage.
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | ':'))
            && caps.name("cur1").is_none()
        {
            continue;
        }
        if after.is_some_and(|c| c.is_alphanumeric() && caps.name("cur2").is_none())
            || after.is_some_and(|c| matches!(c, '/' | '%' | '_' | ':'))
            // "5,5 %": a rate, never money, with or without the space before the sign.
            || text[m.end()..].trim_start().starts_with('%')
            || (after.is_some_and(|c| matches!(c, '.' | ',' | '-'))
                && after2.is_some_and(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let core = num.as_str();
        let Some(mut value) = parse_number(core) else {
            continue;
        };
        let negative = caps.name("neg").is_some()
            || caps.name("neg2").is_some()
            || caps.name("neg3").is_some()
            || (caps.name("open").is_some() && caps.name("close").is_some());
        if negative {
            value = -value;
        }
        let has_decimals = value.scale() > 0;
        let start = text[..m.start()].chars().count();
        let end = start + m.as_str().chars().count();
        out.push(FoundAmount {
            value,
            start,
            end,
            has_decimals,
            has_currency: caps.name("cur1").is_some() || caps.name("cur2").is_some(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn formats_parse() {
        assert_eq!(parse_amount("1 234,56 €"), Some(dec!(1234.56)));
        assert_eq!(parse_amount("1\u{a0}234,56"), Some(dec!(1234.56)));
        assert_eq!(parse_amount("1\u{202f}234,56 EUR"), Some(dec!(1234.56)));
        assert_eq!(parse_amount("1.234,56"), Some(dec!(1234.56)));
        assert_eq!(parse_amount("1,234.56"), Some(dec!(1234.56)));
        assert_eq!(parse_amount("-1 234,56"), Some(dec!(-1234.56)));
        assert_eq!(parse_amount("(1,234.56)"), Some(dec!(-1234.56)));
        assert_eq!(parse_amount("€ 4.904,94"), Some(dec!(4904.94)));
        assert_eq!(parse_amount("$4.11"), Some(dec!(4.11)));
        assert_eq!(parse_amount("€ -9,32"), Some(dec!(-9.32)));
        assert_eq!(parse_amount("- 5,00"), Some(dec!(-5.00)));
        assert_eq!(parse_amount("1.234"), Some(dec!(1234)));
        assert_eq!(parse_amount("29.9"), Some(dec!(29.9)));
        assert_eq!(parse_amount("1'234.50"), Some(dec!(1234.50)));
        assert_eq!(parse_amount("Rs 1939"), Some(dec!(1939)));
    }

    #[test]
    fn dates_ids_and_percentages_are_not_amounts() {
        assert!(find_amounts("12/03/2026").is_empty());
        assert!(find_amounts("12.03.2026").is_empty());
        assert!(find_amounts("FR76 3000")
            .iter()
            .all(|a| a.value != dec!(76)));
        assert!(find_amounts("TVA 20%").is_empty());
        let a = find_amounts("TVA 5,5 %  52,73 €");
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].value.to_string(), "52.73");
        assert!(find_amounts("INV/2023/03/0008").is_empty());
    }

    #[test]
    fn columns_are_not_merged() {
        let a = find_amounts("Total  24.99  5.00  29.99");
        let v: Vec<_> = a.iter().map(|x| x.value).collect();
        assert_eq!(v, [dec!(24.99), dec!(5.00), dec!(29.99)]);
        assert!(a.iter().all(|x| x.has_decimals));
        let a = find_amounts("Total HT : 46,68 €");
        assert_eq!(a.len(), 1);
        assert!(a[0].has_currency);
        assert_eq!(&"Total HT : 46,68 €"[11..], "46,68 €");
        assert_eq!(a[0].start, 11);
    }
}
