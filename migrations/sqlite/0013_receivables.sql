-- Receivables (SQLite; same tables and columns as migrations/postgres/0013): customers, the
-- sales the company issues, and the counters that number them. A number is taken from its
-- counter inside the transaction that issues and posts the invoice, so a rolled-back issue
-- gives the number back: gap-free per series (the pattern) and fiscal year. Once issued, a
-- sale is never changed or deleted (a credit note corrects it).
CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account            TEXT NOT NULL UNIQUE,    -- auxiliary account under 411
    name               TEXT NOT NULL,
    address            TEXT NOT NULL,
    postcode           TEXT NOT NULL,
    city               TEXT NOT NULL,
    country            TEXT NOT NULL,
    siren              TEXT,
    siret              TEXT,
    vat_id             TEXT,
    invoice_email      TEXT,
    reminder_email     TEXT,
    lang               TEXT NOT NULL,
    payment_terms_days INTEGER NOT NULL,
    created_at         TEXT NOT NULL
);

CREATE TABLE sales_counters (
    series      TEXT NOT NULL,                  -- the number pattern
    fiscal_year INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    PRIMARY KEY (series, fiscal_year)
);

CREATE TABLE sales_invoices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    state         TEXT NOT NULL CHECK (state IN ('draft', 'issued')),
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    currency      TEXT NOT NULL,
    lines         TEXT NOT NULL,                -- JSON array of lines
    note          TEXT,
    vat_exemption TEXT,
    net           TEXT NOT NULL,
    tax           TEXT NOT NULL,
    gross         TEXT NOT NULL,
    credits       INTEGER UNIQUE REFERENCES sales_invoices(id),  -- one credit note per invoice
    series        TEXT,
    fiscal_year   INTEGER,
    seq           INTEGER,
    number        TEXT UNIQUE,
    issue_date    TEXT,
    due_date      TEXT,
    entry_id      INTEGER REFERENCES ledger_entries(id),
    pdf           BLOB,
    created_at    TEXT NOT NULL,
    issued_at     TEXT,
    UNIQUE (series, fiscal_year, seq),
    CHECK ((state = 'draft' AND number IS NULL)
        OR (state = 'issued' AND number IS NOT NULL AND entry_id IS NOT NULL AND pdf IS NOT NULL))
);
CREATE INDEX sales_invoices_customer ON sales_invoices(customer_id);

CREATE TRIGGER sales_issued_no_update BEFORE UPDATE ON sales_invoices
WHEN OLD.state = 'issued'
BEGIN
    SELECT RAISE(ABORT, 'sales: an issued invoice is never changed; issue a credit note');
END;
CREATE TRIGGER sales_issued_no_delete BEFORE DELETE ON sales_invoices
WHEN OLD.state = 'issued'
BEGIN
    SELECT RAISE(ABORT, 'sales: an issued invoice is never deleted; issue a credit note');
END;
CREATE TRIGGER sales_counters_step BEFORE UPDATE ON sales_counters
WHEN NEW.last_seq <> OLD.last_seq + 1
BEGIN
    SELECT RAISE(ABORT, 'sales: a counter only moves up by one');
END;
CREATE TRIGGER sales_counters_no_delete BEFORE DELETE ON sales_counters
BEGIN
    SELECT RAISE(ABORT, 'sales: a counter is never deleted');
END;
