-- Quotes (devis) (SQLite; same tables and columns as migrations/postgres/0018): a quote is
-- saved as a draft without number; making its PDF numbers it in its own gap-free series (the
-- `sales_counters` row of `[sales] quote_pattern`, taken in the transaction that stores the
-- PDF) and marks it sent. Accepting it makes one sales draft, linked here (`sale_id`, unique):
-- a second accept finds that draft. Expiry is not stored: a sent quote past `valid_until`
-- reads as expired.
CREATE TABLE quotes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    currency      TEXT NOT NULL,
    lines         TEXT NOT NULL,                -- JSON array of lines, as a sales draft's
    note          TEXT,
    vat_exemption TEXT,
    net           TEXT NOT NULL,
    tax           TEXT NOT NULL,
    gross         TEXT NOT NULL,
    validity_days INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'sent', 'accepted', 'declined')),
    series        TEXT,
    fiscal_year   INTEGER,
    seq           INTEGER,
    number        TEXT UNIQUE,
    quote_date    TEXT,
    valid_until   TEXT,
    pdf           BLOB,
    sale_id       INTEGER UNIQUE REFERENCES sales_invoices(id),
    decided_by    TEXT,
    decided_at    TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (series, fiscal_year, seq),
    -- a draft has no number, a sent or accepted quote has one; a draft may be declined unnumbered
    CHECK (state <> 'draft' OR number IS NULL),
    CHECK (state NOT IN ('sent', 'accepted') OR number IS NOT NULL),
    CHECK ((state = 'accepted') = (sale_id IS NOT NULL))
);
CREATE INDEX quotes_customer ON quotes(customer_id);
