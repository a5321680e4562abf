//! A person's correction of a reading (`facteur review correct ID field=value…`): each
//! assignment is parsed into the field's type (a VAT id must pass its check, an amount is a
//! decimal, a date is ISO or day-first), applied to the extraction with full confidence, and the
//! result is validated again before anything is saved.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Currency, Extraction, Field, Iban, Siret, VatId};

/// One parsed `field=value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Correction {
    Number(String),
    IssueDate(NaiveDate),
    DueDate(NaiveDate),
    Currency(Currency),
    Net(Decimal),
    Tax(Decimal),
    Gross(Decimal),
    SupplierName(String),
    SupplierVat(VatId),
    SupplierIban(Iban),
    SupplierSiret(Siret),
}

fn date(field: &str, v: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .map_err(|_| format!("{field}: '{v}' is not a date; write 2026-03-12 or 12/03/2026"))
}

fn amount(field: &str, v: &str) -> Result<Decimal, String> {
    v.replace(',', ".")
        .parse::<Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
        .map(|d| d.round_dp(2))
        .ok_or_else(|| format!("{field}: '{v}' is not an amount; write 1234.56"))
}

impl Correction {
    /// Parses `field=value`; the error says what to write instead.
    pub fn parse(assignment: &str) -> Result<(Field, Correction), String> {
        let (field, value) = assignment.split_once('=').ok_or_else(|| {
            format!("'{assignment}' is not field=value (e.g. total_gross=1481.40)")
        })?;
        let (f, v) = (field.trim(), value.trim());
        let field: Field = f.parse()?;
        let c = match field {
            Field::InvoiceNumber if !v.is_empty() => Correction::Number(v.to_string()),
            Field::IssueDate => Correction::IssueDate(date(f, v)?),
            Field::DueDate => Correction::DueDate(date(f, v)?),
            Field::Currency => {
                Correction::Currency(Currency::parse(v).map_err(|e| format!("{f}: {e}"))?)
            }
            Field::TotalNet => Correction::Net(amount(f, v)?),
            Field::TotalTax => Correction::Tax(amount(f, v)?),
            Field::TotalGross => Correction::Gross(amount(f, v)?),
            Field::SupplierName if !v.is_empty() => Correction::SupplierName(v.to_string()),
            Field::SupplierVatId => {
                Correction::SupplierVat(VatId::parse(v).map_err(|e| format!("{f}: {e}"))?)
            }
            Field::SupplierIban => {
                Correction::SupplierIban(Iban::parse(v).map_err(|e| format!("{f}: {e}"))?)
            }
            Field::SupplierSiret => {
                Correction::SupplierSiret(Siret::parse(v).map_err(|e| format!("{f}: {e}"))?)
            }
            other => {
                return Err(format!(
                    "{other} cannot be corrected here (or is empty); correct one of: \
                     invoice_number, issue_date, due_date, currency, total_net, total_tax, \
                     total_gross, supplier_name, supplier_vat_id, supplier_iban, supplier_siret"
                ))
            }
        };
        Ok((field, c))
    }
}

/// A person's corrections as typed (`field=value` each) applied to `x` and checked: the
/// corrected reading, and what it teaches about the supplier when `remember`. Err says what is
/// wrong or still in doubt (below `threshold`), for the person.
pub fn prepare(
    x: Extraction,
    fields: &[String],
    remember: bool,
    threshold: f32,
) -> Result<(Extraction, Vec<super::hint::SupplierHint>), String> {
    let corrections = fields
        .iter()
        .map(|f| Correction::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let corrected = apply(x, &corrections)?;
    let doubts = corrected.doubts(threshold);
    if !doubts.is_empty() {
        let left: Vec<String> = doubts.iter().map(ToString::to_string).collect();
        return Err(format!(
            "still not sure of: {}; correct those too",
            left.join(", ")
        ));
    }
    let hints = if remember {
        super::hint::remembered(&corrected, &corrections)?
    } else {
        Vec::new()
    };
    Ok((corrected, hints))
}

/// Applies corrections and checks the result: net + tax = gross when all three are known.
pub fn apply(mut x: Extraction, corrections: &[(Field, Correction)]) -> Result<Extraction, String> {
    let inv = &mut x.invoice;
    for (field, c) in corrections {
        match c.clone() {
            Correction::Number(n) => inv.number = Some(n),
            Correction::IssueDate(d) => inv.issue_date = Some(d),
            Correction::DueDate(d) => inv.due_date = Some(d),
            Correction::Currency(cur) => inv.currency = Some(cur),
            Correction::Net(a) => inv.total_net = Some(a),
            Correction::Tax(a) => inv.total_tax = Some(a),
            Correction::Gross(a) => {
                inv.total_gross = Some(a);
                inv.amount_due = Some(a);
            }
            Correction::SupplierName(n) => inv.seller.name = Some(n),
            Correction::SupplierVat(v) => inv.seller.vat_id = Some(v),
            Correction::SupplierIban(i) => inv.seller.iban = Some(i),
            Correction::SupplierSiret(s) => {
                inv.seller.siren = Some(s.siren());
                inv.seller.siret = Some(s);
            }
        }
        x.confidence.insert(*field, 1.0);
    }
    let inv = &x.invoice;
    if let (Some(n), Some(t), Some(g)) = (inv.total_net, inv.total_tax, inv.total_gross) {
        if (n + t - g).abs() > Decimal::new(1, 2) {
            return Err(format!(
                "total_net {n} + total_tax {t} = {} is not total_gross {g}: correct the one that is wrong",
                n + t
            ));
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Invoice, Method};

    #[test]
    fn assignments_parse_into_types_or_say_what_to_write() {
        assert_eq!(
            Correction::parse("total_gross=1 481,40".replace(' ', "").as_str())
                .unwrap()
                .1,
            Correction::Gross(Decimal::new(148_140, 2))
        );
        assert!(Correction::parse("issue_date=12/03/2026").is_ok());
        assert!(Correction::parse("supplier_vat_id=FR12")
            .unwrap_err()
            .contains("supplier_vat_id"));
        assert!(Correction::parse("totl_gross=1")
            .unwrap_err()
            .contains("unknown field"));
        assert!(Correction::parse("total_gross")
            .unwrap_err()
            .contains("field=value"));
    }

    #[test]
    fn corrected_fields_are_certain_and_totals_must_add_up() {
        let mut x = Extraction::certain(Invoice::default(), Method::Text);
        x.invoice.total_net = Some(Decimal::new(10_000, 2));
        x.invoice.total_tax = Some(Decimal::new(2_000, 2));
        x.confidence.insert(Field::TotalGross, 0.4);
        let c = [Correction::parse("total_gross=120.00").unwrap()];
        let y = apply(x.clone(), &c).unwrap();
        assert_eq!(y.confidence_of(Field::TotalGross), 1.0);
        let wrong = [Correction::parse("total_gross=130.00").unwrap()];
        assert!(apply(x, &wrong).unwrap_err().contains("is not total_gross"));
    }
}
