//! Tamper evidence. Each entry stores the SHA-256 of its content (`content_hash`, also what makes
//! a retried posting recognisable) and the hash of that content together with its number, its
//! validation time and the previous entry's hash (`link`). Changing any stored field of any entry,
//! or removing one, breaks the chain from there on; `facteur ledger verify` names the first
//! broken entry.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::entry::EntryBody;

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One canonical text per content: fields in a fixed order, amounts normalised, separators
/// that cannot occur in the values' own encoding (each value is length-prefixed).
pub fn content_hash(b: &EntryBody) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    put(b.journal.code());
    put(&b.date.to_string());
    put(&b.label);
    put(&b.piece_ref);
    put(&b.piece_date.to_string());
    put(b.currency.as_str());
    put(&b.document.map(|d| d.0.to_string()).unwrap_or_default());
    put(&b.reverses.map(|r| r.to_string()).unwrap_or_default());
    put(&b.lines.len().to_string());
    for l in &b.lines {
        put(l.account.as_str());
        put(l.auxiliary.as_ref().map(|a| a.code.as_str()).unwrap_or(""));
        put(l.auxiliary.as_ref().map(|a| a.name.as_str()).unwrap_or(""));
        put(&l.label);
        put(&l.debit.normalize().to_string());
        put(&l.credit.normalize().to_string());
        // Only on foreign-currency lines, so the hashes of the others are what they always were;
        // "fx" cannot be the next line's account number (digits only).
        if let Some(f) = &l.foreign {
            put("fx");
            put(f.currency.as_str());
            put(&f.amount.normalize().to_string());
            put(&f.rate.normalize().to_string());
            put(&f.rate_date.to_string());
            put(f.rate_source.as_str());
        }
    }
    hex::encode(h.finalize())
}

/// The entry's link in the chain.
pub fn link(
    prev_hash: &str,
    content_hash: &str,
    entry_number: &str,
    validated_at: DateTime<Utc>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        content_hash,
        entry_number,
        &validated_at.timestamp_micros().to_string(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;
    use crate::ledger::entry::{Journal, Line};
    use crate::ledger::AccountNumber;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn body(amount: rust_decimal::Decimal) -> EntryBody {
        let d = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        EntryBody {
            journal: Journal::Bank,
            date: d,
            label: "p".into(),
            piece_ref: "r".into(),
            piece_date: d,
            currency: Currency::EUR,
            document: None,
            reverses: None,
            lines: vec![
                Line::debit(AccountNumber::parse("401").unwrap(), "p", amount),
                Line::credit(AccountNumber::parse("512").unwrap(), "p", amount),
            ],
        }
    }

    #[test]
    fn the_content_hash_sees_every_amount_but_not_its_scale() {
        assert_eq!(
            content_hash(&body(dec!(10.5))),
            content_hash(&body(dec!(10.50)))
        );
        assert_ne!(
            content_hash(&body(dec!(10.50))),
            content_hash(&body(dec!(10.51)))
        );
    }

    #[test]
    fn a_foreign_amount_is_part_of_the_content_and_leaves_other_hashes_alone() {
        use crate::ledger::entry::Foreign;
        use crate::ledger::fx::RateSource;
        // The hash of an entry without foreign amounts, as computed before they existed (and
        // by an independent reimplementation of the encoding).
        assert_eq!(
            content_hash(&body(dec!(10.50))),
            "809034c81b99c5eafb30d42d0e25ebd21a22dca1f457e89d0534663e506b6b4e"
        );
        let fx = |rate: rust_decimal::Decimal| {
            let mut b = body(dec!(10.50));
            b.lines[0].foreign = Some(Foreign {
                currency: Currency::USD,
                amount: dec!(11.38),
                rate,
                rate_date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                rate_source: RateSource::Ecb,
            });
            content_hash(&b)
        };
        assert_ne!(fx(dec!(1.0842)), content_hash(&body(dec!(10.50))));
        assert_ne!(fx(dec!(1.0842)), fx(dec!(1.0843)));
        assert_eq!(fx(dec!(1.0842)), fx(dec!(1.08420)));
    }

    #[test]
    fn a_link_depends_on_the_previous_one() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let c = content_hash(&body(dec!(1)));
        assert_ne!(
            link(GENESIS, &c, "BQ2026-000001", t),
            link(&c, &c, "BQ2026-000001", t)
        );
    }
}
