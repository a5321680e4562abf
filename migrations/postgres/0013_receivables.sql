-- Receivables (PostgreSQL; same tables and columns as migrations/sqlite/0013): customers, the
-- sales the company issues, and the counters that number them. A number is taken from its
-- counter (row-locked until commit) inside the transaction that issues and posts the invoice,
-- so a rolled-back issue gives the number back: gap-free per series (the pattern) and fiscal
-- year. Once issued, a sale is never changed or deleted (a credit note corrects it).
CREATE TABLE customers (
    id                 BIGSERIAL PRIMARY KEY,
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
    payment_terms_days BIGINT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE sales_counters (
    series      TEXT NOT NULL,                  -- the number pattern
    fiscal_year INTEGER NOT NULL,
    last_seq    BIGINT NOT NULL,
    PRIMARY KEY (series, fiscal_year)
);

CREATE TABLE sales_invoices (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    state         TEXT NOT NULL CHECK (state IN ('draft', 'issued')),
    customer_id   BIGINT NOT NULL REFERENCES customers(id),
    currency      TEXT NOT NULL,
    lines         TEXT NOT NULL,                -- JSON array of lines
    note          TEXT,
    vat_exemption TEXT,
    net           NUMERIC NOT NULL,
    tax           NUMERIC NOT NULL,
    gross         NUMERIC NOT NULL,
    credits       BIGINT UNIQUE REFERENCES sales_invoices(id),   -- one credit note per invoice
    series        TEXT,
    fiscal_year   INTEGER,
    seq           BIGINT,
    number        TEXT UNIQUE,
    issue_date    DATE,
    due_date      DATE,
    entry_id      BIGINT REFERENCES ledger_entries(id),
    pdf           BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    issued_at     TIMESTAMPTZ,
    UNIQUE (series, fiscal_year, seq),
    CHECK ((state = 'draft' AND number IS NULL)
        OR (state = 'issued' AND number IS NOT NULL AND entry_id IS NOT NULL AND pdf IS NOT NULL))
);
CREATE INDEX sales_invoices_customer ON sales_invoices(customer_id);

CREATE FUNCTION sales_issued_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'issued' THEN
        RAISE EXCEPTION 'sales: an issued invoice is never changed or deleted; issue a credit note';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sales_issued_frozen BEFORE UPDATE OR DELETE ON sales_invoices
    FOR EACH ROW EXECUTE FUNCTION sales_issued_frozen();

CREATE FUNCTION sales_counters_step() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'sales: a counter is never deleted';
    END IF;
    IF NEW.last_seq <> OLD.last_seq + 1 THEN
        RAISE EXCEPTION 'sales: a counter only moves up by one';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sales_counters_step BEFORE UPDATE OR DELETE ON sales_counters
    FOR EACH ROW EXECUTE FUNCTION sales_counters_step();
