//! OASIS UBL 2.1 Invoice and CreditNote (PEPPOL BIS 3, XRechnung UBL, EN 16931 UBL binding).
//!
//! A CreditNote differs from an Invoice only in a few names (CreditNoteTypeCode, CreditNoteLine,
//! CreditedQuantity) and in having no cbc:DueDate (BT-9 then sits on the payment means); the root
//! alone makes it a credit note, whatever its type code says.

use super::common::{
    amount_in, currency, decimal, joined, set_account, tax_total, ubl_date, zero_if_absent,
    RawParty,
};
use super::xml::{Element, EMPTY};
use super::EinvoiceError;
use crate::domain::{DocType, Invoice, LineItem, Party, PrecedingInvoice, VatBreakdown};

pub fn read(root: Element<'_>) -> Result<Invoice, EinvoiceError> {
    let credit = root.name() == "CreditNote";
    let type_code = root.text_at(&[if credit {
        "CreditNoteTypeCode"
    } else {
        "InvoiceTypeCode"
    }]);
    let doc_type = if credit {
        DocType::CreditNote
    } else {
        type_code
            .as_deref()
            .map(DocType::from_type_code)
            .unwrap_or_default()
    };
    let cur = currency(root.text_at(&["DocumentCurrencyCode"]))?;
    let sums = root.child("LegalMonetaryTotal").unwrap_or(EMPTY);
    let means: Vec<Element<'_>> = root.all("PaymentMeans").collect();

    let mut due_date = ubl_date(root.child("DueDate"), "BT-9 DueDate")?;
    for m in &means {
        if due_date.is_none() {
            due_date = ubl_date(m.child("PaymentDueDate"), "BT-9 PaymentDueDate")?;
        }
    }
    let mut seller = party(root.path(&["AccountingSupplierParty", "Party"]));
    let accounts: Vec<(String, Option<String>)> = means
        .iter()
        .filter_map(|m| {
            let account = m.child("PayeeFinancialAccount")?;
            let bic = account.text_at(&["FinancialInstitutionBranch", "ID"]);
            Some((account.text_at(&["ID"])?, bic))
        })
        .collect();
    set_account(&mut seller, &accounts);

    // BG-23 sits in the TaxTotal in the invoice currency; a second TaxTotal may give BT-111.
    let subtotals: Vec<VatBreakdown> = root
        .all("TaxTotal")
        .flat_map(|t| t.all("TaxSubtotal"))
        .map(vat)
        .collect::<Result<_, _>>()?;
    let line_name = if credit {
        "CreditNoteLine"
    } else {
        "InvoiceLine"
    };

    Ok(Invoice {
        doc_type,
        number: root.text_at(&["ID"]),
        issue_date: ubl_date(root.child("IssueDate"), "BT-2 IssueDate")?,
        due_date,
        currency: cur,
        buyer_reference: root.text_at(&["BuyerReference"]),
        purchase_order: order_reference(root.child("OrderReference")),
        contract_reference: root.text_at(&["ContractDocumentReference", "ID"]),
        payment_terms: joined(root.all("PaymentTerms").filter_map(|t| t.child("Note"))),
        seller,
        buyer: party(root.path(&["AccountingCustomerParty", "Party"])),
        line_total: decimal(
            sums.child("LineExtensionAmount"),
            "BT-106 LineExtensionAmount",
        )?,
        allowance_total: zero_if_absent(decimal(
            sums.child("AllowanceTotalAmount"),
            "BT-107 AllowanceTotalAmount",
        )?),
        charge_total: zero_if_absent(decimal(
            sums.child("ChargeTotalAmount"),
            "BT-108 ChargeTotalAmount",
        )?),
        total_net: decimal(
            sums.child("TaxExclusiveAmount"),
            "BT-109 TaxExclusiveAmount",
        )?,
        total_tax: tax_total(
            amount_in(
                root.all("TaxTotal").filter_map(|t| t.child("TaxAmount")),
                cur,
                "BT-110 TaxAmount",
            )?,
            &subtotals,
        ),
        total_gross: decimal(
            sums.child("TaxInclusiveAmount"),
            "BT-112 TaxInclusiveAmount",
        )?,
        prepaid: zero_if_absent(decimal(
            sums.child("PrepaidAmount"),
            "BT-113 PrepaidAmount",
        )?),
        amount_due: decimal(sums.child("PayableAmount"), "BT-115 PayableAmount")?,
        vat_breakdown: subtotals,
        lines: root.all(line_name).map(line).collect::<Result<_, _>>()?,
        preceding: root
            .all("BillingReference")
            .filter_map(|b| b.child("InvoiceDocumentReference"))
            .map(preceding)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        type_code,
    })
}

/// BT-13. UBL makes cac:OrderReference/cbc:ID mandatory even when the seller only has its own
/// order number (BT-14, cbc:SalesOrderID); writers then put a placeholder in cbc:ID, which is not
/// a purchase order number. CII has no such constraint, so without this the twins disagree.
fn order_reference(r: Option<Element<'_>>) -> Option<String> {
    let r = r?;
    let id = r.text_at(&["ID"])?;
    let placeholder = ["NA", "N/A", "Dummywert", "dummy", "-", "0", "none"]
        .iter()
        .any(|p| id.eq_ignore_ascii_case(p));
    (!(placeholder && r.child("SalesOrderID").is_some())).then_some(id)
}

fn party(p: Option<Element<'_>>) -> Party {
    let Some(p) = p else {
        return Party::default();
    };
    let scheme = |e: Element<'_>| e.attr("schemeID").map(str::to_string);
    let mut raw = RawParty {
        name: p
            .text_at(&["PartyLegalEntity", "RegistrationName"])
            .or_else(|| p.text_at(&["PartyName", "Name"])),
        country: p.text_at(&["PostalAddress", "Country", "IdentificationCode"]),
        email: p.text_at(&["Contact", "ElectronicMail"]).or_else(|| {
            let endpoint = p.child("EndpointID")?;
            (endpoint.attr("schemeID") == Some("EM")).then(|| endpoint.value())?
        }),
        ..RawParty::default()
    };
    for id in p.all("PartyIdentification").filter_map(|i| i.child("ID")) {
        if let Some(v) = id.value() {
            raw.ids.push((scheme(id), v));
        }
    }
    if let Some(legal) = p.path(&["PartyLegalEntity", "CompanyID"]) {
        raw.legal = legal.value().map(|v| (scheme(legal), v));
    }
    for tax in p.all("PartyTaxScheme") {
        let is_vat = tax
            .text_at(&["TaxScheme", "ID"])
            .is_none_or(|s| s.eq_ignore_ascii_case("VAT"));
        if is_vat && raw.vat.is_none() {
            raw.vat = tax.text_at(&["CompanyID"]);
        }
    }
    raw.build()
}

fn vat(s: Element<'_>) -> Result<VatBreakdown, EinvoiceError> {
    let cat = s.child("TaxCategory").unwrap_or(EMPTY);
    Ok(VatBreakdown {
        category: cat.text_at(&["ID"]),
        rate: decimal(cat.child("Percent"), "BT-119 Percent")?,
        taxable_amount: decimal(s.child("TaxableAmount"), "BT-116 TaxableAmount")?
            .unwrap_or_default(),
        tax_amount: decimal(s.child("TaxAmount"), "BT-117 TaxAmount")?.unwrap_or_default(),
        exemption_reason: cat.text_at(&["TaxExemptionReason"]),
    })
}

fn line(l: Element<'_>) -> Result<LineItem, EinvoiceError> {
    let item = l.child("Item").unwrap_or(EMPTY);
    let tax = item.child("ClassifiedTaxCategory").unwrap_or(EMPTY);
    let quantity = l.child_any(&["InvoicedQuantity", "CreditedQuantity"]);
    Ok(LineItem {
        id: l.text_at(&["ID"]),
        description: item
            .text_at(&["Name"])
            .or_else(|| item.text_at(&["Description"]))
            .unwrap_or_default(),
        quantity: decimal(quantity, "BT-129 InvoicedQuantity")?,
        unit: quantity
            .and_then(|q| q.attr("unitCode"))
            .map(str::to_string),
        unit_price: decimal(l.path(&["Price", "PriceAmount"]), "BT-146 PriceAmount")?,
        net_amount: decimal(l.child("LineExtensionAmount"), "BT-131 LineExtensionAmount")?,
        vat_category: tax.text_at(&["ID"]),
        vat_rate: decimal(tax.child("Percent"), "BT-152 Percent")?,
    })
}

fn preceding(r: Element<'_>) -> Result<Option<PrecedingInvoice>, EinvoiceError> {
    let Some(number) = r.text_at(&["ID"]) else {
        return Ok(None);
    };
    Ok(Some(PrecedingInvoice {
        number,
        issue_date: ubl_date(r.child("IssueDate"), "BT-26 IssueDate")?,
    }))
}
