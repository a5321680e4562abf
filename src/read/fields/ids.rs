//! Identifiers printed on a line: VAT ids, IBANs, BICs, SIRENs and SIRETs.
//!
//! A candidate is only ever reported through the domain type's `parse` (French VAT key, Luhn,
//! ISO 7064 mod 97), so a look-alike number is never the value. Printed groupings vary
//! (`FR76 10107 00245 00617052317 39`, `DE 232 446 240`), so each candidate is the longest run of
//! letters, digits and single spaces after a plausible start, tried from longest to shortest.

use std::sync::OnceLock;

use regex::Regex;

use crate::domain::{Bic, Iban, Siren, Siret, VatId};

#[derive(Debug, Clone, PartialEq)]
pub struct Found<T> {
    pub value: T,
    pub start: usize,
    pub end: usize,
}

fn starts_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b([A-Z]{2})[\s.]?([0-9A-Z])").expect("id start regex is valid"))
}

const VAT_COUNTRIES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GB", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI", "CH", "NO",
];

/// The characters after `start` that could belong to one printed identifier: letters, digits,
/// dots and single spaces (a double space is a column gap).
fn run_from(chars: &[char], start: usize, max_compact: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut compact = String::new();
    let mut i = start;
    while i < chars.len() && compact.len() < max_compact {
        let c = chars[i];
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            out.push((i + 1, compact.clone()));
        } else if (c == ' ' || c == '.' || c == '-' || c == '\u{a0}')
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric())
        {
            // a single separator inside the identifier
        } else {
            break;
        }
        i += 1;
    }
    out
}

fn find_with<T>(text: &str, max: usize, parse: impl Fn(&str) -> Option<T>) -> Vec<Found<T>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Found<T>> = Vec::new();
    // Every start is tried, overlapping ones too: the label word before an id looks like a start
    // itself ("USt-ID DE29…", "IBAN DE42…") and must not swallow the real one.
    let mut from = 0;
    while let Some(m) = starts_re().find_at(text, from) {
        from = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        let start = text[..m.start()].chars().count();
        if out.iter().any(|f| start < f.end) {
            continue;
        }
        let run = run_from(&chars, start, max);
        // Longest first; the identifier must end at a word boundary.
        for (end, compact) in run.iter().rev() {
            if chars.get(*end).is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            if let Some(value) = parse(compact) {
                out.push(Found {
                    value,
                    start,
                    end: *end,
                });
                break;
            }
        }
    }
    out
}

pub fn find_vat_ids(text: &str) -> Vec<Found<VatId>> {
    find_with(text, 15, |c| {
        let cc = c.get(..2)?;
        // An IBAN is not a VAT id even when its start looks like one.
        if !VAT_COUNTRIES.contains(&cc) || c.len() > 14 || c.len() < 10 {
            return None;
        }
        // A French key may hold letters, so OCR's O for 0 would pass unchecked: the digit
        // reading wins when its key check passes. Where the format allows digits only (the
        // French SIREN, every German, Italian… number), a look-alike letter is the digit too.
        let digit_places = match cc {
            "FR" => 2..13,
            "DE" | "IT" | "PT" | "FI" | "DK" | "SE" | "PL" | "BE" | "LU" | "EL" | "HR" | "SI" => {
                2..15
            }
            _ => 0..0,
        };
        let digits: String = c
            .char_indices()
            .map(|(i, ch)| {
                if digit_places.contains(&i) {
                    ocr_digit(ch)
                } else {
                    ch
                }
            })
            .collect();
        VatId::parse(&digits).ok().or_else(|| VatId::parse(c).ok())
    })
}

/// The digit OCR most often reads as a letter of the same shape (0 as O/D/Q, 1 as I/L, 5 as S,
/// 8 as B, 2 as Z); any other character unchanged.
fn ocr_digit(ch: char) -> char {
    match ch {
        'O' | 'D' | 'Q' => '0',
        'I' | 'L' => '1',
        'S' => '5',
        'B' => '8',
        'Z' => '2',
        _ => ch,
    }
}

pub fn find_ibans(text: &str) -> Vec<Found<Iban>> {
    find_with(text, 34, |c| {
        if c.len() < 15 {
            return None;
        }
        Iban::parse(c)
            .ok()
            .or_else(|| Iban::parse(&digits_where_digits(c)).ok())
    })
}

/// OCR reads a digit as its look-alike letter (0 as O, 1 as I or L, 5 as S, 8 as B). Where an
/// IBAN can only hold digits (its check digits, and the all-digit parts of the country's BBAN:
/// bank and branch codes, the French RIB key), such a letter is the digit. The repaired reading
/// still has to pass mod 97, so a repair never invents an account.
fn digits_where_digits(c: &str) -> String {
    let len = c.chars().count();
    let cc = c.get(..2).unwrap_or("");
    // (from, to) character ranges that are digits only, after the 2 check digits.
    let bban_digits: &[(usize, usize)] = match cc {
        // 5-digit bank, 5-digit branch, 11 alphanumerics, 2-digit key.
        "FR" | "MC" => &[(4, 14), (25, 27)],
        "DE" | "AT" | "BE" | "ES" | "PT" | "PL" | "SE" | "DK" | "FI" | "SI" | "HR" | "SK"
        | "CZ" => &[(4, 34)],
        // Bank code before an alphanumeric account.
        "CH" | "LU" => &[(4, 9)],
        "IT" | "SM" => &[(5, 15)],
        _ => &[],
    };
    c.chars()
        .enumerate()
        .map(|(i, ch)| {
            let digit_place = (2..4).contains(&i)
                || bban_digits
                    .iter()
                    .any(|(a, b)| (*a..*b.min(&len)).contains(&i));
            if digit_place {
                ocr_digit(ch)
            } else {
                ch
            }
        })
        .collect()
}

pub fn find_bics(text: &str) -> Vec<Found<Bic>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for word in text.split(' ') {
        let n = word.chars().count();
        let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let looks = (w.len() == 8 || w.len() == 11)
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && w.chars().take(6).all(|c| c.is_ascii_uppercase());
        if looks {
            if let Ok(b) = Bic::parse(w) {
                out.push(Found {
                    value: b,
                    start: pos,
                    end: pos + n,
                });
            }
        }
        pos += n + 1;
    }
    out
}

/// SIRETs (14 digits) and SIRENs (9 digits) written with any spacing, Luhn-valid.
pub fn find_siren_siret(text: &str) -> (Vec<Found<Siret>>, Vec<Found<Siren>>) {
    let chars: Vec<char> = text.chars().collect();
    let (mut sirets, mut sirens) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if !(boundary && chars[i].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !(c == ' ' && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit())) {
                break;
            }
            j += 1;
        }
        let alnum_after = chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum_after {
            if digits.len() == 14 {
                if let Ok(s) = Siret::parse(&digits) {
                    sirets.push(Found {
                        value: s,
                        start: i,
                        end: j,
                    });
                }
            } else if digits.len() == 9 {
                if let Ok(s) = Siren::parse(&digits) {
                    sirens.push(Found {
                        value: s,
                        start: i,
                        end: j,
                    });
                }
            }
        }
        i = j.max(i + 1);
    }
    (sirets, sirens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_ids_with_spaces_and_checks() {
        let v = find_vat_ids("N° TVA intra : FR 11 123 456 782");
        assert_eq!(v[0].value.as_str(), "FR11123456782");
        assert_eq!(
            find_vat_ids("UStId DE 232 446 240")[0].value.as_str(),
            "DE232446240"
        );
        assert_eq!(
            find_vat_ids("BTW NL810433941B01")[0].value.as_str(),
            "NL810433941B01"
        );
        // Wrong French key: never reported.
        assert!(find_vat_ids("TVA FR12123456782").is_empty());
        assert!(find_vat_ids("TVA F63530848134").is_empty());
        // OCR's O for a zero in a French key.
        assert_eq!(
            find_vat_ids("TVA FRO8299305268")[0].value.as_str(),
            "FR08299305268"
        );
        // OCR's B for an 8 and S for a 5 where a SIREN holds digits only.
        assert_eq!(
            find_vat_ids("N° TVA FRB4 S95030131")[0].value.as_str(),
            "FR84595030131"
        );
        // A label word that looks like an id start does not hide the id after it.
        assert_eq!(
            find_vat_ids("USt-ID DE29 5183020")[0].value.as_str(),
            "DE295183020"
        );
    }

    #[test]
    fn ibans_with_odd_grouping() {
        let i = find_ibans("IBAN : FR76 10107 00245 00617052317 39 - BIC : BREDFRPP");
        assert_eq!(i[0].value.as_str(), "FR7610107002450061705231739");
        assert_eq!(
            find_ibans("IBAN DE30507500940000048567")[0].value.as_str(),
            "DE30507500940000048567"
        );
        assert!(find_ibans("IBAN FR76 1010 7002 4500 6170 5231 738").is_empty());
        assert!(find_ibans("Bank Account: US1234567890").is_empty());
        // OCR's O for the zero of the check digits: the digit reading passes mod 97.
        assert_eq!(
            find_ibans("IBAN FRO2 9091 6768 5334 0396 9114 649 - BIC DEUTDEFF")[0]
                .value
                .as_str(),
            "FR0290916768533403969114649"
        );
        // A letter where the account may hold letters is not changed; nor is a wrong check.
        assert!(find_ibans("IBAN FRO3 9091 6768 5334 0396 9114 649").is_empty());
        // BIC on the same line, and a final group of two.
        assert_eq!(
            find_ibans("IBAN DE42 6702 8940 3021 9573 89 BIC DEUTDEFF")[0]
                .value
                .as_str(),
            "DE42670289403021957389"
        );
    }

    #[test]
    fn bics_sirens_sirets() {
        assert_eq!(find_bics("BIC : BREDFRPP")[0].value.as_str(), "BREDFRPP");
        assert_eq!(
            find_bics("SWIFT HELADEF1GEL")[0].value.as_str(),
            "HELADEF1GEL"
        );
        let (sirets, sirens) = find_siren_siret("Siret 53084813400017 – RCS B 530 848 134");
        assert_eq!(sirets[0].value.as_str(), "53084813400017");
        assert_eq!(sirens[0].value.as_str(), "530848134");
        let (sirets, sirens) = find_siren_siret("SIRET : 12345678200078");
        assert!(sirets.is_empty() && sirens.is_empty());
    }
}
