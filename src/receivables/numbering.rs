//! Invoice numbers: a pattern (`FA-{YYYY}-{seq:05}`) applied to a fiscal year and a counter.
//! The counter itself lives in the store and is taken inside the posting transaction, so a
//! number exists only if its invoice was issued: gap-free per series (the pattern) and fiscal
//! year. The pattern must contain the year, since the counter restarts each fiscal year.

use std::fmt;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// `{YYYY}` or `{YY}`: the calendar year the fiscal year starts in.
    Year {
        digits: usize,
    },
    /// `{seq}` or `{seq:05}`: the counter, zero-padded to `width`.
    Seq {
        width: usize,
    },
}

/// A parsed number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    text: String,
    parts: Vec<Part>,
}

impl NumberPattern {
    pub fn parse(text: &str) -> Result<NumberPattern, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        let explain = "write text with {YYYY} (or {YY}) and {seq} (or {seq:05} for 5 digits), e.g. FA-{YYYY}-{seq:05}";
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(format!(
                    "number pattern '{text}' has an unclosed '{{': {explain}"
                ));
            };
            let token = &rest[open + 1..open + close];
            parts.push(match token {
                "YYYY" => Part::Year { digits: 4 },
                "YY" => Part::Year { digits: 2 },
                "seq" => Part::Seq { width: 1 },
                t => match t.strip_prefix("seq:0").map(str::parse::<usize>) {
                    Some(Ok(width)) if (1..=12).contains(&width) => Part::Seq { width },
                    _ => {
                        return Err(format!(
                            "number pattern '{text}': {{{token}}} is not known: {explain}"
                        ))
                    }
                },
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        let count = |f: fn(&Part) -> bool| parts.iter().filter(|p| f(p)).count();
        if count(|p| matches!(p, Part::Seq { .. })) != 1 {
            return Err(format!(
                "number pattern '{text}' needs exactly one {{seq}}: {explain}"
            ));
        }
        if count(|p| matches!(p, Part::Year { .. })) == 0 {
            return Err(format!(
                "number pattern '{text}' needs the year (the counter restarts each fiscal year, numbers must stay unique): {explain}"
            ));
        }
        let literal: String = parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        if literal
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(format!(
                "number pattern '{text}': no slashes or control characters (the number names the PDF file)"
            ));
        }
        Ok(NumberPattern {
            text: text.to_string(),
            parts,
        })
    }

    /// The pattern as written: it names the series (its counter).
    pub fn series(&self) -> &str {
        &self.text
    }

    /// The number of the `seq`-th invoice of fiscal year `year`.
    pub fn number(&self, year: i32, seq: i64) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Year { digits: 2 } => format!("{:02}", year.rem_euclid(100)),
                Part::Year { .. } => format!("{year:04}"),
                Part::Seq { width } => format!("{seq:0width$}"),
            })
            .collect()
    }
}

impl fmt::Display for NumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for NumberPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NumberPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_make_numbers_from_year_and_counter() {
        let p = NumberPattern::parse("FA-{YYYY}-{seq:05}").unwrap();
        assert_eq!(p.number(2026, 42), "FA-2026-00042");
        assert_eq!(p.number(2026, 123456), "FA-2026-123456");
        let q = NumberPattern::parse("{YY}{seq}").unwrap();
        assert_eq!(q.number(2026, 7), "267");
    }

    #[test]
    fn a_pattern_without_year_or_counter_is_refused() {
        for bad in [
            "FA-{seq:05}",
            "FA-{YYYY}",
            "FA-{YYYY}-{seq}-{seq}",
            "FA-{YYYY",
            "FA-{MM}-{seq}",
            "FA/{YYYY}/{seq}",
        ] {
            assert!(NumberPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
