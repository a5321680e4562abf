-- Documents, their original bytes, their history, and the job queue (SQLite).
-- Same tables and columns as migrations/postgres/0001; money is canonical decimal TEXT here.

CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,             -- SHA-256 hex of bytes
    size        INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash    TEXT NOT NULL UNIQUE REFERENCES blobs(hash),
    file_name       TEXT NOT NULL,
    source          TEXT NOT NULL,
    origin          TEXT NOT NULL,            -- JSON (domain::Origin)
    state           TEXT NOT NULL,
    reason          TEXT,                     -- why it is in its state, for people
    received_at     TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    method          TEXT,
    doc_type        TEXT,
    invoice_number  TEXT,
    issue_date      TEXT,
    due_date        TEXT,
    currency        TEXT,
    total_net       TEXT,
    total_tax       TEXT,
    total_gross     TEXT,
    supplier_name   TEXT,
    supplier_vat_id TEXT,
    confidence      REAL,
    extraction      TEXT                      -- JSON (domain::Extraction)
);
CREATE INDEX documents_state ON documents(state, id);

CREATE TABLE document_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    at          TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX document_events_doc ON document_events(document_id, id);

CREATE TABLE arrivals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    source      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    arrived_at  TEXT NOT NULL,
    is_first    INTEGER NOT NULL
);
CREATE INDEX arrivals_doc ON arrivals(document_id);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id      INTEGER NOT NULL REFERENCES documents(id),
    stage            TEXT NOT NULL,
    status           TEXT NOT NULL,          -- queued | running | done | dead
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_after        TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_claim ON jobs(status, run_after, id);
CREATE INDEX jobs_doc ON jobs(document_id);

-- Named leases: one holder at a time across processes and machines (e.g. one poller per mailbox).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
