-- The ledger (PostgreSQL; same tables and columns as migrations/sqlite/0008). Append-only and
-- balanced in the database too, not only in code: an entry's lines are written first (their
-- foreign key is checked at commit), then the entry, whose insert is refused unless its lines
-- balance; nothing of a posted entry can be changed or deleted, and no line added to it.
CREATE TABLE ledger_entries (
    id           BIGINT PRIMARY KEY,           -- given by the poster, in chain order
    journal      TEXT NOT NULL,                -- HA VE BQ OD AN
    fiscal_year  INTEGER NOT NULL,
    number       BIGINT NOT NULL,              -- continuous per journal and fiscal year
    entry_date   DATE NOT NULL,
    label        TEXT NOT NULL,
    piece_ref    TEXT NOT NULL,
    piece_date   DATE NOT NULL,
    currency     TEXT NOT NULL,
    document_id  BIGINT REFERENCES documents(id),
    reverses     BIGINT UNIQUE REFERENCES ledger_entries(id),   -- at most one reversal each
    posting_key  TEXT NOT NULL UNIQUE,         -- idempotency
    content_hash TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    validated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (journal, fiscal_year, number)
);
CREATE INDEX ledger_entries_document ON ledger_entries(document_id);
CREATE INDEX ledger_entries_date ON ledger_entries(entry_date);

CREATE TABLE ledger_lines (
    entry_id  BIGINT NOT NULL REFERENCES ledger_entries(id) DEFERRABLE INITIALLY DEFERRED,
    line_no   BIGINT NOT NULL,
    account   TEXT NOT NULL,
    aux_code  TEXT,
    aux_name  TEXT,
    label     TEXT NOT NULL,
    debit     NUMERIC NOT NULL CHECK (debit >= 0),
    credit    NUMERIC NOT NULL CHECK (credit >= 0),
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_lines_account ON ledger_lines(account, aux_code);

-- Lettrage: lines that settle each other (an invoice's supplier line and the payments that
-- pay it off) share a matching code, given when they balance. Append-only like the lines.
CREATE TABLE ledger_matches (
    code        TEXT NOT NULL,
    entry_id    BIGINT NOT NULL REFERENCES ledger_entries(id),
    line_no     BIGINT NOT NULL,
    matched_on  DATE NOT NULL,
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_matches_code ON ledger_matches(code);

-- Nothing is posted on or before the latest lock date.
CREATE TABLE ledger_locks (
    lock_date  DATE NOT NULL,
    locked_by  TEXT NOT NULL,
    locked_at  TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM ledger_lines WHERE entry_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'ledger: an entry needs at least two lines';
    END IF;
    IF (SELECT SUM(debit) - SUM(credit) FROM ledger_lines WHERE entry_id = NEW.id) <> 0 THEN
        RAISE EXCEPTION 'ledger: debits and credits of an entry differ';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entry_balances BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

CREATE FUNCTION ledger_lines_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'ledger: a posted entry takes no more lines';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_lines_closed BEFORE INSERT ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_lines_closed();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: posted entries are never changed or deleted; post a reversal';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Exports to accounting software are batches: each entry goes out once per format unless asked
-- again (the FEC is not a batch: it is written whole, any time).
CREATE TABLE export_batches (
    id          BIGSERIAL PRIMARY KEY,
    format      TEXT NOT NULL,
    from_date   DATE,
    to_date     DATE,
    entry_count BIGINT NOT NULL,
    path        TEXT NOT NULL,
    exported_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE exported_entries (
    format    TEXT NOT NULL,
    entry_id  BIGINT NOT NULL REFERENCES ledger_entries(id),
    batch_id  BIGINT NOT NULL REFERENCES export_batches(id),
    PRIMARY KEY (format, entry_id)
);
