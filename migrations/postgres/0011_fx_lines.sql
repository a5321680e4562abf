-- Foreign-currency lines and rates printed on invoices (PostgreSQL; same columns and tables as
-- migrations/sqlite/0011). A line booking an amount in another currency than the company's
-- keeps that amount (the FEC's Montantdevise, Idevise) and the rate that made its debit or
-- credit; the other lines leave them empty. Posted lines stay append-only (0008's triggers).
ALTER TABLE ledger_lines
    ADD COLUMN fx_currency TEXT,
    ADD COLUMN fx_amount NUMERIC CHECK (fx_amount > 0),
    ADD COLUMN fx_rate NUMERIC CHECK (fx_rate > 0),
    ADD COLUMN fx_rate_date DATE,
    ADD COLUMN fx_rate_source TEXT,
    ADD CONSTRAINT ledger_lines_fx_whole CHECK (
        (fx_amount IS NULL) = (fx_currency IS NULL)
        AND (fx_amount IS NULL) = (fx_rate IS NULL)
        AND (fx_amount IS NULL) = (fx_rate_date IS NULL)
        AND (fx_amount IS NULL) = (fx_rate_source IS NULL));

-- The rate an invoice prints (1 EUR = x of its currency), entered by a person or a reader: it
-- applies to that invoice only, before the rates table.
CREATE TABLE document_rates (
    document_id BIGINT PRIMARY KEY REFERENCES documents(id),
    currency    TEXT NOT NULL,
    rate_date   DATE NOT NULL,
    per_unit    NUMERIC NOT NULL CHECK (per_unit > 0),
    set_by      TEXT NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL
);
