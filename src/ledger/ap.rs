//! What an approved supplier invoice posts (purchases journal): Dr expense (net, per VAT rate) +
//! Dr 44566 (VAT, per rate) / Cr 401 with the supplier's auxiliary account (gross). A credit note
//! posts the same lines on the other sides. The posting is refused, with the reason, when the
//! totals the entry needs are missing or do not add up: a person looks at such an invoice first.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{pcg, AccountNumber};
use super::entry::{Auxiliary, EntryBody, Journal, LedgerError, Line, NewEntry};
use crate::domain::{Currency, DocType, DocumentId, Invoice};

/// The supplier's auxiliary account: by SIREN, VAT id, IBAN, then name (the same entity order as
/// duplicate detection).
pub fn supplier_account(inv: &Invoice) -> Auxiliary {
    let s = &inv.seller;
    let name = s.name.clone().unwrap_or_else(|| "Fournisseur".into());
    let id = s
        .siren
        .as_ref()
        .map(|v| v.as_str().to_string())
        .or_else(|| s.vat_id.as_ref().map(|v| v.as_str().to_string()))
        .or_else(|| s.iban.as_ref().map(|v| v.as_str().to_string()))
        .unwrap_or_else(|| name.clone());
    Auxiliary::of('F', &id, &name)
}

/// The purchases-journal entry of `inv` (document `doc`), dated `date`, its expense on `expense`.
/// The key is the document: posting it twice returns the first entry.
pub fn purchase_entry(
    doc: DocumentId,
    inv: &Invoice,
    expense: &AccountNumber,
    company_currency: Currency,
    date: NaiveDate,
) -> Result<NewEntry, LedgerError> {
    let invalid = |s: &str| LedgerError::Invalid(format!("document {doc}: {s}"));
    let currency = inv.currency.unwrap_or(company_currency);
    if currency != company_currency {
        return Err(invalid(&format!(
            "the invoice is in {currency} and the ledger in {company_currency}: foreign-currency \
             posting needs an exchange rate, which this version does not have yet"
        )));
    }
    let gross = inv.total_gross.ok_or_else(|| invalid("no gross total"))?;
    let tax = inv.total_tax.unwrap_or(Decimal::ZERO);
    let net = inv.total_net.unwrap_or(gross - tax);
    if net + tax != gross {
        return Err(invalid(&format!(
            "net {net} + VAT {tax} is not the gross {gross}"
        )));
    }
    // A credit note may be read with negative totals or positive ones: its sides say what it is.
    let credit_note = inv.doc_type == DocType::CreditNote || gross.is_sign_negative();
    let number = inv
        .number
        .clone()
        .unwrap_or_else(|| format!("DOC{}", doc.0));
    let supplier = supplier_account(inv);
    let label: String = format!("{} {}", supplier.name, number)
        .chars()
        .take(100)
        .collect();
    let vat = AccountNumber::parse(pcg::DEDUCTIBLE_VAT).map_err(|e| invalid(&e))?;
    let suppliers = AccountNumber::parse(pcg::SUPPLIERS).map_err(|e| invalid(&e))?;
    let mut lines = Vec::new();
    // Per rate when the breakdown accounts for the totals, else one line each.
    let rows = &inv.vat_breakdown;
    let by_rate = !rows.is_empty()
        && rows.iter().map(|r| r.taxable_amount).sum::<Decimal>() == net
        && rows.iter().map(|r| r.tax_amount).sum::<Decimal>() == tax;
    let parts: Vec<(Decimal, Decimal, String)> = if by_rate {
        rows.iter()
            .map(|r| {
                let rate = r
                    .rate
                    .map(|x| format!(" {} %", x.normalize()))
                    .unwrap_or_default();
                (r.taxable_amount, r.tax_amount, rate)
            })
            .collect()
    } else {
        vec![(net, tax, String::new())]
    };
    for (base, vat_amount, rate) in parts {
        if !base.is_zero() {
            lines.push(Line::debit(
                expense.clone(),
                &format!("{label}{rate}"),
                base.abs(),
            ));
        }
        if !vat_amount.is_zero() {
            lines.push(Line::debit(
                vat.clone(),
                &format!("TVA {label}{rate}"),
                vat_amount.abs(),
            ));
        }
    }
    lines.push(Line::credit(suppliers, &label, gross.abs()).with_auxiliary(supplier));
    if credit_note {
        lines = lines.iter().map(Line::swapped).collect();
    }
    NewEntry::new(
        EntryBody {
            journal: Journal::Purchases,
            date,
            label,
            piece_ref: number,
            piece_date: inv.issue_date.unwrap_or(date),
            currency,
            document: Some(doc),
            reverses: None,
            lines,
        },
        &format!("ap:{}", doc.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{VatBreakdown, VatId};
    use rust_decimal_macros::dec;

    fn invoice() -> Invoice {
        let mut inv = Invoice {
            number: Some("FA-1".into()),
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 12),
            currency: Some(Currency::EUR),
            total_net: Some(dec!(110.00)),
            total_tax: Some(dec!(20.55)),
            total_gross: Some(dec!(130.55)),
            ..Invoice::default()
        };
        inv.seller.name = Some("ACME SARL".into());
        inv.seller.vat_id = Some(VatId::parse("FR44732829320").unwrap());
        inv
    }

    fn row(rate: Decimal, base: Decimal, tax: Decimal) -> VatBreakdown {
        VatBreakdown {
            category: Some("S".into()),
            rate: Some(rate),
            taxable_amount: base,
            tax_amount: tax,
            exemption_reason: None,
        }
    }

    fn post(inv: &Invoice) -> Result<NewEntry, LedgerError> {
        purchase_entry(
            DocumentId(7),
            inv,
            &AccountNumber::parse("6064").unwrap(),
            Currency::EUR,
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        )
    }

    fn sides(e: &NewEntry) -> Vec<(String, Decimal, Decimal)> {
        e.body()
            .lines
            .iter()
            .map(|l| (l.account.to_string(), l.debit, l.credit))
            .collect()
    }

    #[test]
    fn an_invoice_posts_expense_and_vat_per_rate_against_the_supplier() {
        let mut inv = invoice();
        inv.vat_breakdown = vec![
            row(dec!(20), dec!(100.00), dec!(20.00)),
            row(dec!(5.5), dec!(10.00), dec!(0.55)),
        ];
        let e = post(&inv).unwrap();
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(100.00), dec!(0)),
                ("44566".into(), dec!(20.00), dec!(0)),
                ("6064".into(), dec!(10.00), dec!(0)),
                ("44566".into(), dec!(0.55), dec!(0)),
                ("401".into(), dec!(0), dec!(130.55)),
            ]
        );
        let aux = e.body().lines[4].auxiliary.clone().unwrap();
        assert_eq!(aux.code, "FFR44732829320");
        assert_eq!(e.key(), "ap:7");
    }

    #[test]
    fn a_breakdown_that_does_not_account_for_the_totals_gives_one_line_each() {
        let mut inv = invoice();
        inv.vat_breakdown = vec![row(dec!(20), dec!(100.00), dec!(20.00))];
        assert_eq!(sides(&post(&inv).unwrap()).len(), 3);
    }

    #[test]
    fn a_credit_note_posts_the_other_sides() {
        let mut inv = invoice();
        inv.doc_type = DocType::CreditNote;
        let e = post(&inv).unwrap();
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(0), dec!(110.00)),
                ("44566".into(), dec!(0), dec!(20.55)),
                ("401".into(), dec!(130.55), dec!(0)),
            ]
        );
    }

    #[test]
    fn totals_that_do_not_add_up_or_another_currency_are_refused() {
        let mut inv = invoice();
        inv.total_tax = Some(dec!(5.50));
        assert!(post(&inv)
            .unwrap_err()
            .to_string()
            .contains("is not the gross"));
        let mut usd = invoice();
        usd.currency = Some("USD".parse().unwrap());
        assert!(post(&usd)
            .unwrap_err()
            .to_string()
            .contains("exchange rate"));
    }
}
