-- Bank statements (PostgreSQL; same tables and columns as migrations/sqlite/0010). Each statement
-- line is recorded once per bank account (its key: the bank's own reference, else a hash of date,
-- amount, reference and rank), then matched to the supplier invoice it pays: by facteur when the
-- match is unique, else by a person. A matched line names the payment entry that books it.
CREATE TABLE bank_imports (
    id           BIGSERIAL PRIMARY KEY,
    account      TEXT NOT NULL,                -- the ledger's bank account (512)
    format       TEXT NOT NULL,                -- camt.053, csv
    source       TEXT NOT NULL,                -- the file's name
    sha256       TEXT NOT NULL,
    line_count   BIGINT NOT NULL,
    new_lines    BIGINT NOT NULL,
    imported_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE bank_lines (
    id                 BIGSERIAL PRIMARY KEY,
    account            TEXT NOT NULL,
    line_key           TEXT NOT NULL,
    import_id          BIGINT NOT NULL REFERENCES bank_imports(id),
    statement_iban     TEXT,
    booking_date       DATE NOT NULL,
    value_date         DATE,
    amount             NUMERIC NOT NULL,         -- signed: money out is negative
    currency           TEXT NOT NULL,
    reference          TEXT NOT NULL,          -- remittance information
    counterparty       TEXT,
    counterparty_iban  TEXT,
    bank_ref           TEXT,                   -- the account servicer's reference
    end_to_end         TEXT,
    batch_ref          TEXT,
    reversal           BOOLEAN NOT NULL DEFAULT FALSE,
    document_id        BIGINT REFERENCES documents(id),   -- the invoice it pays
    matched_by         TEXT,                   -- facteur's rule, or the person who matched it
    matched_at         TIMESTAMPTZ,
    entry_id           BIGINT REFERENCES ledger_entries(id),  -- the payment that books it
    note               TEXT,                   -- why it waits for a person
    UNIQUE (account, line_key)
);
CREATE INDEX bank_lines_waiting ON bank_lines(account, entry_id);
CREATE UNIQUE INDEX bank_lines_entry ON bank_lines(entry_id);
