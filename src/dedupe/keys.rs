//! Normalised keys that make two readings of one invoice meet in an index (issue 10):
//!
//! - `exact_key`: NFKC, upper case, leading zeros of each digit run dropped, then without whitespace
//!   and `- _ . / \ # °`: `FA-2026/0042` and `fa 2026 42` are the same key. Digit runs are taken
//!   as printed, before the separators go, so the zero padding of one part (`/0042`) is not
//!   mistaken for digits inside a longer number once the parts are glued (`20260042`).
//! - `ocr_key`: the same after folding the letters OCR confuses with digits (O/Q/D→0, I/L/|→1,
//!   S→5, B→8, Z→2, G→6): `INV-1O42` meets `INV-1042`. For matching only, never shown.
//! - `name_key`: a legal name with case, accents, punctuation and legal-form words folded:
//!   `Dupont S.A.R.L.` = `DUPONT SARL` = `dupont`.

use unicode_normalization::UnicodeNormalization;

/// Characters that separate parts of an invoice number without meaning anything.
const SEPARATORS: &[char] = &['-', '_', '.', '/', '\\', '#', '°', 'º'];

/// Legal-form words (FR, EN, DE, and the common EU ones) that do not tell suppliers apart.
const LEGAL_FORMS: &[&str] = &[
    "SARL",
    "SAS",
    "SASU",
    "SA",
    "EURL",
    "SNC",
    "SCI",
    "SCOP",
    "SELARL",
    "EI",
    "EIRL",
    "SCA",
    "LTD",
    "LIMITED",
    "LLC",
    "INC",
    "CORP",
    "CORPORATION",
    "PLC",
    "LLP",
    "LP",
    "CO",
    "COMPANY",
    "GMBH",
    "AG",
    "KG",
    "OHG",
    "UG",
    "EG",
    "BV",
    "NV",
    "SRL",
    "SPA",
    "SL",
    "AB",
    "OY",
    "AS",
];

/// The invoice-number key of rule D2.
pub fn exact_key(number: &str) -> String {
    let folded: String = number.nfkc().flat_map(char::to_uppercase).collect();
    strip_leading_zeros(&folded)
        .chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(c))
        .collect()
}

/// The OCR-tolerant invoice-number key of rule D3.
pub fn ocr_key(number: &str) -> String {
    let folded: String = number
        .nfkc()
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'O' | 'Q' | 'D' => '0',
            'I' | 'L' | '|' => '1',
            'S' => '5',
            'B' => '8',
            'Z' => '2',
            'G' => '6',
            other => other,
        })
        .collect();
    strip_leading_zeros(&folded)
        .chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(c))
        .collect()
}

/// Drops the leading zeros of every run of digits (`A007B0` → `A7B0`; a run of zeros stays `0`).
fn strip_leading_zeros(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_digits = false;
    while let Some(c) = chars.next() {
        if c == '0' && !in_digits && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            continue;
        }
        in_digits = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// A legal name folded for comparison; empty when nothing distinctive is left.
pub fn name_key(name: &str) -> String {
    let plain: String = name
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_uppercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    // "S.A.R.L." became "S A R L": glue single letters back together before dropping forms.
    let mut words: Vec<String> = Vec::new();
    let mut letters = String::new();
    for w in plain.split_whitespace() {
        if w.chars().count() == 1 {
            letters.push_str(w);
            continue;
        }
        if !letters.is_empty() {
            words.push(std::mem::take(&mut letters));
        }
        words.push(w.to_string());
    }
    if !letters.is_empty() {
        words.push(letters);
    }
    words.retain(|w| !LEGAL_FORMS.contains(&w.as_str()));
    words.join(" ")
}

/// Levenshtein distance on characters, stopping early once it exceeds `max` (returns `max + 1`).
pub fn edit_distance_within(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        if cur.iter().min().is_some_and(|m| *m > max) {
            return max + 1;
        }
        prev = cur;
    }
    prev[b.len()].min(max + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_keys_ignore_layout_not_content() {
        assert_eq!(exact_key("FA-2026/0042"), exact_key("fa 2026 42"));
        assert_eq!(exact_key("N° 00123"), "N123");
        assert_eq!(exact_key("INV_2026.0007"), "INV20267");
        assert_eq!(
            exact_key("０４２"),
            "42",
            "full-width digits fold under NFKC"
        );
        assert_eq!(
            exact_key("A0B"),
            "A0B",
            "a lone zero is a digit, not padding"
        );
        assert_ne!(exact_key("F-1042"), exact_key("F-1043"));
    }

    #[test]
    fn ocr_keys_meet_confusable_readings() {
        assert_eq!(ocr_key("INV-1O42"), ocr_key("INV-1042"));
        assert_eq!(ocr_key("F-2O26-S8"), ocr_key("F-2026-58"));
        assert_ne!(exact_key("INV-1O42"), exact_key("INV-1042"));
    }

    #[test]
    fn names_fold_case_accents_punctuation_and_forms() {
        assert_eq!(name_key("Dupont S.A.R.L."), name_key("DUPONT SARL"));
        assert_eq!(name_key("Papeterie Dupont SAS"), "PAPETERIE DUPONT");
        assert_eq!(name_key("Société Générale"), "SOCIETE GENERALE");
        assert_eq!(
            name_key("Northwind Consulting Ltd."),
            "NORTHWIND CONSULTING"
        );
        assert_ne!(name_key("Dupont"), name_key("Durand"));
    }

    #[test]
    fn edit_distance_stops_early() {
        assert_eq!(edit_distance_within("INV1042", "INV1043", 1), 1);
        assert_eq!(edit_distance_within("INV1042", "INV104", 1), 1);
        assert_eq!(edit_distance_within("INV1042", "XYZ9999", 1), 2);
        assert_eq!(edit_distance_within("abc", "abc", 0), 0);
    }
}
