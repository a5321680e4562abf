//! What an approved supplier invoice posts (purchases journal): Dr expense (net, per VAT rate) +
//! Dr 44566 (VAT, per rate) / Cr 401 with the supplier's auxiliary account (gross). A credit note
//! posts the same lines on the other sides. The posting is refused, with the reason, when the
//! totals the entry needs are missing or do not add up: a person looks at such an invoice first.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{pcg, AccountNumber};
use super::entry::{Auxiliary, EntryBody, Journal, LedgerError, Line, NewEntry};
use crate::config::CompanySettings;
use crate::domain::{DocType, DocumentId, Invoice};

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

/// Words of an exemption mention that say the buyer owes the VAT.
const REVERSE_CHARGE_MENTIONS: [&str; 6] = [
    "autoliquidation",
    "reverse charge",
    "steuerschuldnerschaft",
    "article 196",
    "art. 196",
    "283-2",
];

/// Whether the company owes the VAT of this purchase itself (autoliquidation): no VAT charged,
/// and either the invoice says so (category AE/K/G, or an exemption mention) or the seller's VAT
/// id is from another country than the company's.
pub fn reverse_charge(inv: &Invoice, company_country: &str) -> bool {
    if inv.total_tax.is_some_and(|t| !t.is_zero()) {
        return false;
    }
    let said = inv.vat_breakdown.iter().any(|r| {
        matches!(r.category.as_deref(), Some("AE" | "K" | "G"))
            || r.exemption_reason.as_deref().is_some_and(|m| {
                let m = m.to_lowercase();
                REVERSE_CHARGE_MENTIONS.iter().any(|w| m.contains(w))
            })
    });
    // VAT ids write Greece as EL.
    let home = if company_country == "GR" {
        "EL"
    } else {
        company_country
    };
    let foreign = inv
        .seller
        .vat_id
        .as_ref()
        .is_some_and(|v| v.country() != home);
    said || foreign
}

/// The expense account an invoice of this supplier posts to: the supplier's own in
/// `[company.expense_accounts]`, else the company's default.
pub fn expense_account<'a>(inv: &Invoice, company: &'a CompanySettings) -> &'a AccountNumber {
    let keys = inv.seller.keys();
    company
        .expense_accounts
        .iter()
        .find(|(name, _)| keys.contains(&crate::domain::fold_key(name)))
        .map_or(&company.expense_account, |(_, account)| account)
}

/// The purchases-journal entry of `inv` (document `doc`), dated `date`, for `company`. The key
/// is the document: posting it twice returns the first entry.
pub fn purchase_entry(
    doc: DocumentId,
    inv: &Invoice,
    company: &CompanySettings,
    date: NaiveDate,
) -> Result<NewEntry, LedgerError> {
    let expense = expense_account(inv, company);
    let company_currency = company.currency;
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
    if reverse_charge(inv, &company.country) {
        // The company declares the VAT it owes and deducts it at once: 445662 / 4452.
        let owed = (net.abs() * company.reverse_charge_rate / Decimal::ONE_HUNDRED).round_dp(2);
        if !owed.is_zero() {
            let rc = format!("Autoliquidation {label}");
            lines.push(Line::debit(
                AccountNumber::parse(pcg::INTRA_EU_DEDUCTIBLE_VAT).map_err(|e| invalid(&e))?,
                &rc,
                owed,
            ));
            lines.push(Line::credit(
                AccountNumber::parse(pcg::INTRA_EU_VAT_DUE).map_err(|e| invalid(&e))?,
                &rc,
                owed,
            ));
        }
    }
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
    use crate::domain::{Currency, VatBreakdown, VatId};
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
        let company = CompanySettings {
            expense_account: AccountNumber::parse("6064").unwrap(),
            ..CompanySettings::default()
        };
        purchase_entry(
            DocumentId(7),
            inv,
            &company,
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        )
    }

    #[test]
    fn a_supplier_of_its_own_posts_to_its_expense_account() {
        let mut company = CompanySettings::default();
        let inv = invoice();
        assert_eq!(expense_account(&inv, &company), &company.expense_account);
        company.expense_accounts.insert(
            "fr 44 732 829 320".into(),
            AccountNumber::parse("6226").unwrap(),
        );
        assert_eq!(expense_account(&inv, &company).as_str(), "6226");
        company.expense_accounts.clear();
        company
            .expense_accounts
            .insert("Acme sarl".into(), AccountNumber::parse("6135").unwrap());
        let entry = purchase_entry(
            DocumentId(7),
            &inv,
            &company,
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        )
        .unwrap();
        assert!(
            entry
                .body()
                .lines
                .iter()
                .any(|l| l.account.as_str() == "6135"),
            "{entry:?}"
        );
    }

    #[test]
    fn an_intra_eu_purchase_without_vat_self_assesses_it() {
        let mut inv = invoice();
        inv.seller.vat_id = Some(VatId::parse("DE123456788").unwrap());
        inv.total_tax = Some(dec!(0));
        inv.total_gross = Some(dec!(110.00));
        let e = post(&inv).unwrap();
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(110.00), dec!(0)),
                ("401".into(), dec!(0), dec!(110.00)),
                ("445662".into(), dec!(22.00), dec!(0)),
                ("4452".into(), dec!(0), dec!(22.00)),
            ]
        );
        // A French supplier without VAT (a small business exemption) is not reverse charge…
        let mut franchise = invoice();
        franchise.total_tax = Some(dec!(0));
        franchise.total_gross = Some(dec!(110.00));
        assert_eq!(sides(&post(&franchise).unwrap()).len(), 2);
        // …unless the invoice says so.
        franchise.vat_breakdown = vec![VatBreakdown {
            category: Some("E".into()),
            rate: Some(dec!(0)),
            taxable_amount: dec!(110.00),
            tax_amount: dec!(0),
            exemption_reason: Some("Autoliquidation, article 283-2 du CGI".into()),
        }];
        assert_eq!(sides(&post(&franchise).unwrap()).len(), 4);
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
