//! A quote (devis): the lines of a sale offered to a customer before any invoice. Saved as a
//! draft without number; its PDF numbers it in its own gap-free series (`[sales]
//! quote_pattern`, `DE-{YYYY}-{seq:05}`) and marks it sent; the customer then accepts it (it
//! becomes one sales draft, linked) or declines it, or it expires at its validity date. The
//! store keeps the first four states; expired is read from the date, never stored, so a quote
//! cannot be "expired" by a clock that was wrong once.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::sale::{check_lines, DraftFile, NewSale, SaleLine, Totals};
use super::{Customer, Issuing, SaleKind, SaleState, SalesInvoice};
use crate::domain::Currency;

/// A quote's state on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteState {
    /// Editable, no number yet.
    Draft,
    /// Numbered, its PDF made for the customer, awaiting an answer.
    Sent,
    /// Accepted: a sales draft was made from it.
    Accepted,
    Declined,
    /// Sent, unanswered, past its validity date.
    Expired,
}

impl QuoteState {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteState::Draft => "draft",
            QuoteState::Sent => "sent",
            QuoteState::Accepted => "accepted",
            QuoteState::Declined => "declined",
            QuoteState::Expired => "expired",
        }
    }

    /// The French word, for the tables that print both.
    pub fn fr(self) -> &'static str {
        match self {
            QuoteState::Draft => "brouillon",
            QuoteState::Sent => "envoyé",
            QuoteState::Accepted => "accepté",
            QuoteState::Declined => "refusé",
            QuoteState::Expired => "expiré",
        }
    }

    /// A stored state (expired never is).
    pub fn parse_stored(s: &str) -> Option<QuoteState> {
        [
            QuoteState::Draft,
            QuoteState::Sent,
            QuoteState::Accepted,
            QuoteState::Declined,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A quote as written in `facteur quotes add FILE.toml`: a sales draft's fields, plus how long
/// the offer holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteFile {
    pub customer: String,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub vat_exemption: Option<String>,
    /// Days the quote holds from its date; `[sales] quote_validity_days` when absent.
    #[serde(default)]
    pub validity_days: Option<u32>,
    #[serde(rename = "line", default)]
    pub lines: Vec<SaleLine>,
}

/// The longest validity accepted (a typo guard: a quote is an offer, not a contract).
pub const MAX_VALIDITY_DAYS: u32 = 366;

/// A quote to save: lines checked, totals computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuote {
    pub customer_id: i64,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    pub note: Option<String>,
    pub vat_exemption: Option<String>,
    pub validity_days: u32,
    pub totals: Totals,
}

impl NewQuote {
    /// Checks `file` as a sales draft is checked; `default_days` when it names no validity.
    pub fn from_file(
        customer_id: i64,
        currency: Currency,
        file: QuoteFile,
        default_days: u32,
    ) -> Result<NewQuote, String> {
        let validity_days = file.validity_days.unwrap_or(default_days);
        if validity_days == 0 || validity_days > MAX_VALIDITY_DAYS {
            return Err(format!(
                "validity_days {validity_days}: a quote holds 1 to {MAX_VALIDITY_DAYS} days"
            ));
        }
        let exemption = file
            .vat_exemption
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        check_lines(&file.lines, exemption.as_deref())?;
        Ok(NewQuote {
            customer_id,
            currency,
            totals: Totals::of(&file.lines),
            lines: file.lines,
            note: file.note.filter(|n| !n.trim().is_empty()),
            vat_exemption: exemption,
            validity_days,
        })
    }
}

/// A quote in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub id: i64,
    pub customer_id: i64,
    pub currency: Currency,
    pub lines: Vec<SaleLine>,
    pub note: Option<String>,
    pub vat_exemption: Option<String>,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
    pub validity_days: u32,
    /// The stored state (never `Expired`; see `state_at`).
    pub stored_state: QuoteState,
    /// Set when its PDF is first made.
    pub number: Option<String>,
    pub quote_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// The sales draft it became once accepted.
    pub sale_id: Option<i64>,
}

impl Quote {
    /// Its state on `today`: a sent quote past its validity date is expired.
    pub fn state_at(&self, today: NaiveDate) -> QuoteState {
        match (self.stored_state, self.valid_until) {
            (QuoteState::Sent, Some(until)) if today > until => QuoteState::Expired,
            (s, _) => s,
        }
    }

    /// The sales draft an accepted quote becomes: the same lines, the quote named in its note.
    pub fn to_sale(&self) -> Result<NewSale, String> {
        let number = self.number.as_deref().unwrap_or("?");
        let note = match &self.note {
            Some(n) => format!("Devis {number} — {n}"),
            None => format!("Devis {number}"),
        };
        NewSale::draft(
            self.customer_id,
            self.currency,
            DraftFile {
                customer: self.customer_id.to_string(),
                currency: None,
                note: Some(note),
                vat_exemption: self.vat_exemption.clone(),
                lines: self.lines.clone(),
            },
        )
    }

    /// The quote laid out as the invoice renderer reads it: its number, its date as issue date
    /// and its validity as due date (`render::quote_pdf`).
    pub fn as_issuing(&self, customer: Customer) -> Issuing {
        Issuing {
            invoice: SalesInvoice {
                id: self.id,
                kind: SaleKind::Invoice,
                state: SaleState::Draft,
                customer_id: self.customer_id,
                currency: self.currency,
                lines: self.lines.clone(),
                note: self.note.clone(),
                vat_exemption: self.vat_exemption.clone(),
                net: self.net,
                tax: self.tax,
                gross: self.gross,
                number: self.number.clone(),
                issue_date: self.quote_date,
                due_date: self.valid_until,
                entry_id: None,
                credits: None,
            },
            customer,
            credited: None,
        }
    }
}

/// The PDF of numbered quote `quote` for `customer`, once the mentions a French quote shares
/// with an invoice (seller and buyer identities and addresses, number and dates) are there.
pub fn pdf(
    seller: super::Seller<'_>,
    quote: &Quote,
    customer: Customer,
) -> Result<Vec<u8>, String> {
    let issuing = quote.as_issuing(customer);
    let missing = super::legal::missing(seller, &issuing);
    if !missing.is_empty() {
        return Err(format!(
            "the quote would lack what an invoice of it will need: {}",
            missing.join("; ")
        ));
    }
    super::render::quote_pdf(seller, &issuing).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn file(days: Option<u32>) -> QuoteFile {
        toml::from_str::<QuoteFile>(&format!(
            "customer = \"C552100554\"\n{}[[line]]\ndescription = \"Audit\"\nquantity = 2\nunit_price = \"600\"\nvat_rate = 20\n",
            days.map(|d| format!("validity_days = {d}\n")).unwrap_or_default()
        ))
        .unwrap()
    }

    #[test]
    fn a_quote_file_is_checked_like_a_draft_and_takes_the_default_validity() {
        let q = NewQuote::from_file(1, Currency::EUR, file(None), 30).unwrap();
        assert_eq!((q.validity_days, q.totals.gross), (30, dec!(1440.00)));
        let q = NewQuote::from_file(1, Currency::EUR, file(Some(15)), 30).unwrap();
        assert_eq!(q.validity_days, 15);
        assert!(NewQuote::from_file(1, Currency::EUR, file(Some(0)), 30)
            .unwrap_err()
            .contains("validity_days"));
        let mut bad = file(None);
        bad.lines[0].quantity = dec!(0);
        assert!(NewQuote::from_file(1, Currency::EUR, bad, 30).is_err());
    }

    #[test]
    fn a_sent_quote_expires_after_its_validity_date_only() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let q = NewQuote::from_file(1, Currency::EUR, file(None), 30).unwrap();
        let mut quote = Quote {
            id: 1,
            customer_id: 1,
            currency: Currency::EUR,
            lines: q.lines,
            note: None,
            vat_exemption: None,
            net: q.totals.net,
            tax: q.totals.tax,
            gross: q.totals.gross,
            validity_days: 10,
            stored_state: QuoteState::Sent,
            number: Some("DE-2026-00001".into()),
            quote_date: Some(d(1)),
            valid_until: Some(d(11)),
            sale_id: None,
        };
        assert_eq!(quote.state_at(d(11)), QuoteState::Sent);
        assert_eq!(quote.state_at(d(12)), QuoteState::Expired);
        quote.stored_state = QuoteState::Declined;
        assert_eq!(quote.state_at(d(12)), QuoteState::Declined);
        let sale = quote.to_sale().unwrap();
        assert_eq!(sale.note.as_deref(), Some("Devis DE-2026-00001"));
        assert_eq!(sale.totals.gross, dec!(1440.00));
    }
}
