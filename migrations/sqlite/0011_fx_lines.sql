-- Foreign-currency lines and rates printed on invoices (SQLite; same columns and tables as
-- migrations/postgres/0011). A line booking an amount in another currency than the company's
-- keeps that amount (the FEC's Montantdevise, Idevise) and the rate that made its debit or
-- credit; the other lines leave them empty. Posted lines stay append-only (0008's triggers).
ALTER TABLE ledger_lines ADD COLUMN fx_currency TEXT;
ALTER TABLE ledger_lines ADD COLUMN fx_amount TEXT
    CHECK (fx_amount IS NULL OR fx_currency IS NOT NULL);
ALTER TABLE ledger_lines ADD COLUMN fx_rate TEXT
    CHECK ((fx_rate IS NULL) = (fx_amount IS NULL));
ALTER TABLE ledger_lines ADD COLUMN fx_rate_date TEXT
    CHECK ((fx_rate_date IS NULL) = (fx_amount IS NULL));
ALTER TABLE ledger_lines ADD COLUMN fx_rate_source TEXT
    CHECK ((fx_rate_source IS NULL) = (fx_amount IS NULL));

-- The rate an invoice prints (1 EUR = x of its currency), entered by a person or a reader: it
-- applies to that invoice only, before the rates table.
CREATE TABLE document_rates (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id),
    currency    TEXT NOT NULL,
    rate_date   TEXT NOT NULL,
    per_unit    TEXT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      TEXT NOT NULL
);
