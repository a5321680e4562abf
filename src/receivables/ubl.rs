//! The UBL 2.1 XML of an issued sale (OASIS UBL Invoice or CreditNote, EN 16931 UBL binding
//! with the PEPPOL BIS 3 customization id): the same facts as the CII of `cii.rs`, for buyers
//! whose software reads UBL. Element order follows the OASIS XSD sequences (checked by the
//! tests with the official UBL 2.1 schema); every amount carries its currencyID, as UBL
//! requires. Dates are ISO `YYYY-MM-DD`.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::cii::esc;
use super::customer::Address;
use super::{Issuing, SaleKind, Seller};

/// BT-24 as PEPPOL BIS Billing 3.0 writes it for an EN 16931 invoice.
pub const CUSTOMIZATION: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
/// BT-23.
pub const PROFILE: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

fn amount(d: Decimal) -> String {
    format!("{:.2}", super::sale::cents(d))
}

struct Party<'a> {
    name: &'a str,
    siren: Option<&'a str>,
    vat_id: Option<&'a str>,
    address: Address,
    email: Option<&'a str>,
}

/// cac:Party in the XSD's order: PartyIdentification, PostalAddress, PartyTaxScheme,
/// PartyLegalEntity, Contact.
fn party(x: &mut String, p: &Party<'_>) {
    x.push_str("<cac:Party>");
    if let Some(s) = p.siren {
        let _ = write!(
            x,
            "<cac:PartyIdentification><cbc:ID schemeID=\"0002\">{}</cbc:ID></cac:PartyIdentification>",
            esc(s)
        );
    }
    let _ = write!(
        x,
        "<cac:PartyName><cbc:Name>{}</cbc:Name></cac:PartyName>",
        esc(p.name)
    );
    let a = &p.address;
    x.push_str("<cac:PostalAddress>");
    if !a.line.is_empty() {
        let _ = write!(x, "<cbc:StreetName>{}</cbc:StreetName>", esc(&a.line));
    }
    if !a.city.is_empty() {
        let _ = write!(x, "<cbc:CityName>{}</cbc:CityName>", esc(&a.city));
    }
    if !a.postcode.is_empty() {
        let _ = write!(x, "<cbc:PostalZone>{}</cbc:PostalZone>", esc(&a.postcode));
    }
    let _ = write!(
        x,
        "<cac:Country><cbc:IdentificationCode>{}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>",
        esc(&a.country)
    );
    if let Some(v) = p.vat_id {
        let _ = write!(
            x,
            "<cac:PartyTaxScheme><cbc:CompanyID>{}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>",
            esc(v)
        );
    }
    let _ = write!(
        x,
        "<cac:PartyLegalEntity><cbc:RegistrationName>{}</cbc:RegistrationName>",
        esc(p.name)
    );
    if let Some(s) = p.siren {
        let _ = write!(
            x,
            "<cbc:CompanyID schemeID=\"0002\">{}</cbc:CompanyID>",
            esc(s)
        );
    }
    x.push_str("</cac:PartyLegalEntity>");
    if let Some(e) = p.email {
        let _ = write!(
            x,
            "<cac:Contact><cbc:ElectronicMail>{}</cbc:ElectronicMail></cac:Contact>",
            esc(e)
        );
    }
    x.push_str("</cac:Party>");
}

/// VAT category: standard (S) or exempt (E, with its reason).
fn category(rate: Decimal) -> &'static str {
    if rate.is_zero() {
        "E"
    } else {
        "S"
    }
}

/// The UBL Invoice (or CreditNote) of `issuing`.
pub fn write(seller: Seller<'_>, issuing: &Issuing) -> String {
    let inv = &issuing.invoice;
    let c = seller.company;
    let s = seller.sales;
    let b = &issuing.customer.details;
    let totals = inv.totals();
    let cur = inv.currency.as_str();
    let number = inv.number.as_deref().unwrap_or_default();
    let credit = inv.kind == SaleKind::CreditNote;
    let root = if credit { "CreditNote" } else { "Invoice" };
    let mut x = String::with_capacity(8192);
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} \
         xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:{root}-2\" \
         xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" \
         xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\
         <cbc:CustomizationID>{CUSTOMIZATION}</cbc:CustomizationID><cbc:ProfileID>{PROFILE}</cbc:ProfileID>\
         <cbc:ID>{}</cbc:ID><cbc:IssueDate>{}</cbc:IssueDate>",
        esc(number),
        inv.issue_date.map(|d| d.to_string()).unwrap_or_default()
    );
    // An Invoice has its due date here (BT-9); a CreditNote has no cbc:DueDate.
    if !credit {
        if let Some(d) = inv.due_date {
            let _ = write!(x, "<cbc:DueDate>{d}</cbc:DueDate>");
        }
        x.push_str("<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>");
    } else {
        x.push_str("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>");
    }
    if let Some(n) = &inv.note {
        let _ = write!(x, "<cbc:Note>{}</cbc:Note>", esc(n));
    }
    let w = super::legal::wording(b.lang);
    let penalty = match s.late_penalty_percent {
        Some(p) => format!("{} {} %.", w.penalty_rate, p.normalize()),
        None => w.penalty_default.to_string(),
    };
    for text in [penalty.as_str(), w.indemnity, w.no_discount] {
        let _ = write!(x, "<cbc:Note>{}</cbc:Note>", esc(text));
    }
    let _ = write!(
        x,
        "<cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>"
    );
    // BT-10: PEPPOL asks for a buyer reference or an order reference; the customer account is
    // what the buyer's software can route on.
    let _ = write!(
        x,
        "<cbc:BuyerReference>{}</cbc:BuyerReference>",
        esc(&issuing.customer.account)
    );
    if let Some(orig) = &issuing.credited {
        let _ = write!(
            x,
            "<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{}</cbc:ID>",
            esc(orig.number.as_deref().unwrap_or_default())
        );
        if let Some(d) = orig.issue_date {
            let _ = write!(x, "<cbc:IssueDate>{d}</cbc:IssueDate>");
        }
        x.push_str("</cac:InvoiceDocumentReference></cac:BillingReference>");
    }
    x.push_str("<cac:AccountingSupplierParty>");
    party(
        &mut x,
        &Party {
            name: &c.name,
            siren: c.siren.as_ref().map(|v| v.as_str()),
            vat_id: c.vat_id.as_ref().map(|v| v.as_str()),
            address: Address {
                line: s.address.clone(),
                postcode: s.postcode.clone(),
                city: s.city.clone(),
                country: c.country.clone(),
            },
            email: s.email.as_deref(),
        },
    );
    x.push_str("</cac:AccountingSupplierParty><cac:AccountingCustomerParty>");
    party(
        &mut x,
        &Party {
            name: &b.name,
            siren: b.siren.as_ref().map(|v| v.as_str()),
            vat_id: b.vat_id.as_ref().map(|v| v.as_str()),
            address: b.address.clone(),
            email: b.invoice_email.as_deref(),
        },
    );
    x.push_str("</cac:AccountingCustomerParty>");
    if let (false, Some(iban)) = (credit, &c.iban) {
        // 58: SEPA credit transfer; the number as the remittance (BT-83).
        let _ = write!(
            x,
            "<cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>\
             <cbc:PaymentID>{}</cbc:PaymentID><cac:PayeeFinancialAccount><cbc:ID>{}</cbc:ID>",
            esc(number),
            esc(iban.as_str())
        );
        if let Some(bic) = &c.bic {
            let _ = write!(
                x,
                "<cac:FinancialInstitutionBranch><cbc:ID>{}</cbc:ID></cac:FinancialInstitutionBranch>",
                esc(bic.as_str())
            );
        }
        x.push_str("</cac:PayeeFinancialAccount></cac:PaymentMeans>");
    }
    if !credit {
        let _ = write!(
            x,
            "<cac:PaymentTerms><cbc:Note>{} {}</cbc:Note></cac:PaymentTerms>",
            issuing.customer.details.payment_terms_days,
            esc(w.terms_days)
        );
    }
    let _ = write!(
        x,
        "<cac:TaxTotal><cbc:TaxAmount currencyID=\"{cur}\">{}</cbc:TaxAmount>",
        amount(totals.tax)
    );
    for r in &totals.by_rate {
        let _ = write!(
            x,
            "<cac:TaxSubtotal><cbc:TaxableAmount currencyID=\"{cur}\">{}</cbc:TaxableAmount>\
             <cbc:TaxAmount currencyID=\"{cur}\">{}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>{}</cbc:ID>\
             <cbc:Percent>{}</cbc:Percent>",
            amount(r.base),
            amount(r.tax),
            category(r.rate),
            r.rate.normalize()
        );
        if r.rate.is_zero() {
            let _ = write!(
                x,
                "<cbc:TaxExemptionReason>{}</cbc:TaxExemptionReason>",
                esc(inv.vat_exemption.as_deref().unwrap_or_default())
            );
        }
        x.push_str("<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>");
    }
    let _ = write!(
        x,
        "</cac:TaxTotal><cac:LegalMonetaryTotal>\
         <cbc:LineExtensionAmount currencyID=\"{cur}\">{net}</cbc:LineExtensionAmount>\
         <cbc:TaxExclusiveAmount currencyID=\"{cur}\">{net}</cbc:TaxExclusiveAmount>\
         <cbc:TaxInclusiveAmount currencyID=\"{cur}\">{gross}</cbc:TaxInclusiveAmount>\
         <cbc:PayableAmount currencyID=\"{cur}\">{gross}</cbc:PayableAmount></cac:LegalMonetaryTotal>",
        net = amount(totals.net),
        gross = amount(totals.gross),
    );
    let (line_tag, qty_tag) = if credit {
        ("CreditNoteLine", "CreditedQuantity")
    } else {
        ("InvoiceLine", "InvoicedQuantity")
    };
    for (i, (l, net)) in inv.lines.iter().zip(&totals.lines).enumerate() {
        let _ = write!(
            x,
            "<cac:{line_tag}><cbc:ID>{}</cbc:ID>\
             <cbc:{qty_tag} unitCode=\"{}\">{}</cbc:{qty_tag}>\
             <cbc:LineExtensionAmount currencyID=\"{cur}\">{}</cbc:LineExtensionAmount>\
             <cac:Item><cbc:Name>{}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>{}</cbc:ID>\
             <cbc:Percent>{}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>\
             </cac:ClassifiedTaxCategory></cac:Item>\
             <cac:Price><cbc:PriceAmount currencyID=\"{cur}\">{}</cbc:PriceAmount></cac:Price></cac:{line_tag}>",
            i + 1,
            esc(l.unit.as_deref().unwrap_or("C62")),
            l.quantity.normalize(),
            amount(*net),
            esc(&l.description),
            category(l.vat_rate),
            l.vat_rate.normalize(),
            l.unit_price.normalize(),
        );
    }
    let _ = writeln!(x, "</{root}>");
    x
}
