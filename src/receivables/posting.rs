//! What an issued sale posts (sales journal VE): Dr 411 with the customer's auxiliary account
//! (gross) / Cr revenue (net, per VAT rate; PCG 706 by default) + Cr 44571 (VAT, per rate). A
//! credit note posts the same lines on the other sides. The key is the sale: issuing twice
//! cannot post twice.
//!
//! A customer's payment (bank journal BQ): Dr 512 / Cr 411 with the customer's auxiliary
//! account, its piece reference the invoice's number, which is what ties it to the invoice's
//! open item in the aged balance. Its key is the statement line's: a line pays once.

use rust_decimal::Decimal;

use super::{Customer, Issuing, SaleKind};
use crate::domain::Currency;
use crate::ledger::account::{pcg, AccountNumber};
use crate::ledger::entry::{EntryBody, Journal, LedgerError, Line, NewEntry};

pub fn sale_entry(issuing: &Issuing, revenue: &AccountNumber) -> Result<NewEntry, LedgerError> {
    let inv = &issuing.invoice;
    let invalid = |s: &str| LedgerError::Invalid(format!("sale {}: {s}", inv.id));
    let (Some(number), Some(date)) = (inv.number.as_ref(), inv.issue_date) else {
        return Err(invalid("only a numbered, dated sale is posted"));
    };
    let customer = issuing.customer.auxiliary();
    let label: String = format!("{} {number}", customer.name)
        .chars()
        .take(100)
        .collect();
    let customers = AccountNumber::parse(pcg::CUSTOMERS).map_err(|e| invalid(&e))?;
    let vat = AccountNumber::parse(pcg::COLLECTED_VAT).map_err(|e| invalid(&e))?;
    let totals = inv.totals();
    let mut lines = vec![Line::debit(customers, &label, totals.gross).with_auxiliary(customer)];
    for r in &totals.by_rate {
        let rate = format!(" {} %", r.rate.normalize());
        if !r.base.is_zero() {
            lines.push(Line::credit(
                revenue.clone(),
                &format!("{label}{rate}"),
                r.base,
            ));
        }
        if !r.tax.is_zero() {
            lines.push(Line::credit(
                vat.clone(),
                &format!("TVA {label}{rate}"),
                r.tax,
            ));
        }
    }
    if totals.gross <= Decimal::ZERO {
        return Err(invalid("a sale of nothing posts nothing: its total is 0"));
    }
    if inv.kind == SaleKind::CreditNote {
        lines = lines.iter().map(Line::swapped).collect();
    }
    NewEntry::new(
        EntryBody {
            journal: Journal::Sales,
            date,
            label: label.clone(),
            piece_ref: number.clone(),
            piece_date: date,
            currency: inv.currency,
            document: None,
            reverses: None,
            lines,
        },
        &format!("ar:{}", inv.id),
    )
}

/// A customer's payment of `amount` on invoice `number`, received on `date` (see the module's
/// doc); `key` names the statement line.
pub fn receipt_entry(
    customer: &Customer,
    number: &str,
    amount: Decimal,
    date: chrono::NaiveDate,
    currency: Currency,
    key: &str,
) -> Result<NewEntry, LedgerError> {
    let invalid = |s: &str| LedgerError::Invalid(format!("payment of {number}: {s}"));
    if amount <= Decimal::ZERO {
        return Err(invalid("a payment received is a positive amount"));
    }
    let label: String = format!("Règlement {} {number}", customer.details.name)
        .chars()
        .take(100)
        .collect();
    let customers = AccountNumber::parse(pcg::CUSTOMERS).map_err(|e| invalid(&e))?;
    let bank = AccountNumber::parse(pcg::BANK).map_err(|e| invalid(&e))?;
    NewEntry::new(
        EntryBody {
            journal: Journal::Bank,
            date,
            label: label.clone(),
            piece_ref: number.to_string(),
            piece_date: date,
            currency,
            document: None,
            reverses: None,
            lines: vec![
                Line::debit(bank, &label, amount),
                Line::credit(customers, &label, amount).with_auxiliary(customer.auxiliary()),
            ],
        },
        key,
    )
}
