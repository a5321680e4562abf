//! Supplier templates (models/suppliers/*.toml). PLACEHOLDER: being written on branch text.
