//! Identifiers printed on invoices: VAT ids, SIREN/SIRET, IBAN, BIC.
//!
//! Each is a type that cannot hold an invalid value: `parse` normalises (spaces, dots, case) and
//! checks the number's own rule (French VAT key, Luhn, ISO 7064 mod 97), and its error keeps the
//! input and says what was expected. Field extraction relies on this to drop look-alike numbers.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("VAT id '{input}' {why}")]
    Vat { input: String, why: String },
    #[error("SIREN '{0}' is not valid: 9 digits passing the Luhn check expected")]
    Siren(String),
    #[error("SIRET '{0}' is not valid: 14 digits (SIREN + 5-digit establishment) passing the Luhn check expected")]
    Siret(String),
    #[error("IBAN '{input}' {why}")]
    Iban { input: String, why: String },
    #[error("BIC '{0}' is not valid: 8 or 11 characters (4 bank letters, 2 country letters, 2 location, optional 3 branch)")]
    Bic(String),
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '\u{a0}' | '\u{202f}'))
        .collect::<String>()
        .to_ascii_uppercase()
}

fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A French SIREN: 9 digits, Luhn-valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siren(String);
string_id!(Siren);

impl Siren {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let c = compact(input);
        if c.len() == 9 && c.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(&c) {
            Ok(Siren(c))
        } else {
            Err(IdError::Siren(input.to_string()))
        }
    }
}

/// A French SIRET: SIREN + 5-digit establishment number, Luhn-valid over all 14 digits
/// (La Poste's SIRETs, SIREN 356000000, use a digit-sum rule instead and are accepted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siret(String);
string_id!(Siret);

impl Siret {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let c = compact(input);
        let digits = c.len() == 14 && c.bytes().all(|b| b.is_ascii_digit());
        let la_poste = digits
            && c.starts_with("356000000")
            && c.bytes().map(|b| u32::from(b - b'0')).sum::<u32>() % 5 == 0;
        if digits && (luhn_ok(&c) || la_poste) {
            Ok(Siret(c))
        } else {
            Err(IdError::Siret(input.to_string()))
        }
    }

    pub fn siren(&self) -> Siren {
        Siren(self.0[..9].to_string())
    }
}

/// An EU (or UK, CH, NO) VAT identifier, stored compact with its country prefix (`FR32123456789`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VatId(String);
string_id!(VatId);

impl VatId {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let c = compact(input);
        let err = |why: &str| IdError::Vat {
            input: input.to_string(),
            why: why.to_string(),
        };
        if c.len() < 4 {
            return Err(err(
                "is too short: a 2-letter country code then the national number expected",
            ));
        }
        let (cc, rest) = c.split_at(2);
        if !cc.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(
                "does not start with a 2-letter country code (FR, DE, BE, …)",
            ));
        }
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        let ok = match cc {
            "FR" => {
                if rest.len() != 11 || !alnum(&rest[..2]) || !all_digits(&rest[2..]) {
                    return Err(err("is not FR + 2 key characters + 9-digit SIREN"));
                }
                if all_digits(&rest[..2]) {
                    let siren: u64 = rest[2..].parse().map_err(|_| err("has a bad SIREN"))?;
                    let key: u64 = rest[..2].parse().map_err(|_| err("has a bad key"))?;
                    if (12 + 3 * (siren % 97)) % 97 != key {
                        return Err(err("has a key that does not match its SIREN"));
                    }
                }
                true
            }
            "DE" | "EE" | "PT" | "EL" | "GR" => rest.len() == 9 && all_digits(rest),
            "BE" => rest.len() == 10 && all_digits(rest),
            "IT" | "LV" => rest.len() == 11 && all_digits(rest),
            "NL" => rest.len() == 12 && alnum(rest) && rest.as_bytes()[9] == b'B',
            "ES" => rest.len() == 9 && alnum(rest),
            "AT" => rest.len() == 9 && rest.starts_with('U') && all_digits(&rest[1..]),
            "LU" | "DK" | "FI" | "HU" | "MT" | "SI" => rest.len() == 8 && all_digits(rest),
            "SE" => rest.len() == 12 && all_digits(rest),
            "PL" | "SK" => rest.len() == 10 && all_digits(rest),
            "IE" => (8..=9).contains(&rest.len()) && alnum(rest),
            "CZ" => (8..=10).contains(&rest.len()) && all_digits(rest),
            "GB" | "XI" => (rest.len() == 9 || rest.len() == 12) && all_digits(rest),
            "CH" | "CHE" => rest.len() >= 9 && alnum(rest),
            "NO" => rest.len() >= 9 && alnum(rest),
            _ => (2..=13).contains(&rest.len()) && alnum(rest),
        };
        if ok {
            Ok(VatId(c))
        } else {
            Err(err(&format!(
                "does not have the format of a {cc} VAT number"
            )))
        }
    }

    pub fn country(&self) -> &str {
        &self.0[..2]
    }
}

/// An IBAN, compact and upper-case, ISO 13616 mod-97 valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);
string_id!(Iban);

impl Iban {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let c = compact(input);
        let err = |why: &str| IdError::Iban {
            input: input.to_string(),
            why: why.to_string(),
        };
        if !(15..=34).contains(&c.len()) {
            return Err(err("has the wrong length: 15 to 34 characters expected"));
        }
        let b = c.as_bytes();
        if !b[..2].iter().all(u8::is_ascii_uppercase) || !b[2..4].iter().all(u8::is_ascii_digit) {
            return Err(err("does not start with a country code and 2 check digits"));
        }
        if !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(err("contains characters other than letters and digits"));
        }
        let expected_len = match &c[..2] {
            "FR" | "MC" | "IT" | "SM" => Some(27),
            "DE" => Some(22),
            "BE" => Some(16),
            "NL" => Some(18),
            "ES" | "SE" => Some(24),
            "GB" | "IE" => Some(22),
            "CH" => Some(21),
            "LU" | "AT" => Some(20),
            "PT" => Some(25),
            "PL" => Some(28),
            _ => None,
        };
        if let Some(n) = expected_len {
            if c.len() != n {
                return Err(err(&format!(
                    "has {} characters; a {} IBAN has {n}",
                    c.len(),
                    &c[..2]
                )));
            }
        }
        let rearranged = c[4..].chars().chain(c[..4].chars());
        let mut rem: u32 = 0;
        for ch in rearranged {
            let v = ch
                .to_digit(36)
                .ok_or_else(|| err("has an invalid character"))?;
            rem = if v >= 10 {
                (rem * 100 + v) % 97
            } else {
                (rem * 10 + v) % 97
            };
        }
        if rem != 1 {
            return Err(err("fails its check digits (mod 97)"));
        }
        Ok(Iban(c))
    }

    /// Grouped by four, as people read it.
    pub fn pretty(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|ch| String::from_utf8_lossy(ch).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A BIC (SWIFT code), 8 or 11 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bic(String);
string_id!(Bic);

impl Bic {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let c = compact(input);
        let b = c.as_bytes();
        let ok = (c.len() == 8 || c.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..].iter().all(u8::is_ascii_alphanumeric);
        if ok {
            Ok(Bic(c))
        } else {
            Err(IdError::Bic(input.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_vat_key_is_checked() {
        assert_eq!(
            VatId::parse("FR 32 123 456 789").unwrap().as_str(),
            "FR32123456789"
        );
        assert!(VatId::parse("FR33123456789").is_err());
        assert!(VatId::parse("FR12").is_err());
        assert!(VatId::parse("DE123456789").is_ok());
        assert!(VatId::parse("DE12345678").is_err());
    }

    #[test]
    fn siren_and_siret_use_luhn() {
        assert!(Siren::parse("732 829 320").is_ok());
        assert!(Siren::parse("732 829 321").is_err());
        let s = Siret::parse("732 829 320 00074").unwrap();
        assert_eq!(s.siren().as_str(), "732829320");
        assert!(Siret::parse("73282932000075").is_err());
    }

    #[test]
    fn iban_mod97() {
        let i = Iban::parse("FR76 3000 6000 0112 3456 7890 189").unwrap();
        assert_eq!(i.pretty(), "FR76 3000 6000 0112 3456 7890 189");
        assert!(Iban::parse("FR76 3000 6000 0112 3456 7890 188").is_err());
        assert!(Iban::parse("DE89 3704 0044 0532 0130 00").is_ok());
    }

    #[test]
    fn bic_shape() {
        assert!(Bic::parse("BNPAFRPPXXX").is_ok());
        assert!(Bic::parse("BNPAFRPP").is_ok());
        assert!(Bic::parse("BNP").is_err());
    }
}
