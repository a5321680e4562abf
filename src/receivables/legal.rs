//! What French law requires on a B2B invoice (CGI art. 242 nonies A, C. com. L441-9 and
//! L441-10), checked before a number is taken, and the wording of the printed invoice in the
//! customer's language. A missing mention stops the issue with what to add where.

use rust_decimal::Decimal;

use super::{Issuing, SaleKind, Seller};
use crate::ledger::account::Lang;

/// What the invoice would lack; empty when it can be issued.
pub fn missing(seller: Seller<'_>, issuing: &Issuing) -> Vec<String> {
    let mut out = Vec::new();
    let c = seller.company;
    let s = seller.sales;
    if c.name.trim().is_empty() {
        out.push("the seller's name: name under [company]".into());
    }
    if c.siren.is_none() {
        out.push("the seller's SIREN: siren under [company]".into());
    }
    let charges_vat = issuing.invoice.tax > Decimal::ZERO;
    if c.vat_id.is_none() && charges_vat {
        out.push("the seller's VAT id: vat_id under [company]".into());
    }
    if s.address.trim().is_empty() || s.postcode.trim().is_empty() || s.city.trim().is_empty() {
        out.push("the seller's address: address, postcode and city under [sales]".into());
    }
    let b = &issuing.customer.details;
    let fix = format!("(facteur customers add … for {})", issuing.customer.account);
    if b.address.line.trim().is_empty() || b.address.city.trim().is_empty() {
        out.push(format!("the customer's address {fix}"));
    }
    if b.address.country == "FR" && b.siren.is_none() {
        out.push(format!("the customer's SIREN {fix}"));
    }
    let inv = &issuing.invoice;
    if inv.issue_date.is_none() || inv.due_date.is_none() || inv.number.is_none() {
        out.push("a number, an issue date and a due date".into());
    }
    if inv.kind == SaleKind::CreditNote && issuing.credited.is_none() {
        out.push("the invoice a credit note corrects".into());
    }
    out
}

/// Every text the printed invoice needs, in one language.
pub struct Wording {
    pub invoice: &'static str,
    pub credit_note: &'static str,
    pub number: &'static str,
    pub date: &'static str,
    pub due: &'static str,
    pub bill_to: &'static str,
    pub customer_account: &'static str,
    pub siren: &'static str,
    pub vat_id: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub vat: &'static str,
    pub amount: &'static str,
    pub vat_summary: &'static str,
    pub base: &'static str,
    pub total_net: &'static str,
    pub total_vat: &'static str,
    pub total_gross: &'static str,
    pub to_pay: &'static str,
    pub to_refund: &'static str,
    pub payment: &'static str,
    pub terms_days: &'static str,
    pub iban: &'static str,
    pub credits_invoice: &'static str,
    pub no_discount: &'static str,
    pub penalty_default: &'static str,
    pub penalty_rate: &'static str,
    pub indemnity: &'static str,
    pub page: &'static str,
    /// A quote's title, validity and acceptance block.
    pub quote: &'static str,
    pub valid_until: &'static str,
    pub quote_for: &'static str,
    pub quote_terms: &'static str,
    pub acceptance: &'static str,
    pub quote_total: &'static str,
}

pub const FR: Wording = Wording {
    invoice: "FACTURE",
    credit_note: "AVOIR",
    number: "N°",
    date: "Date",
    due: "Échéance",
    bill_to: "Facturé à",
    customer_account: "Compte client",
    siren: "SIREN",
    vat_id: "N° TVA",
    description: "Désignation",
    quantity: "Qté",
    unit_price: "Prix unit. HT",
    vat: "TVA",
    amount: "Montant HT",
    vat_summary: "Récapitulatif TVA",
    base: "Base HT",
    total_net: "Total HT",
    total_vat: "Total TVA",
    total_gross: "Total TTC",
    to_pay: "Net à payer",
    to_refund: "Montant à rembourser",
    payment: "Paiement",
    terms_days: "jours à compter de la date de facture",
    iban: "Virement sur l'IBAN",
    credits_invoice: "Avoir sur la facture",
    no_discount: "Pas d'escompte pour paiement anticipé.",
    penalty_default: "En cas de retard de paiement, pénalités au taux de refinancement de la BCE majoré de 10 points (art. L441-10 C. com.).",
    penalty_rate: "En cas de retard de paiement, pénalités au taux annuel de",
    indemnity: "Indemnité forfaitaire pour frais de recouvrement due au créancier en cas de retard : 40 € (art. D441-5 C. com.).",
    page: "Page",
    quote: "DEVIS",
    valid_until: "Valable jusqu'au",
    quote_for: "Devis pour",
    quote_terms: "jours à compter de la date de facture, facture émise à l'acceptation du devis",
    acceptance: "Bon pour accord — date, signature et cachet du client, précédés de la mention « Bon pour accord » :",
    quote_total: "Montant du devis TTC",
};

pub const EN: Wording = Wording {
    invoice: "INVOICE",
    credit_note: "CREDIT NOTE",
    number: "No.",
    date: "Date",
    due: "Due date",
    bill_to: "Bill to",
    customer_account: "Customer account",
    siren: "SIREN",
    vat_id: "VAT no.",
    description: "Description",
    quantity: "Qty",
    unit_price: "Unit price",
    vat: "VAT",
    amount: "Net amount",
    vat_summary: "VAT summary",
    base: "Taxable amount",
    total_net: "Total excl. VAT",
    total_vat: "Total VAT",
    total_gross: "Total incl. VAT",
    to_pay: "Amount due",
    to_refund: "Amount to refund",
    payment: "Payment",
    terms_days: "days from the invoice date",
    iban: "Bank transfer to IBAN",
    credits_invoice: "Credit note for invoice",
    no_discount: "No discount for early payment.",
    penalty_default: "Late payment: interest at the ECB refinancing rate plus 10 percentage points (French Commercial Code, art. L441-10).",
    penalty_rate: "Late payment: interest at the yearly rate of",
    indemnity: "Fixed compensation for recovery costs due on late payment: €40 (French Commercial Code, art. D441-5).",
    page: "Page",
    quote: "QUOTE",
    valid_until: "Valid until",
    quote_for: "Quote for",
    quote_terms: "days from the invoice date, the invoice being issued once the quote is accepted",
    acceptance: "Accepted — customer's date, signature and stamp, preceded by the words \"Accepted\":",
    quote_total: "Quote total incl. VAT",
};

pub fn wording(lang: Lang) -> &'static Wording {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}

/// `1 234,56 €` (French) or `€1,234.56` (English) for euros; other currencies by code.
pub fn money(d: Decimal, currency: &str, lang: Lang) -> String {
    let d = super::sale::cents(d);
    let neg = d.is_sign_negative();
    let text = format!("{:.2}", d.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let sep = match lang {
        Lang::Fr => '\u{a0}',
        Lang::En => ',',
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(c);
    }
    let sign = if neg { "-" } else { "" };
    match (lang, currency) {
        (Lang::Fr, "EUR") => format!("{sign}{grouped},{frac}\u{a0}€"),
        (Lang::En, "EUR") => format!("{sign}€{grouped}.{frac}"),
        (Lang::Fr, cur) => format!("{sign}{grouped},{frac}\u{a0}{cur}"),
        (Lang::En, cur) => format!("{sign}{cur}\u{a0}{grouped}.{frac}"),
    }
}

/// A quantity or rate without trailing zeros, with the language's decimal mark.
pub fn number(d: Decimal, lang: Lang) -> String {
    let s = d.normalize().to_string();
    match lang {
        Lang::Fr => s.replace('.', ","),
        Lang::En => s,
    }
}

/// A date as the language writes it.
pub fn date(d: chrono::NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Fr => d.format("%d/%m/%Y").to_string(),
        Lang::En => d.format("%-d %B %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_are_written_as_each_language_does() {
        assert_eq!(
            money(dec!(1234567.5), "EUR", Lang::Fr),
            "1\u{a0}234\u{a0}567,50\u{a0}€"
        );
        assert_eq!(money(dec!(1234.5), "EUR", Lang::En), "€1,234.50");
        assert_eq!(money(dec!(12), "USD", Lang::En), "USD\u{a0}12.00");
        assert_eq!(number(dec!(5.50), Lang::Fr), "5,5");
    }
}
