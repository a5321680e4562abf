//! What an approved supplier invoice posts (purchases journal): Dr expense (net, per VAT rate) +
//! Dr 44566 (VAT, per rate) / Cr 401 with the supplier's auxiliary account (gross). A credit note
//! posts the same lines on the other sides. The posting is refused, with the reason, when the
//! totals the entry needs are missing or do not add up: a person looks at such an invoice first.
//!
//! VAT on receipts (TVA sur les encaissements, services): the VAT of a supplier listed in
//! `[company.vat_on_receipts]`, or of an expense account listed there, is deductible only once the
//! invoice is paid; it waits on 445668 (TVA déductible à régulariser) and each payment moves its
//! share to 44566 (`store::ledger`).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::account::{pcg, AccountNumber};
use super::entry::{Auxiliary, EntryBody, Foreign, Journal, LedgerError, Line, NewEntry};
use super::fx::Rate;
use crate::config::CompanySettings;
use crate::domain::money::round_half_up;
use crate::domain::{DocType, DocumentId, Invoice, Party, Siren, VatId};

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

/// A supplier named in the configuration: by VAT id (`FR44732829320`) or SIREN (`732829320`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupplierRef {
    Vat(VatId),
    Siren(Siren),
}

impl SupplierRef {
    pub fn parse(s: &str) -> Result<SupplierRef, String> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Siren::parse(&digits)
                .map(SupplierRef::Siren)
                .map_err(|e| e.to_string());
        }
        VatId::parse(s)
            .map(SupplierRef::Vat)
            .map_err(|e| format!("'{s}' is neither a SIREN (9 digits) nor a VAT id ({e})"))
    }

    /// The SIREN it names, directly or inside a French VAT id.
    fn siren(&self) -> Option<String> {
        match self {
            SupplierRef::Siren(s) => Some(s.as_str().to_string()),
            SupplierRef::Vat(v) => siren_in_vat(v.as_str()),
        }
    }

    /// Whether `seller` is this supplier: the same VAT id, or the same SIREN (its own, its
    /// SIRET's, or the one inside its French VAT id).
    pub fn is(&self, seller: &Party) -> bool {
        if let (SupplierRef::Vat(v), Some(theirs)) = (self, &seller.vat_id) {
            if v == theirs {
                return true;
            }
        }
        let Some(ours) = self.siren() else {
            return false;
        };
        let theirs = seller
            .siren
            .as_ref()
            .map(|s| s.as_str().to_string())
            .or_else(|| {
                seller
                    .siret
                    .as_ref()
                    .map(|s| s.siren().as_str().to_string())
            })
            .or_else(|| {
                seller
                    .vat_id
                    .as_ref()
                    .and_then(|v| siren_in_vat(v.as_str()))
            });
        theirs.as_deref() == Some(ours.as_str())
    }
}

fn siren_in_vat(vat: &str) -> Option<String> {
    let v = vat.strip_prefix("FR")?;
    (v.len() == 11).then(|| v[2..].to_string())
}

impl<'de> serde::Deserialize<'de> for SupplierRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SupplierRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `[company.vat_on_receipts]`: whose VAT waits until the invoice is paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatOnReceipts {
    /// Suppliers invoicing services with VAT on receipts, by VAT id or SIREN.
    #[serde(default)]
    pub suppliers: Vec<SupplierRef>,
    /// Expense accounts (or their prefixes: `62` is every account that starts with it) of
    /// services whose VAT is due on receipts.
    #[serde(default)]
    pub accounts: Vec<AccountNumber>,
}

impl VatOnReceipts {
    /// Whether the VAT of `inv` posted against `expense` waits for the payment.
    pub fn applies(&self, inv: &Invoice, expense: &AccountNumber) -> bool {
        self.suppliers.iter().any(|s| s.is(&inv.seller))
            || self
                .accounts
                .iter()
                .any(|a| expense.as_str().starts_with(a.as_str()))
    }
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

/// The purchases-journal entry of `inv` (document `doc`), dated `date`, for `company`, for an
/// invoice in the company's currency (`purchase_entry_at` converts one in another). The key is
/// the document: posting it twice returns the first entry.
pub fn purchase_entry(
    doc: DocumentId,
    inv: &Invoice,
    company: &CompanySettings,
    date: NaiveDate,
) -> Result<NewEntry, LedgerError> {
    purchase_entry_at(doc, inv, company, date, None)
}

/// `purchase_entry` for an invoice in any currency: one in another currency than the company's
/// is converted at `rate` (the one printed on the invoice, else the table's on its issue date;
/// refused without one). Each of its lines keeps its amount in the invoice currency and the rate.
/// The supplier line is the converted gross and each VAT line its converted VAT (each rounded
/// half away from zero to the cent); the rounding difference, a cent or two, goes to the largest
/// expense line, so the entry balances and the supplier is owed exactly the converted gross.
pub fn purchase_entry_at(
    doc: DocumentId,
    inv: &Invoice,
    company: &CompanySettings,
    date: NaiveDate,
    rate: Option<&Rate>,
) -> Result<NewEntry, LedgerError> {
    let expense = expense_account(inv, company);
    let company_currency = company.currency;
    let invalid = |s: &str| LedgerError::Invalid(format!("document {doc}: {s}"));
    let currency = inv.currency.unwrap_or(company_currency);
    let rate = match rate {
        _ if currency == company_currency => None,
        Some(r) if r.currency == currency => Some(r),
        Some(r) => {
            return Err(invalid(&format!(
                "the invoice is in {currency}, the rate given is for {}",
                r.currency
            )))
        }
        None => {
            return Err(invalid(&format!(
                "the invoice is in {currency} and the ledger in {company_currency}: it needs an \
                 exchange rate"
            )))
        }
    };
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
    let on_receipts = company.vat_on_receipts.applies(inv, expense);
    let vat = AccountNumber::parse(if on_receipts {
        pcg::VAT_ON_RECEIPTS
    } else {
        pcg::DEDUCTIBLE_VAT
    })
    .map_err(|e| invalid(&e))?;
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
    // In the company currency: (amount, what it was in the invoice's, when that differs).
    let convert = |a: Decimal| -> (Decimal, Option<Foreign>) {
        match rate {
            None => (a, None),
            Some(r) => (r.to_company(a, company_currency), Some(Foreign::at(r, a))),
        }
    };
    let with = |l: Line, f: Option<Foreign>| match f {
        Some(f) => l.with_foreign(f),
        None => l,
    };
    let mut expense_lines = Vec::new();
    for (base, vat_amount, rate_label) in parts {
        if !base.is_zero() {
            let (c, f) = convert(base.abs());
            expense_lines.push(lines.len());
            lines.push(with(
                Line::debit(expense.clone(), &format!("{label}{rate_label}"), c),
                f,
            ));
        }
        if !vat_amount.is_zero() {
            let (c, f) = convert(vat_amount.abs());
            lines.push(with(
                Line::debit(vat.clone(), &format!("TVA {label}{rate_label}"), c),
                f,
            ));
        }
    }
    let (gross_c, gross_f) = convert(gross.abs());
    let rounding = gross_c - lines.iter().map(|l| l.debit).sum::<Decimal>();
    if !rounding.is_zero() {
        let largest = expense_lines
            .iter()
            .copied()
            .max_by_key(|i| lines[*i].debit)
            .or_else(|| (0..lines.len()).max_by_key(|i| lines[*i].debit))
            .ok_or_else(|| invalid("nothing to post"))?;
        lines[largest].debit += rounding;
    }
    lines.push(with(
        Line::credit(suppliers, &label, gross_c).with_auxiliary(supplier),
        gross_f,
    ));
    if reverse_charge(inv, &company.country) {
        // The company declares the VAT it owes and deducts it at once: 445662 / 4452, on the
        // net in the company currency.
        let net_c: Decimal = lines
            .iter()
            .filter(|l| l.account == *expense)
            .map(|l| l.debit)
            .sum();
        let owed = round_half_up(
            net_c * company.reverse_charge_rate / Decimal::ONE_HUNDRED,
            company_currency.minor_unit_digits(),
        );
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
            currency: company_currency,
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

    fn post_at(inv: &Invoice, rate: &Rate) -> Result<NewEntry, LedgerError> {
        let company = CompanySettings {
            expense_account: AccountNumber::parse("6064").unwrap(),
            ..CompanySettings::default()
        };
        purchase_entry_at(
            DocumentId(7),
            inv,
            &company,
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
            Some(rate),
        )
    }

    fn usd_rate(per_unit: Decimal) -> Rate {
        use crate::ledger::fx::RateSource;
        Rate::new(
            Currency::USD,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            per_unit,
            RateSource::Ecb,
        )
        .unwrap()
    }

    #[test]
    fn an_invoice_in_another_currency_posts_converted_keeping_its_amounts_and_rate() {
        let mut inv = invoice();
        inv.currency = Some(Currency::USD);
        inv.vat_breakdown = vec![
            row(dec!(20), dec!(100.00), dec!(20.00)),
            row(dec!(5.5), dec!(10.00), dec!(0.55)),
        ];
        let e = post_at(&inv, &usd_rate(dec!(1.0842))).unwrap();
        assert_eq!(e.body().currency, Currency::EUR, "the ledger's currency");
        // 100/1.0842 = 92.234, 20/1.0842 = 18.447, 10/1.0842 = 9.223, 0.55/1.0842 = 0.507,
        // 130.55/1.0842 = 120.411: 92.23 + 18.45 + 9.22 + 0.51 = 120.41, so no rounding left.
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(92.23), dec!(0)),
                ("44566".into(), dec!(18.45), dec!(0)),
                ("6064".into(), dec!(9.22), dec!(0)),
                ("44566".into(), dec!(0.51), dec!(0)),
                ("401".into(), dec!(0), dec!(120.41)),
            ]
        );
        let fx: Vec<(Decimal, Decimal)> = e
            .body()
            .lines
            .iter()
            .map(|l| {
                let f = l.foreign.as_ref().unwrap();
                assert_eq!(
                    (f.currency, f.rate_date.to_string()),
                    (Currency::USD, "2026-03-12".into())
                );
                (f.amount, f.rate)
            })
            .collect();
        assert_eq!(
            fx,
            vec![
                (dec!(100.00), dec!(1.0842)),
                (dec!(20.00), dec!(1.0842)),
                (dec!(10.00), dec!(1.0842)),
                (dec!(0.55), dec!(1.0842)),
                (dec!(130.55), dec!(1.0842)),
            ]
        );
        // At 1.13: 88.496 → 88.50, 17.699 → 17.70, 8.850 → 8.85, 0.487 → 0.49 make 115.54,
        // but the gross 130.55/1.13 = 115.531 → 115.53: the largest expense line gives a cent.
        let e = post_at(&inv, &usd_rate(dec!(1.13))).unwrap();
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(88.49), dec!(0)),
                ("44566".into(), dec!(17.70), dec!(0)),
                ("6064".into(), dec!(8.85), dec!(0)),
                ("44566".into(), dec!(0.49), dec!(0)),
                ("401".into(), dec!(0), dec!(115.53)),
            ]
        );
        // A credit note in dollars: the other sides, the same foreign amounts.
        inv.doc_type = DocType::CreditNote;
        let e = post_at(&inv, &usd_rate(dec!(1.13))).unwrap();
        assert_eq!(e.body().lines[4].debit, dec!(115.53));
        assert_eq!(
            e.body().lines[4].foreign.as_ref().unwrap().amount,
            dec!(130.55)
        );
        // A rate of another currency, or none, is refused.
        let gbp = Rate::new(
            Currency::GBP,
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            dec!(0.84),
            crate::ledger::fx::RateSource::Ecb,
        )
        .unwrap();
        assert!(post_at(&inv, &gbp)
            .unwrap_err()
            .to_string()
            .contains("rate given is for GBP"));
    }

    #[test]
    fn a_reverse_charge_purchase_in_another_currency_self_assesses_on_the_converted_net() {
        let mut inv = invoice();
        inv.currency = Some(Currency::USD);
        inv.seller.vat_id = Some(VatId::parse("DE123456788").unwrap());
        inv.total_tax = Some(dec!(0));
        inv.total_gross = Some(dec!(110.00));
        let e = post_at(&inv, &usd_rate(dec!(1.1))).unwrap();
        assert_eq!(
            sides(&e),
            vec![
                ("6064".into(), dec!(100.00), dec!(0)),
                ("401".into(), dec!(0), dec!(100.00)),
                ("445662".into(), dec!(20.00), dec!(0)),
                ("4452".into(), dec!(0), dec!(20.00)),
            ]
        );
        assert!(e.body().lines[2].foreign.is_none(), "the company's own VAT");
    }

    fn on_receipts(suppliers: &[&str], accounts: &[&str]) -> CompanySettings {
        CompanySettings {
            expense_account: AccountNumber::parse("6226").unwrap(),
            vat_on_receipts: VatOnReceipts {
                suppliers: suppliers
                    .iter()
                    .map(|s| SupplierRef::parse(s).unwrap())
                    .collect(),
                accounts: accounts
                    .iter()
                    .map(|a| AccountNumber::parse(a).unwrap())
                    .collect(),
            },
            ..CompanySettings::default()
        }
    }

    fn vat_account(inv: &Invoice, company: &CompanySettings) -> String {
        let e = purchase_entry(
            DocumentId(7),
            inv,
            company,
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        )
        .unwrap();
        e.body().lines[1].account.to_string()
    }

    #[test]
    fn the_vat_of_a_supplier_or_an_account_on_receipts_waits_for_the_payment() {
        let inv = invoice();
        assert_eq!(vat_account(&inv, &on_receipts(&[], &[])), "44566");
        // By VAT id, by SIREN (the one inside the French VAT id), by account prefix.
        assert_eq!(
            vat_account(&inv, &on_receipts(&["FR44732829320"], &[])),
            "445668"
        );
        assert_eq!(
            vat_account(&inv, &on_receipts(&["732 829 320"], &[])),
            "445668"
        );
        assert_eq!(vat_account(&inv, &on_receipts(&[], &["622"])), "445668");
        assert_eq!(vat_account(&inv, &on_receipts(&[], &["6226"])), "445668");
        assert_eq!(vat_account(&inv, &on_receipts(&[], &["606"])), "44566");
        assert_eq!(
            vat_account(&inv, &on_receipts(&["404833048"], &[])),
            "44566"
        );
        // A supplier known by its SIRET only matches a listed French VAT id with its SIREN.
        let mut by_siret = invoice();
        by_siret.seller.vat_id = None;
        by_siret.seller.siret = Some(crate::domain::Siret::parse("73282932000074").unwrap());
        assert_eq!(
            vat_account(&by_siret, &on_receipts(&["FR44732829320"], &[])),
            "445668"
        );
        assert!(SupplierRef::parse("732829321")
            .unwrap_err()
            .contains("SIREN"));
        assert!(SupplierRef::parse("FR1234")
            .unwrap_err()
            .contains("neither a SIREN"));
        // A credit note of such a supplier takes the waiting VAT back off the same account.
        let mut credit = invoice();
        credit.doc_type = DocType::CreditNote;
        let e = purchase_entry(
            DocumentId(8),
            &credit,
            &on_receipts(&["FR44732829320"], &[]),
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        )
        .unwrap();
        assert_eq!(sides(&e)[1], ("445668".to_string(), dec!(0), dec!(20.55)));
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
