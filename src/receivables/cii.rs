//! The CII XML of an issued sale (UN/CEFACT CrossIndustryInvoice D16B) in a Factur-X profile
//! (`profile.rs`: EN 16931 by default, BASIC, BASIC WL, MINIMUM): what a buyer's software reads
//! instead of the page. Element order follows each profile's Factur-X XSD (checked by the tests
//! with the official schemas); a smaller profile leaves out what its XSD has no room for (BIC,
//! lines, notes…). Amounts are written with two decimals, dates as `YYYYMMDD` (format 102).

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::customer::Address;
use super::profile::FacturxProfile;
use super::{Issuing, SaleKind, Seller};

/// The profile's guideline id (BT-24).
pub const EN16931: &str = "urn:cen.eu:en16931:2017";

/// XML text escaping for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn amount(d: Decimal) -> String {
    format!("{:.2}", super::sale::cents(d))
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

struct Party<'a> {
    name: &'a str,
    siren: Option<&'a str>,
    vat_id: Option<&'a str>,
    address: Address,
    email: Option<&'a str>,
}

fn party(x: &mut String, tag: &str, p: &Party<'_>, profile: FacturxProfile) {
    let full = profile.has_settlement();
    let _ = write!(x, "<ram:{tag}><ram:Name>{}</ram:Name>", esc(p.name));
    if let Some(s) = p.siren {
        let _ = write!(
            x,
            "<ram:SpecifiedLegalOrganization><ram:ID schemeID=\"0002\">{}</ram:ID></ram:SpecifiedLegalOrganization>",
            esc(s)
        );
    }
    let a = &p.address;
    x.push_str("<ram:PostalTradeAddress>");
    // MINIMUM's address is the country alone.
    if full && !a.postcode.is_empty() {
        let _ = write!(
            x,
            "<ram:PostcodeCode>{}</ram:PostcodeCode>",
            esc(&a.postcode)
        );
    }
    if full && !a.line.is_empty() {
        let _ = write!(x, "<ram:LineOne>{}</ram:LineOne>", esc(&a.line));
    }
    if full && !a.city.is_empty() {
        let _ = write!(x, "<ram:CityName>{}</ram:CityName>", esc(&a.city));
    }
    let _ = write!(
        x,
        "<ram:CountryID>{}</ram:CountryID></ram:PostalTradeAddress>",
        esc(&a.country)
    );
    if let Some(e) = p.email.filter(|_| full) {
        let _ = write!(
            x,
            "<ram:URIUniversalCommunication><ram:URIID schemeID=\"EM\">{}</ram:URIID></ram:URIUniversalCommunication>",
            esc(e)
        );
    }
    if let Some(v) = p.vat_id {
        let _ = write!(
            x,
            "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{}</ram:ID></ram:SpecifiedTaxRegistration>",
            esc(v)
        );
    }
    let _ = write!(x, "</ram:{tag}>");
}

/// VAT category: standard (S) or exempt (E, with its reason).
fn category(rate: Decimal) -> &'static str {
    if rate.is_zero() {
        "E"
    } else {
        "S"
    }
}

/// The XML of `issuing` in `profile`.
pub fn write(seller: Seller<'_>, issuing: &Issuing, profile: FacturxProfile) -> String {
    let inv = &issuing.invoice;
    let c = seller.company;
    let s = seller.sales;
    let b = &issuing.customer.details;
    let totals = inv.totals();
    let cur = inv.currency.as_str();
    let number = inv.number.as_deref().unwrap_or_default();
    let mut x = String::with_capacity(8192);
    x.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice \
         xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" \
         xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" \
         xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" \
         xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\">",
    );
    let _ = write!(
        x,
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>\
         <ram:ID>{}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>\
         </rsm:ExchangedDocumentContext>",
        profile.guideline()
    );
    let type_code = match inv.kind {
        SaleKind::Invoice => "380",
        SaleKind::CreditNote => "381",
    };
    let _ = write!(
        x,
        "<rsm:ExchangedDocument><ram:ID>{}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>\
         <ram:IssueDateTime><udt:DateTimeString format=\"102\">{}</udt:DateTimeString></ram:IssueDateTime>",
        esc(number),
        inv.issue_date.map(day).unwrap_or_default()
    );
    if let Some(n) = inv.note.as_ref().filter(|_| profile.has_settlement()) {
        let _ = write!(
            x,
            "<ram:IncludedNote><ram:Content>{}</ram:Content></ram:IncludedNote>",
            esc(n)
        );
    }
    let w = super::legal::wording(b.lang);
    let penalty = match s.late_penalty_percent {
        Some(p) => format!("{} {} %.", w.penalty_rate, p.normalize()),
        None => w.penalty_default.to_string(),
    };
    let notes = [
        (penalty.as_str(), "PMD"),
        (w.indemnity, "PMT"),
        (w.no_discount, "AAB"),
    ];
    for (text, code) in notes.into_iter().filter(|_| profile.has_settlement()) {
        let _ = write!(
            x,
            "<ram:IncludedNote><ram:Content>{}</ram:Content><ram:SubjectCode>{code}</ram:SubjectCode></ram:IncludedNote>",
            esc(text)
        );
    }
    x.push_str("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>");
    let listed = if profile.has_lines() {
        inv.lines.len()
    } else {
        0
    };
    for (i, (l, net)) in inv.lines.iter().zip(&totals.lines).take(listed).enumerate() {
        let _ = write!(
            x,
            "<ram:IncludedSupplyChainTradeLineItem>\
             <ram:AssociatedDocumentLineDocument><ram:LineID>{}</ram:LineID></ram:AssociatedDocumentLineDocument>\
             <ram:SpecifiedTradeProduct><ram:Name>{}</ram:Name></ram:SpecifiedTradeProduct>\
             <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>{}</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>\
             <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode=\"{}\">{}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>\
             <ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>\
             <ram:CategoryCode>{}</ram:CategoryCode><ram:RateApplicablePercent>{}</ram:RateApplicablePercent></ram:ApplicableTradeTax>\
             <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>\
             </ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>",
            i + 1,
            esc(&l.description),
            l.unit_price.normalize(),
            esc(l.unit.as_deref().unwrap_or("C62")),
            l.quantity.normalize(),
            category(l.vat_rate),
            l.vat_rate.normalize(),
            amount(*net)
        );
    }
    x.push_str("<ram:ApplicableHeaderTradeAgreement>");
    let seller_party = Party {
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
    };
    party(&mut x, "SellerTradeParty", &seller_party, profile);
    let buyer = Party {
        name: &b.name,
        siren: b.siren.as_ref().map(|v| v.as_str()),
        vat_id: b.vat_id.as_ref().map(|v| v.as_str()),
        address: b.address.clone(),
        email: b.invoice_email.as_deref(),
    };
    party(&mut x, "BuyerTradeParty", &buyer, profile);
    x.push_str("</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery/>");
    if !profile.has_settlement() {
        // MINIMUM: the currency and the four totals, nothing else.
        let _ = writeln!(
            x,
            "<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>{cur}</ram:InvoiceCurrencyCode>\
             <ram:SpecifiedTradeSettlementHeaderMonetarySummation>\
             <ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount>\
             <ram:TaxTotalAmount currencyID=\"{cur}\">{tax}</ram:TaxTotalAmount><ram:GrandTotalAmount>{gross}</ram:GrandTotalAmount>\
             <ram:DuePayableAmount>{gross}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>\
             </ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>",
            net = amount(totals.net),
            tax = amount(totals.tax),
            gross = amount(totals.gross),
        );
        return x;
    }
    let _ = write!(
        x,
        "<ram:ApplicableHeaderTradeSettlement><ram:PaymentReference>{}</ram:PaymentReference>\
         <ram:InvoiceCurrencyCode>{cur}</ram:InvoiceCurrencyCode>",
        esc(number)
    );
    if let (SaleKind::Invoice, Some(iban)) = (inv.kind, &c.iban) {
        let _ = write!(
            x,
            "<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>\
             <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>",
            esc(iban.as_str())
        );
        // Only EN 16931 has room for the BIC (BT-86).
        if let Some(bic) = c
            .bic
            .as_ref()
            .filter(|_| profile == FacturxProfile::En16931)
        {
            let _ = write!(
                x,
                "<ram:PayeeSpecifiedCreditorFinancialInstitution><ram:BICID>{}</ram:BICID></ram:PayeeSpecifiedCreditorFinancialInstitution>",
                esc(bic.as_str())
            );
        }
        x.push_str("</ram:SpecifiedTradeSettlementPaymentMeans>");
    }
    for r in &totals.by_rate {
        let _ = write!(
            x,
            "<ram:ApplicableTradeTax><ram:CalculatedAmount>{}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>",
            amount(r.tax)
        );
        if r.rate.is_zero() {
            let _ = write!(
                x,
                "<ram:ExemptionReason>{}</ram:ExemptionReason>",
                esc(inv.vat_exemption.as_deref().unwrap_or_default())
            );
        }
        let _ = write!(
            x,
            "<ram:BasisAmount>{}</ram:BasisAmount><ram:CategoryCode>{}</ram:CategoryCode>\
             <ram:RateApplicablePercent>{}</ram:RateApplicablePercent></ram:ApplicableTradeTax>",
            amount(r.base),
            category(r.rate),
            r.rate.normalize()
        );
    }
    x.push_str("<ram:SpecifiedTradePaymentTerms>");
    if inv.kind == SaleKind::Invoice {
        let _ = write!(
            x,
            "<ram:Description>{} {}</ram:Description>",
            issuing.customer.details.payment_terms_days,
            esc(w.terms_days)
        );
    }
    let _ = write!(
        x,
        "<ram:DueDateDateTime><udt:DateTimeString format=\"102\">{}</udt:DateTimeString></ram:DueDateDateTime>\
         </ram:SpecifiedTradePaymentTerms>",
        inv.due_date.map(day).unwrap_or_default()
    );
    let _ = write!(
        x,
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation>\
         <ram:LineTotalAmount>{net}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{net}</ram:TaxBasisTotalAmount>\
         <ram:TaxTotalAmount currencyID=\"{cur}\">{tax}</ram:TaxTotalAmount><ram:GrandTotalAmount>{gross}</ram:GrandTotalAmount>\
         <ram:DuePayableAmount>{gross}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>",
        net = amount(totals.net),
        tax = amount(totals.tax),
        gross = amount(totals.gross),
    );
    if let Some(orig) = &issuing.credited {
        let _ = write!(
            x,
            "<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{}</ram:IssuerAssignedID>",
            esc(orig.number.as_deref().unwrap_or_default())
        );
        if let Some(d) = orig.issue_date {
            let _ = write!(
                x,
                "<ram:FormattedIssueDateTime><qdt:DateTimeString format=\"102\">{}</qdt:DateTimeString></ram:FormattedIssueDateTime>",
                day(d)
            );
        }
        x.push_str("</ram:InvoiceReferencedDocument>");
    }
    x.push_str("</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n");
    x
}
