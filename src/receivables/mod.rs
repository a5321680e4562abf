//! Receivables (issue 13): the invoices the company issues, posted into the same ledger as the
//! supplier invoices (DESIGN.md §5: Dr 411 / Cr 706 + Cr 44571, sales journal VE). Pure parts
//! here; the customers, drafts, counters and issued invoices live in `store::receivables`.
//!
//! | module | owns |
//! |---|---|
//! | `customer.rs` | a customer, parsed (SIREN/SIRET, VAT id, mailboxes, language, terms) and its 411 account |
//! | `sale.rs` | a draft's lines, validated, and its totals per VAT rate (the rounding rule) |
//! | `settings.rs` | `[sales]` in facteur.toml |
//! | `numbering.rs` | the number pattern (`FA-{YYYY}-{seq:05}`) and what it makes of a counter |
//! | `posting.rs` | what an issued invoice or credit note posts |
//! | `legal.rs` | the mentions French law requires on a B2B invoice, checked before issuing; FR/EN wording |
//! | `profile.rs` | the Factur-X profile (EN 16931, BASIC, BASIC WL, MINIMUM) and where each is legal |
//! | `cii.rs` | the CII XML of an issued invoice, in its Factur-X profile |
//! | `ubl.rs` | the same invoice as OASIS UBL 2.1 (Invoice or CreditNote), for `sales xml --format ubl` |
//! | `quote.rs` | a quote (devis): its file, its states, the draft it becomes once accepted |
//! | `render/` | the PDF a person reads, made a Factur-X PDF/A-3 with the XML inside |
//! | `history.rs` | what happened to an issued invoice after issuing (sent, disputed, reminded, paid) |
//! | `templates.rs` | the customer's mail (invoice sent, each reminder), FR/EN, from models/reminders/ |
//! | `reminders.rs` | `[reminders]`: the ladders per customer category, and which step is due |
//! | `recurring.rs` | a recurring schedule file, checked, and the billing dates and periods it makes |

pub mod cii;
pub mod customer;
pub mod history;
pub mod legal;
pub mod numbering;
pub mod posting;
pub mod profile;
pub mod quote;
pub mod recurring;
pub mod reminders;
pub mod render;
pub mod sale;
pub mod settings;
pub mod templates;
pub mod ubl;

pub use customer::{Customer, CustomerError, NewCustomer, RawCustomer};
pub use numbering::NumberPattern;
pub use profile::FacturxProfile;
pub use sale::{SaleKind, SaleLine, SaleState, SalesInvoice, Totals};

use crate::config::CompanySettings;
pub use settings::SalesSettings;

/// The seller as an issued invoice shows it: `[company]` and `[sales]` of facteur.toml.
#[derive(Debug, Clone, Copy)]
pub struct Seller<'a> {
    pub company: &'a CompanySettings,
    pub sales: &'a SalesSettings,
}

/// What the store hands over once it has allocated a number: the invoice (numbered, dated),
/// its customer and, for a credit note, the invoice it credits.
#[derive(Debug, Clone)]
pub struct Issuing {
    pub invoice: SalesInvoice,
    pub customer: Customer,
    pub credited: Option<SalesInvoice>,
}

/// What issuing produces, committed with the number in one transaction: the ledger entry and
/// the Factur-X PDF.
#[derive(Debug, Clone)]
pub struct Issued {
    pub entry: crate::ledger::NewEntry,
    pub pdf: Vec<u8>,
}

/// Everything issuing makes of a numbered invoice: checks the legal mentions and that the
/// Factur-X profile (`[sales] facturx_profile`) is a full invoice where the law asks for one,
/// builds the entry, renders the PDF. The store calls it inside the transaction that holds the
/// number.
pub fn finish(seller: Seller<'_>, issuing: &Issuing) -> Result<Issued, String> {
    let profile = seller.sales.facturx_profile;
    if let Some(why) = profile.refusal(
        &seller.company.country,
        &issuing.customer.details.address.country,
    ) {
        return Err(why);
    }
    let missing = legal::missing(seller, issuing);
    if !missing.is_empty() {
        return Err(format!(
            "the invoice would lack what French law requires: {}",
            missing.join("; ")
        ));
    }
    let entry =
        posting::sale_entry(issuing, &seller.sales.revenue_account).map_err(|e| e.to_string())?;
    let xml = cii::write(seller, issuing, profile);
    let pdf = render::facturx_pdf(seller, issuing, &xml, profile).map_err(|e| e.to_string())?;
    Ok(Issued { entry, pdf })
}
