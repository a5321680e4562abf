//! Money: an amount is a `rust_decimal::Decimal` with a `Currency`, never a float.
//!
//! Arithmetic across currencies is an error, and rounding is explicit: half-up (away from zero)
//! to the currency's minor unit, which is what EN 16931 and the French PCG expect.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error(
        "currency code '{0}' is not three letters (write an ISO 4217 code such as EUR, USD, GBP)"
    )]
    BadCurrency(String),
    #[error("cannot combine {0} and {1}: amounts in different currencies")]
    CurrencyMismatch(Currency, Currency),
}

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let t = code.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return Err(MoneyError::BadCurrency(code.to_string()));
        }
        Ok(Currency([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored (see `parse`).
        std::str::from_utf8(&self.0).expect("currency codes are ASCII by construction")
    }

    /// Digits after the decimal point of the currency's minor unit.
    pub fn minor_unit_digits(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XOF" | "XAF" | "XPF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    #[serde(with = "rust_decimal::serde::str")]
    pub value: Decimal,
    pub currency: Currency,
}

impl Amount {
    pub fn new(value: Decimal, currency: Currency) -> Self {
        Amount { value, currency }
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        Ok(Amount::new(self.value + other.value, self.currency))
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        Ok(Amount::new(self.value - other.value, self.currency))
    }

    fn same_currency(&self, other: Amount) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// Half-up (away from zero) to the currency's minor unit.
    pub fn rounded(self) -> Amount {
        Amount::new(
            round_half_up(self.value, self.currency.minor_unit_digits()),
            self.currency,
        )
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

/// Half-up rounding to `dp` decimal places (commercial rounding, as invoices print).
pub fn round_half_up(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_parses_and_normalises() {
        assert_eq!(Currency::parse("eur").unwrap(), Currency::EUR);
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
        assert_eq!(Currency::parse("JPY").unwrap().minor_unit_digits(), 0);
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Amount::new(dec!(1.00), Currency::EUR);
        let b = Amount::new(dec!(1.00), Currency::USD);
        assert!(a.checked_add(b).is_err());
        assert_eq!(a.checked_add(a).unwrap().value, dec!(2.00));
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round_half_up(dec!(2.345), 2), dec!(2.35));
        assert_eq!(round_half_up(dec!(-2.345), 2), dec!(-2.35));
        assert_eq!(
            Amount::new(dec!(0.125), Currency::EUR).rounded().value,
            dec!(0.13)
        );
    }
}
