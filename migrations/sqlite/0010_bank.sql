-- Bank statements (SQLite; same tables and columns as migrations/postgres/0010). Each statement
-- line is recorded once per bank account (its key: the bank's own reference, else a hash of date,
-- amount, reference and rank), then matched to the supplier invoice it pays: by facteur when the
-- match is unique, else by a person. A matched line names the payment entry that books it.
CREATE TABLE bank_imports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,                -- the ledger's bank account (512)
    format       TEXT NOT NULL,                -- camt.053, csv
    source       TEXT NOT NULL,                -- the file's name
    sha256       TEXT NOT NULL,
    line_count   INTEGER NOT NULL,
    new_lines    INTEGER NOT NULL,
    imported_at  TEXT NOT NULL
);

CREATE TABLE bank_lines (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account            TEXT NOT NULL,
    line_key           TEXT NOT NULL,
    import_id          INTEGER NOT NULL REFERENCES bank_imports(id),
    statement_iban     TEXT,
    booking_date       TEXT NOT NULL,
    value_date         TEXT,
    amount             TEXT NOT NULL,          -- signed: money out is negative
    currency           TEXT NOT NULL,
    reference          TEXT NOT NULL,          -- remittance information
    counterparty       TEXT,
    counterparty_iban  TEXT,
    bank_ref           TEXT,                   -- the account servicer's reference
    end_to_end         TEXT,
    batch_ref          TEXT,
    reversal           INTEGER NOT NULL DEFAULT 0,
    document_id        INTEGER REFERENCES documents(id),   -- the invoice it pays
    matched_by         TEXT,                   -- facteur's rule, or the person who matched it
    matched_at         TEXT,
    entry_id           INTEGER REFERENCES ledger_entries(id),  -- the payment that books it
    note               TEXT,                   -- why it waits for a person
    UNIQUE (account, line_key)
);
CREATE INDEX bank_lines_waiting ON bank_lines(account, entry_id);
CREATE UNIQUE INDEX bank_lines_entry ON bank_lines(entry_id);
