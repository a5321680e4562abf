//! UN/CEFACT Cross Industry Invoice (D16B: Factur-X, ZUGFeRD 2.x, XRechnung CII) and its ZUGFeRD 1.0
//! ancestor (CrossIndustryDocument), mapped to EN 16931 terms.
//!
//! The two share the party, tax and amount elements but name the containers differently
//! (`ApplicableHeaderTradeSettlement` vs `ApplicableSupplyChainTradeSettlement`, …), so one walker
//! reads both from a table of container names rather than two copies drifting apart.

use super::common::{
    amount_in, cii_date, currency, decimal, joined, set_account, tax_total, zero_if_absent,
    RawParty,
};
use super::xml::{Element, EMPTY};
use super::EinvoiceError;
use crate::domain::{DocType, Invoice, LineItem, Party, PrecedingInvoice, VatBreakdown};

/// Container names of one CII generation.
pub struct Dialect {
    document: &'static str,
    transaction: &'static str,
    agreement: &'static str,
    settlement: &'static str,
    summation: &'static str,
    ref_id: &'static str,
    percent: &'static str,
    line_agreement: &'static str,
    line_delivery: &'static str,
    line_settlement: &'static str,
    line_summation: &'static str,
}

/// CII D16B (`rsm:CrossIndustryInvoice`): Factur-X, ZUGFeRD 2.0–2.3, XRechnung.
pub const D16B: Dialect = Dialect {
    document: "ExchangedDocument",
    transaction: "SupplyChainTradeTransaction",
    agreement: "ApplicableHeaderTradeAgreement",
    settlement: "ApplicableHeaderTradeSettlement",
    summation: "SpecifiedTradeSettlementHeaderMonetarySummation",
    ref_id: "IssuerAssignedID",
    percent: "RateApplicablePercent",
    line_agreement: "SpecifiedLineTradeAgreement",
    line_delivery: "SpecifiedLineTradeDelivery",
    line_settlement: "SpecifiedLineTradeSettlement",
    line_summation: "SpecifiedTradeSettlementLineMonetarySummation",
};

/// ZUGFeRD 1.0 (`rsm:CrossIndustryDocument`, namespace urn:ferd:CrossIndustryDocument:invoice:1p0).
pub const ZUGFERD1: Dialect = Dialect {
    document: "HeaderExchangedDocument",
    transaction: "SpecifiedSupplyChainTradeTransaction",
    agreement: "ApplicableSupplyChainTradeAgreement",
    settlement: "ApplicableSupplyChainTradeSettlement",
    summation: "SpecifiedTradeSettlementMonetarySummation",
    ref_id: "ID",
    percent: "ApplicablePercent",
    line_agreement: "SpecifiedSupplyChainTradeAgreement",
    line_delivery: "SpecifiedSupplyChainTradeDelivery",
    line_settlement: "SpecifiedSupplyChainTradeSettlement",
    line_summation: "SpecifiedTradeSettlementMonetarySummation",
};

pub fn read(root: Element<'_>, d: &Dialect) -> Result<Invoice, EinvoiceError> {
    let doc = root
        .child(d.document)
        .ok_or_else(|| EinvoiceError::Missing {
            element: d.document,
            root: root.name().to_string(),
        })?;
    let tx = root.child(d.transaction).unwrap_or(EMPTY);
    let agreement = tx.child(d.agreement).unwrap_or(EMPTY);
    let settlement = tx.child(d.settlement).unwrap_or(EMPTY);
    let sums = settlement.child(d.summation).unwrap_or(EMPTY);

    let type_code = doc.text_at(&["TypeCode"]);
    let cur = currency(settlement.text_at(&["InvoiceCurrencyCode"]))?;
    let terms: Vec<Element<'_>> = settlement.all("SpecifiedTradePaymentTerms").collect();

    let mut seller = party(agreement.child("SellerTradeParty"));
    let accounts: Vec<(String, Option<String>)> = settlement
        .all("SpecifiedTradeSettlementPaymentMeans")
        .filter_map(|m| {
            // BT-84 is an IBAN or a proprietary id; only IBANs become typed, whichever element.
            let account = m.child("PayeePartyCreditorFinancialAccount")?;
            let iban = account
                .text_at(&["IBANID"])
                .or_else(|| account.text_at(&["ProprietaryID"]))?;
            let bic = m.text_at(&["PayeeSpecifiedCreditorFinancialInstitution", "BICID"]);
            Some((iban, bic))
        })
        .collect();
    set_account(&mut seller, &accounts);

    let mut due_date = None;
    for t in &terms {
        if due_date.is_none() {
            due_date = cii_date(t.child("DueDateDateTime"), "BT-9 DueDateDateTime")?;
        }
    }

    let vat_breakdown: Vec<VatBreakdown> = settlement
        .all("ApplicableTradeTax")
        .map(|t| vat(t, d))
        .collect::<Result<_, _>>()?;

    Ok(Invoice {
        doc_type: type_code
            .as_deref()
            .map(DocType::from_type_code)
            .unwrap_or_default(),
        number: doc.text_at(&["ID"]),
        issue_date: cii_date(doc.child("IssueDateTime"), "BT-2 IssueDateTime")?,
        due_date,
        currency: cur,
        buyer_reference: agreement.text_at(&["BuyerReference"]),
        purchase_order: agreement.text_at(&["BuyerOrderReferencedDocument", d.ref_id]),
        contract_reference: agreement.text_at(&["ContractReferencedDocument", d.ref_id]),
        payment_terms: joined(terms.iter().filter_map(|t| t.child("Description"))),
        seller,
        buyer: party(agreement.child("BuyerTradeParty")),
        line_total: decimal(sums.child("LineTotalAmount"), "BT-106 LineTotalAmount")?,
        allowance_total: zero_if_absent(decimal(
            sums.child("AllowanceTotalAmount"),
            "BT-107 AllowanceTotalAmount",
        )?),
        charge_total: zero_if_absent(decimal(
            sums.child("ChargeTotalAmount"),
            "BT-108 ChargeTotalAmount",
        )?),
        total_net: decimal(
            sums.child("TaxBasisTotalAmount"),
            "BT-109 TaxBasisTotalAmount",
        )?,
        total_tax: tax_total(
            amount_in(sums.all("TaxTotalAmount"), cur, "BT-110 TaxTotalAmount")?,
            &vat_breakdown,
        ),
        total_gross: decimal(sums.child("GrandTotalAmount"), "BT-112 GrandTotalAmount")?,
        prepaid: zero_if_absent(decimal(
            sums.child("TotalPrepaidAmount"),
            "BT-113 TotalPrepaidAmount",
        )?),
        amount_due: decimal(sums.child("DuePayableAmount"), "BT-115 DuePayableAmount")?,
        vat_breakdown,
        lines: tx
            .all("IncludedSupplyChainTradeLineItem")
            .map(|l| line(l, d))
            .collect::<Result<_, _>>()?,
        preceding: settlement
            .all("InvoiceReferencedDocument")
            .map(|r| preceding(r, d))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        type_code,
    })
}

fn party(p: Option<Element<'_>>) -> Party {
    let Some(p) = p else {
        return Party::default();
    };
    let scheme = |e: Element<'_>| e.attr("schemeID").map(str::to_string);
    let mut raw = RawParty {
        name: p
            .text_at(&["Name"])
            .or_else(|| p.text_at(&["SpecifiedLegalOrganization", "TradingBusinessName"])),
        country: p.text_at(&["PostalTradeAddress", "CountryID"]),
        email: p
            .text_at(&[
                "DefinedTradeContact",
                "EmailURIUniversalCommunication",
                "URIID",
            ])
            .or_else(|| {
                let uri = p.path(&["URIUniversalCommunication", "URIID"])?;
                (uri.attr("schemeID") == Some("EM")).then(|| uri.value())?
            }),
        ..RawParty::default()
    };
    for id in p.all("ID").chain(p.all("GlobalID")) {
        if let Some(v) = id.value() {
            raw.ids.push((scheme(id), v));
        }
    }
    if let Some(legal) = p.path(&["SpecifiedLegalOrganization", "ID"]) {
        raw.legal = legal.value().map(|v| (scheme(legal), v));
    }
    for reg in p.all("SpecifiedTaxRegistration") {
        if let Some(id) = reg.child("ID") {
            if id.attr("schemeID").map(str::trim) == Some("VA") && raw.vat.is_none() {
                raw.vat = id.value();
            }
        }
    }
    raw.build()
}

fn vat(t: Element<'_>, d: &Dialect) -> Result<VatBreakdown, EinvoiceError> {
    Ok(VatBreakdown {
        category: t.text_at(&["CategoryCode"]),
        rate: decimal(t.child(d.percent), "BT-119 RateApplicablePercent")?,
        taxable_amount: decimal(t.child("BasisAmount"), "BT-116 BasisAmount")?.unwrap_or_default(),
        tax_amount: decimal(t.child("CalculatedAmount"), "BT-117 CalculatedAmount")?
            .unwrap_or_default(),
        exemption_reason: t.text_at(&["ExemptionReason"]),
    })
}

fn line(l: Element<'_>, d: &Dialect) -> Result<LineItem, EinvoiceError> {
    let product = l.child("SpecifiedTradeProduct").unwrap_or(EMPTY);
    let agreement = l.child(d.line_agreement).unwrap_or(EMPTY);
    let delivery = l.child(d.line_delivery).unwrap_or(EMPTY);
    let settlement = l.child(d.line_settlement).unwrap_or(EMPTY);
    let tax = settlement.child("ApplicableTradeTax").unwrap_or(EMPTY);
    let quantity = delivery.child("BilledQuantity");
    Ok(LineItem {
        id: l.text_at(&["AssociatedDocumentLineDocument", "LineID"]),
        description: product
            .text_at(&["Name"])
            .or_else(|| product.text_at(&["Description"]))
            .unwrap_or_default(),
        quantity: decimal(quantity, "BT-129 BilledQuantity")?,
        unit: quantity
            .and_then(|q| q.attr("unitCode"))
            .map(str::to_string),
        unit_price: decimal(
            agreement.path(&["NetPriceProductTradePrice", "ChargeAmount"]),
            "BT-146 NetPriceProductTradePrice",
        )?,
        net_amount: decimal(
            settlement.path(&[d.line_summation, "LineTotalAmount"]),
            "BT-131 LineTotalAmount",
        )?,
        vat_category: tax.text_at(&["CategoryCode"]),
        vat_rate: decimal(tax.child(d.percent), "BT-152 RateApplicablePercent")?,
    })
}

fn preceding(r: Element<'_>, d: &Dialect) -> Result<Option<PrecedingInvoice>, EinvoiceError> {
    let Some(number) = r.text_at(&[d.ref_id]).or_else(|| r.text_at(&["ID"])) else {
        return Ok(None);
    };
    Ok(Some(PrecedingInvoice {
        number,
        issue_date: cii_date(
            r.child_any(&["FormattedIssueDateTime", "IssueDateTime"]),
            "BT-26 FormattedIssueDateTime",
        )?,
    }))
}
