-- Quotes (devis) (PostgreSQL; same tables and columns as migrations/sqlite/0018): a quote is
-- saved as a draft without number; making its PDF numbers it in its own gap-free series (the
-- `sales_counters` row of `[sales] quote_pattern`, taken in the transaction that stores the
-- PDF) and marks it sent. Accepting it makes one sales draft, linked here (`sale_id`, unique):
-- a second accept finds that draft. Expiry is not stored: a sent quote past `valid_until`
-- reads as expired.
CREATE TABLE quotes (
    id            BIGSERIAL PRIMARY KEY,
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    currency      TEXT NOT NULL,
    lines         TEXT NOT NULL,                -- JSON array of lines, as a sales draft's
    note          TEXT,
    vat_exemption TEXT,
    net           NUMERIC NOT NULL,
    tax           NUMERIC NOT NULL,
    gross         NUMERIC NOT NULL,
    validity_days BIGINT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'sent', 'accepted', 'declined')),
    series        TEXT,
    fiscal_year   INTEGER,
    seq           BIGINT,
    number        TEXT UNIQUE,
    quote_date    DATE,
    valid_until   DATE,
    pdf           BYTEA,
    sale_id       BIGINT UNIQUE REFERENCES sales_invoices(id),
    decided_by    TEXT,
    decided_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (series, fiscal_year, seq),
    -- a draft has no number, a sent or accepted quote has one; a draft may be declined unnumbered
    CHECK (state <> 'draft' OR number IS NULL),
    CHECK (state NOT IN ('sent', 'accepted') OR number IS NOT NULL),
    CHECK ((state = 'accepted') = (sale_id IS NOT NULL))
);
CREATE INDEX quotes_customer ON quotes(customer_id);
