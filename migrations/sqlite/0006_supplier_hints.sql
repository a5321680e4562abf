-- What people taught facteur about a supplier while correcting a reading (SQLite; same tables
-- and columns as migrations/postgres/0006). A hint is found only by an identifier validated on
-- the page (VAT id, SIRET, IBAN), never by a name.
CREATE TABLE supplier_hints (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key_kind      TEXT NOT NULL,             -- vat_id | siret | iban
    key_value     TEXT NOT NULL,
    field         TEXT NOT NULL,             -- supplier_name
    value         TEXT NOT NULL,
    from_document INTEGER NOT NULL REFERENCES documents(id),
    saved_by      TEXT NOT NULL,
    saved_at      TEXT NOT NULL,
    UNIQUE (key_kind, key_value, field)
);
