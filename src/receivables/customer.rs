//! Customers: parsed once at the edge (command line or CSV import) into a `NewCustomer` whose
//! identifiers passed their checks. Its auxiliary account under 411 is derived from its most
//! stable identifier (SIREN, else VAT id, else name: `C` + letters and digits), written once
//! when the customer is created and never recomputed, so renaming a customer keeps its account.

use serde::{Deserialize, Serialize};

use crate::domain::{IdError, Siren, Siret, VatId};
use crate::ledger::account::Lang;
use crate::ledger::entry::Auxiliary;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("{0}")]
    Id(#[from] IdError),
    #[error("customer field {field}: {why}")]
    Field { field: &'static str, why: String },
}

fn field(field: &'static str, why: impl Into<String>) -> CustomerError {
    CustomerError::Field {
        field,
        why: why.into(),
    }
}

/// A customer as typed or imported: text fields, parsed by `NewCustomer::parse`. The CSV import
/// reads the same names as its header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomer {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub city: String,
    /// ISO 3166 code; FR when empty.
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub siren: String,
    #[serde(default)]
    pub siret: String,
    #[serde(default)]
    pub vat_id: String,
    #[serde(default)]
    pub invoice_email: String,
    /// Where reminders go; the invoice mailbox when empty.
    #[serde(default)]
    pub reminder_email: String,
    /// `fr` or `en`; fr when empty.
    #[serde(default)]
    pub lang: String,
    /// Days from issue to due date; 30 when empty.
    #[serde(default)]
    pub payment_terms_days: String,
    /// Which reminder ladder applies (`[reminders.categories]`); `default` when empty.
    #[serde(default)]
    pub category: String,
}

/// A postal address as invoices print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country: String,
}

/// A customer to create: every identifier parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomer {
    pub name: String,
    pub address: Address,
    pub siren: Option<Siren>,
    pub siret: Option<Siret>,
    pub vat_id: Option<VatId>,
    pub invoice_email: Option<String>,
    pub reminder_email: Option<String>,
    pub lang: Lang,
    pub payment_terms_days: u32,
    /// Which reminder ladder applies.
    pub category: Category,
}

/// A customer category: lower-case letters, digits, `-` and `_` (`default`, `key_accounts`),
/// the name of a ladder in `[reminders.categories]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    pub const DEFAULT: &'static str = "default";

    pub fn parse(s: &str) -> Result<Category, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Category(Self::DEFAULT.into()));
        }
        let ok = s.len() <= 40
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Category(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a category name: write lower-case letters, digits, - or _ (key_accounts)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Category {
    fn default() -> Self {
        Category(Self::DEFAULT.into())
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: i64,
    /// Its auxiliary account under 411 (CompAuxNum).
    pub account: String,
    #[serde(flatten)]
    pub details: NewCustomer,
}

impl Customer {
    pub fn auxiliary(&self) -> Auxiliary {
        Auxiliary {
            code: self.account.clone(),
            name: self.details.name.clone(),
        }
    }
}

/// The longest payment term French law allows between companies (60 days from issue, C. com.
/// L441-10).
pub const MAX_TERMS_DAYS: u32 = 60;

fn email(name: &'static str, s: &str) -> Result<Option<String>, CustomerError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ok = s.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    }) && !s.chars().any(char::is_whitespace);
    if ok {
        Ok(Some(s.to_string()))
    } else {
        Err(field(
            name,
            format!("'{s}' is not a mail address: write name@domain.tld"),
        ))
    }
}

impl NewCustomer {
    pub fn parse(raw: &RawCustomer) -> Result<NewCustomer, CustomerError> {
        let name = raw.name.trim();
        if name.is_empty() {
            return Err(field("name", "a customer needs its legal name"));
        }
        fn opt(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        let siret = opt(&raw.siret).map(Siret::parse).transpose()?;
        let mut siren = opt(&raw.siren).map(Siren::parse).transpose()?;
        if let Some(t) = &siret {
            match &siren {
                Some(s) if *s != t.siren() => {
                    let why = format!(
                        "SIRET {t} does not belong to SIREN {s}: its first 9 digits are the SIREN"
                    );
                    return Err(field("siret", why));
                }
                Some(_) => {}
                None => siren = Some(t.siren()),
            }
        }
        let vat_id = opt(&raw.vat_id).map(VatId::parse).transpose()?;
        let country = opt(&raw.country).unwrap_or("FR").to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(field(
                "country",
                format!("'{country}' is not a country: write its ISO 3166 code (FR, BE, DE)"),
            ));
        }
        let lang = match opt(&raw.lang).map(str::to_ascii_lowercase).as_deref() {
            None | Some("fr") => Lang::Fr,
            Some("en") => Lang::En,
            Some(other) => {
                return Err(field(
                    "lang",
                    format!("'{other}' is not a language facteur writes invoices in: fr or en"),
                ))
            }
        };
        let payment_terms_days = match opt(&raw.payment_terms_days) {
            None => 30,
            Some(d) => d.parse::<u32>().map_err(|_| {
                field(
                    "payment_terms_days",
                    format!("'{d}' is not a number of days"),
                )
            })?,
        };
        if payment_terms_days > MAX_TERMS_DAYS {
            return Err(field(
                "payment_terms_days",
                format!(
                    "{payment_terms_days} days is more than the {MAX_TERMS_DAYS} French law allows between companies"
                ),
            ));
        }
        let category = Category::parse(&raw.category).map_err(|why| field("category", why))?;
        let invoice_email = email("invoice_email", &raw.invoice_email)?;
        let reminder_email = email("reminder_email", &raw.reminder_email)?;
        Ok(NewCustomer {
            name: name.to_string(),
            address: Address {
                line: raw.address.trim().to_string(),
                postcode: raw.postcode.trim().to_string(),
                city: raw.city.trim().to_string(),
                country,
            },
            siren,
            siret,
            vat_id,
            invoice_email,
            reminder_email,
            lang,
            payment_terms_days,
            category,
        })
    }

    /// Its auxiliary account under 411: `C` + SIREN, else VAT id, else name (letters and digits).
    pub fn account(&self) -> String {
        let id = self
            .siren
            .as_ref()
            .map(|s| s.as_str().to_string())
            .or_else(|| self.vat_id.as_ref().map(|v| v.as_str().to_string()))
            .unwrap_or_else(|| {
                use unicode_normalization::UnicodeNormalization;
                self.name
                    .nfd()
                    .filter(char::is_ascii_alphanumeric)
                    .collect()
            });
        Auxiliary::of('C', &id, &self.name).code
    }

    /// Where reminders go: the reminder mailbox, else the invoice one.
    pub fn reminder_to(&self) -> Option<&str> {
        self.reminder_email
            .as_deref()
            .or(self.invoice_email.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawCustomer {
        RawCustomer {
            name: "Boulangerie Martin SARL".into(),
            address: "3 place du Marché".into(),
            postcode: "69002".into(),
            city: "Lyon".into(),
            siret: "732 829 320 00074".into(),
            invoice_email: "compta@martin.example".into(),
            ..RawCustomer::default()
        }
    }

    #[test]
    fn a_siret_gives_the_siren_and_the_account_comes_from_it() {
        let c = NewCustomer::parse(&raw()).unwrap();
        assert_eq!(c.siren.as_ref().unwrap().as_str(), "732829320");
        assert_eq!(c.account(), "C732829320");
        assert_eq!(c.lang, Lang::Fr);
        assert_eq!(c.payment_terms_days, 30);
        assert_eq!(c.reminder_to(), Some("compta@martin.example"));
        // Renaming does not move the account.
        let mut renamed = c.clone();
        renamed.name = "Martin & Fils".into();
        assert_eq!(renamed.account(), c.account());
    }

    #[test]
    fn wrong_input_is_refused_with_what_to_write() {
        let bad = |f: fn(&mut RawCustomer)| {
            let mut r = raw();
            f(&mut r);
            NewCustomer::parse(&r).unwrap_err().to_string()
        };
        assert!(bad(|r| r.siret = "73282932000075".into()).contains("Luhn"));
        assert!(bad(|r| r.siren = "552100554".into()).contains("does not belong"));
        assert!(bad(|r| r.invoice_email = "compta.martin".into()).contains("name@domain"));
        assert!(bad(|r| r.lang = "de".into()).contains("fr or en"));
        assert!(bad(|r| r.payment_terms_days = "90".into()).contains("60"));
        assert!(bad(|r| r.name = " ".into()).contains("legal name"));
        assert!(bad(|r| r.category = "Key Accounts".into()).contains("lower-case"));
    }

    #[test]
    fn without_siren_the_account_comes_from_the_vat_id_then_the_name() {
        let mut r = raw();
        r.siret.clear();
        r.vat_id = "BE0477472701".into();
        assert_eq!(NewCustomer::parse(&r).unwrap().account(), "CBE0477472701");
        r.vat_id.clear();
        r.name = "Café de l'Été".into();
        let a = NewCustomer::parse(&r).unwrap().account();
        assert_eq!(a, "CCAFEDELETE");
    }
}
