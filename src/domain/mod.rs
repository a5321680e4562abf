//! Domain types: money, identifiers, invoices, documents. Parse, don't validate: a value of these
//! types is valid by construction, and constructors say what was expected when it is not.

pub mod correction;
pub mod document;
pub mod extraction;
pub mod hint;
pub mod ids;
pub mod invoice;
pub mod money;

pub use document::{
    now_micros, ContentHash, DocumentEvent, DocumentId, DocumentState, Origin, RawDocument, Stage,
};
pub use extraction::{Doubt, DueDateSource, Extraction, Field, Method};
pub use ids::{Bic, Iban, IdError, Siren, Siret, VatId};
pub use invoice::{fold_key, DocType, Invoice, LineItem, Party, PrecedingInvoice, VatBreakdown};
pub use money::{Amount, Currency, MoneyError};
