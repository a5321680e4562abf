//! Supplier templates (models/suppliers/*.toml): per-supplier overrides of single fields.
//!
//! The generic extractor never needs them; they exist for the supplier whose layout defeats it
//! and are written by hand or by review corrections. A template is chosen only by an identifier
//! the generic pass found and validated on the page (VAT id, SIRET or IBAN), never by a name, and
//! it overrides a field with a regex whose first capture group is the value.
//!
//! The shipped templates are built into the binary (`EMBEDDED`, one `include_str!` per file of
//! models/suppliers), so the sandbox child needs no files; `read_document` applies them through
//! `extract`. `load_dir` reads a folder of more templates for callers that have one.

use std::path::Path;

use chrono::NaiveDate;
use regex::Regex;
use serde::Deserialize;

use crate::domain::{DueDateSource, Extraction, Field, Invoice, Method};
use crate::read::fields;
use crate::read::fields::amounts::parse_amount;
use crate::read::fields::dates::{find_dates, DateOrder};
use crate::read::fields::text::normalize;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read supplier template {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("supplier template {path} is invalid: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error(
        "supplier template {path}: field '{field}' has an invalid pattern '{pattern}': {source}"
    )]
    Pattern {
        path: String,
        field: String,
        pattern: String,
        source: regex::Error,
    },
    #[error("supplier template {path} matches nothing: give at least one of vat_id, siret, iban")]
    NoKey { path: String },
    #[error("supplier template {path}: unknown field '{field}' (invoice_number, issue_date, due_date, total_net, total_tax, total_gross, purchase_order, supplier_name)")]
    UnknownField { path: String, field: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    name: String,
    #[serde(default)]
    vat_id: Option<String>,
    #[serde(default)]
    siret: Option<String>,
    #[serde(default)]
    iban: Option<String>,
    #[serde(default)]
    fields: std::collections::BTreeMap<String, RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    /// A regex over the document text (lines joined by newlines); capture group 1 is the value.
    pattern: String,
}

const FIELDS: &[&str] = &[
    "invoice_number",
    "issue_date",
    "due_date",
    "total_net",
    "total_tax",
    "total_gross",
    "purchase_order",
    "supplier_name",
];

/// One supplier's overrides.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    vat_id: Option<String>,
    siret: Option<String>,
    iban: Option<String>,
    fields: Vec<(String, Regex)>,
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

impl Template {
    pub fn parse(path: &str, text: &str) -> Result<Template, TemplateError> {
        let raw: RawTemplate = toml::from_str(text).map_err(|source| TemplateError::Toml {
            path: path.to_string(),
            source,
        })?;
        if raw.vat_id.is_none() && raw.siret.is_none() && raw.iban.is_none() {
            return Err(TemplateError::NoKey { path: path.into() });
        }
        let mut fields = Vec::new();
        for (field, f) in raw.fields {
            if !FIELDS.contains(&field.as_str()) {
                return Err(TemplateError::UnknownField {
                    path: path.into(),
                    field,
                });
            }
            let re = Regex::new(&f.pattern).map_err(|source| TemplateError::Pattern {
                path: path.into(),
                field: field.clone(),
                pattern: f.pattern.clone(),
                source,
            })?;
            fields.push((field, re));
        }
        Ok(Template {
            name: raw.name,
            vat_id: raw.vat_id.as_deref().map(compact),
            siret: raw.siret.as_deref().map(compact),
            iban: raw.iban.as_deref().map(compact),
            fields,
        })
    }

    fn matches(&self, inv: &Invoice) -> bool {
        let s = &inv.seller;
        let eq = |key: &Option<String>, found: Option<&str>| matches!((key, found), (Some(k), Some(f)) if *k == compact(f));
        eq(&self.vat_id, s.vat_id.as_ref().map(|v| v.as_str()))
            || eq(&self.siret, s.siret.as_ref().map(|v| v.as_str()))
            || eq(&self.iban, s.iban.as_ref().map(|v| v.as_str()))
    }

    /// Overrides the fields this template defines, where its pattern matches the text.
    pub fn apply(&self, text: &str, order: DateOrder, ex: &mut Extraction) {
        for (field, re) in &self.fields {
            let Some(v) = re
                .captures(text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().trim())
            else {
                ex.warnings.push(format!(
                    "template '{}': {field} pattern did not match",
                    self.name
                ));
                continue;
            };
            let date = || -> Option<NaiveDate> {
                find_dates(&normalize(v), order).first().map(|d| d.date)
            };
            let inv = &mut ex.invoice;
            let ok = match field.as_str() {
                "invoice_number" => {
                    inv.number = Some(v.to_string());
                    true
                }
                "purchase_order" => {
                    inv.purchase_order = Some(v.to_string());
                    true
                }
                "supplier_name" => {
                    inv.seller.name = Some(v.to_string());
                    true
                }
                "issue_date" => date().map(|d| inv.issue_date = Some(d)).is_some(),
                "due_date" => date()
                    .map(|d| {
                        inv.due_date = Some(d);
                        ex.due_date_source = Some(DueDateSource::Printed);
                    })
                    .is_some(),
                "total_net" => parse_amount(v)
                    .map(|a| inv.total_net = Some(a.abs()))
                    .is_some(),
                "total_tax" => parse_amount(v)
                    .map(|a| inv.total_tax = Some(a.abs()))
                    .is_some(),
                "total_gross" => parse_amount(v)
                    .map(|a| inv.total_gross = Some(a.abs()))
                    .is_some(),
                _ => false,
            };
            if let (true, Ok(f)) = (ok, field.parse::<Field>()) {
                ex.confidence.insert(f, 0.97);
            } else {
                ex.warnings.push(format!(
                    "template '{}': {field} value '{v}' does not parse",
                    self.name
                ));
            }
        }
    }
}

/// The templates of models/suppliers built into the binary: add a line here with each new file.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "models/suppliers/example-fictitious.toml",
        include_str!("../../models/suppliers/example-fictitious.toml"),
    ),
    (
        "models/suppliers/papeterie-dupont.toml",
        include_str!("../../models/suppliers/papeterie-dupont.toml"),
    ),
];

/// The built-in templates, parsed once. A file that does not parse is left out; the unit test
/// `embedded_templates_all_parse` keeps that from shipping.
pub fn embedded() -> &'static [Template] {
    static T: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        EMBEDDED
            .iter()
            .filter_map(|(path, text)| Template::parse(path, text).ok())
            .collect()
    })
}

/// Field extraction with the supplier templates applied: what `read_document` runs. The
/// workspace's templates (`opts.suppliers_dir`) come first, then the built-in ones; a workspace
/// folder that does not load is said in a warning, and the built-in templates still apply.
pub fn extract(
    pages: &[crate::read::layout::Page],
    method: Method,
    opts: &crate::read::ReadOptions,
) -> Extraction {
    let workspace = match opts.suppliers_dir.as_deref().filter(|d| d.is_dir()) {
        Some(dir) => load_dir(dir).map_err(|e| e.to_string()),
        None => Ok(Vec::new()),
    };
    match workspace {
        Ok(mut all) => {
            all.extend(embedded().iter().cloned());
            fields::extract_with(pages, method, &all)
        }
        Err(why) => {
            let mut ex = fields::extract_with(pages, method, embedded());
            ex.warnings
                .push(format!("workspace supplier templates not used: {why}"));
            ex
        }
    }
}

/// The first template keyed by an identifier found on the document.
pub fn matching<'a>(templates: &'a [Template], inv: &Invoice) -> Option<&'a Template> {
    templates.iter().find(|t| t.matches(inv))
}

/// Loads every `*.toml` in a folder (e.g. models/suppliers), sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Template>, TemplateError> {
    let io = |source| TemplateError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|source| TemplateError::Io {
                path: p.display().to_string(),
                source,
            })?;
            Template::parse(&p.display().to_string(), &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_templates_all_parse_and_cover_the_folder() {
        for (path, text) in EMBEDDED {
            Template::parse(path, text).unwrap();
        }
        assert_eq!(embedded().len(), EMBEDDED.len());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/suppliers");
        let on_disk = load_dir(&dir).unwrap();
        assert_eq!(
            on_disk.len(),
            EMBEDDED.len(),
            "every file of models/suppliers must be listed in EMBEDDED"
        );
    }

    fn demo_pages(file: &str) -> Vec<crate::read::layout::Page> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/demo")
            .join(file);
        crate::read::pdf::text_pages(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_template_changes_a_field_only_when_its_vat_id_is_on_the_page() {
        let t = Template::parse(
            "t.toml",
            "name = \"dupont\"\nvat_id = \"FR44732829320\"\n[fields.invoice_number]\npattern = 'Commande\\s+(BC-[0-9]+)'\n",
        )
        .unwrap();
        let keyed = demo_pages("facture-papeterie-dupont.pdf");
        let plain = fields::extract(&keyed, Method::Text);
        let with = fields::extract_with(&keyed, Method::Text, std::slice::from_ref(&t));
        assert_eq!(plain.invoice.number.as_deref(), Some("FA-2026-0412"));
        assert_eq!(with.invoice.number.as_deref(), Some("BC-7781"));
        // Same pattern text on a page without that VAT id: nothing changes.
        let other = demo_pages("invoice-northwind-consulting.pdf");
        let a = fields::extract(&other, Method::Text);
        let b = fields::extract_with(&other, Method::Text, std::slice::from_ref(&t));
        assert_eq!(a.invoice, b.invoice);
        assert_eq!(a.confidence, b.confidence);
    }

    #[test]
    fn read_document_applies_the_built_in_demo_template() {
        let opts = crate::read::ReadOptions {
            method: crate::read::MethodChoice::Text,
            ..Default::default()
        };
        let read = |f: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/demo")
                .join(f);
            crate::read::read_document(&std::fs::read(path).unwrap(), &opts).unwrap()
        };
        let dupont = read("facture-papeterie-dupont.pdf");
        assert_eq!(dupont.invoice.purchase_order.as_deref(), Some("BC-7781"));
        assert_eq!(dupont.confidence.get(&Field::PurchaseOrder), Some(&0.97));
        let northwind = read("invoice-northwind-consulting.pdf");
        assert_ne!(northwind.confidence.get(&Field::PurchaseOrder), Some(&0.97));
    }

    #[test]
    fn workspace_templates_apply_without_a_rebuild_and_before_built_in_ones() {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::read::ReadOptions {
            method: crate::read::MethodChoice::Text,
            suppliers_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/demo/invoice-northwind-consulting.pdf"),
        )
        .unwrap();
        let plain = crate::read::read_document(&bytes, &opts).unwrap();
        assert_ne!(plain.invoice.purchase_order.as_deref(), Some("2026-118"));
        // Written while "running": the next document read uses it.
        std::fs::write(
            dir.path().join("northwind.toml"),
            "name = \"Northwind\"\niban = \"GB29 NWBK 6016 1331 9268 19\"\n\
             [fields.purchase_order]\npattern = 'PO-([0-9-]+)'\n",
        )
        .unwrap();
        let with = crate::read::read_document(&bytes, &opts).unwrap();
        assert_eq!(with.invoice.purchase_order.as_deref(), Some("2026-118"));
        // A broken workspace file is said, and reading goes on with the built-in templates.
        std::fs::write(dir.path().join("broken.toml"), "name = ").unwrap();
        let broken = crate::read::read_document(&bytes, &opts).unwrap();
        assert!(broken
            .warnings
            .iter()
            .any(|w| w.contains("workspace supplier templates")));
    }

    #[test]
    fn template_overrides_only_when_keyed_id_matches() {
        let t = Template::parse(
            "t.toml",
            "name = \"x\"\nvat_id = \"FR 32 123 456 789\"\n[fields.invoice_number]\npattern = 'Ref\\. client (\\S+)'\n",
        )
        .unwrap();
        let mut ex = Extraction::certain(Invoice::default(), crate::domain::Method::Text);
        assert!(matching(std::slice::from_ref(&t), &ex.invoice).is_none());
        ex.invoice.seller.vat_id = crate::domain::VatId::parse("FR32123456789").ok();
        let m = matching(std::slice::from_ref(&t), &ex.invoice).unwrap();
        m.apply("Facture\nRef. client AB-12\n", DateOrder::DayFirst, &mut ex);
        assert_eq!(ex.invoice.number.as_deref(), Some("AB-12"));
        assert!(Template::parse("t.toml", "name = \"x\"\n").is_err());
        assert!(Template::parse(
            "t.toml",
            "name = \"x\"\niban = \"X\"\n[fields.foo]\npattern = '(a)'\n"
        )
        .is_err());
    }
}
