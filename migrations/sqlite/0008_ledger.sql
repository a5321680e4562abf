-- The ledger (SQLite; same tables and columns as migrations/postgres/0008). Append-only and
-- balanced in the database too, not only in code: an entry's lines are written first (their
-- foreign key is checked at commit), then the entry, whose insert is refused unless its lines
-- balance; nothing of a posted entry can be changed or deleted, and no line added to it.
CREATE TABLE ledger_entries (
    id           INTEGER PRIMARY KEY,          -- given by the poster, in chain order
    journal      TEXT NOT NULL,                -- HA VE BQ OD AN
    fiscal_year  INTEGER NOT NULL,
    number       INTEGER NOT NULL,             -- continuous per journal and fiscal year
    entry_date   TEXT NOT NULL,
    label        TEXT NOT NULL,
    piece_ref    TEXT NOT NULL,
    piece_date   TEXT NOT NULL,
    currency     TEXT NOT NULL,
    document_id  INTEGER REFERENCES documents(id),
    reverses     INTEGER UNIQUE REFERENCES ledger_entries(id),  -- at most one reversal each
    posting_key  TEXT NOT NULL UNIQUE,         -- idempotency
    content_hash TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    validated_at TEXT NOT NULL,
    UNIQUE (journal, fiscal_year, number)
);
CREATE INDEX ledger_entries_document ON ledger_entries(document_id);
CREATE INDEX ledger_entries_date ON ledger_entries(entry_date);

CREATE TABLE ledger_lines (
    entry_id  INTEGER NOT NULL REFERENCES ledger_entries(id) DEFERRABLE INITIALLY DEFERRED,
    line_no   INTEGER NOT NULL,
    account   TEXT NOT NULL,
    aux_code  TEXT,
    aux_name  TEXT,
    label     TEXT NOT NULL,
    debit     TEXT NOT NULL,
    credit    TEXT NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_lines_account ON ledger_lines(account, aux_code);

-- Lettrage: lines that settle each other (an invoice's supplier line and the payments that
-- pay it off) share a matching code, given when they balance. Append-only like the lines.
CREATE TABLE ledger_matches (
    code        TEXT NOT NULL,
    entry_id    INTEGER NOT NULL REFERENCES ledger_entries(id),
    line_no     INTEGER NOT NULL,
    matched_on  TEXT NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_matches_code ON ledger_matches(code);

-- Nothing is posted on or before the latest lock date.
CREATE TABLE ledger_locks (
    lock_date  TEXT NOT NULL,
    locked_by  TEXT NOT NULL,
    locked_at  TEXT NOT NULL
);

CREATE TRIGGER ledger_entry_balances BEFORE INSERT ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger: an entry needs at least two lines')
     WHERE (SELECT COUNT(*) FROM ledger_lines WHERE entry_id = NEW.id) < 2;
    SELECT RAISE(ABORT, 'ledger: debits and credits of an entry differ')
     WHERE (SELECT ROUND(SUM(debit) - SUM(credit), 6) FROM ledger_lines
             WHERE entry_id = NEW.id) <> 0;
END;
CREATE TRIGGER ledger_lines_closed BEFORE INSERT ON ledger_lines
WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
BEGIN
    SELECT RAISE(ABORT, 'ledger: a posted entry takes no more lines');
END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger: posted entries are never changed; post a reversal');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger: posted entries are never deleted; post a reversal');
END;
CREATE TRIGGER ledger_lines_no_update BEFORE UPDATE ON ledger_lines
BEGIN
    SELECT RAISE(ABORT, 'ledger: posted lines are never changed; post a reversal');
END;
CREATE TRIGGER ledger_lines_no_delete BEFORE DELETE ON ledger_lines
BEGIN
    SELECT RAISE(ABORT, 'ledger: posted lines are never deleted; post a reversal');
END;

-- Exports to accounting software are batches: each entry goes out once per format unless asked
-- again (the FEC is not a batch: it is written whole, any time).
CREATE TABLE export_batches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    format      TEXT NOT NULL,
    from_date   TEXT,
    to_date     TEXT,
    entry_count INTEGER NOT NULL,
    path        TEXT NOT NULL,
    exported_at TEXT NOT NULL
);
CREATE TABLE exported_entries (
    format    TEXT NOT NULL,
    entry_id  INTEGER NOT NULL REFERENCES ledger_entries(id),
    batch_id  INTEGER NOT NULL REFERENCES export_batches(id),
    PRIMARY KEY (format, entry_id)
);
