-- Documents, their original bytes, their history, and the job queue (PostgreSQL).
-- Same tables and columns as migrations/sqlite/0001; money is NUMERIC here.

CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    bytes       BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE documents (
    id              BIGSERIAL PRIMARY KEY,
    content_hash    TEXT NOT NULL UNIQUE REFERENCES blobs(hash),
    file_name       TEXT NOT NULL,
    source          TEXT NOT NULL,
    origin          TEXT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT,
    received_at     TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    method          TEXT,
    doc_type        TEXT,
    invoice_number  TEXT,
    issue_date      DATE,
    due_date        DATE,
    currency        TEXT,
    total_net       NUMERIC,
    total_tax       NUMERIC,
    total_gross     NUMERIC,
    supplier_name   TEXT,
    supplier_vat_id TEXT,
    confidence      REAL,
    extraction      TEXT
);
CREATE INDEX documents_state ON documents(state, id);

CREATE TABLE document_events (
    id          BIGSERIAL PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents(id),
    at          TIMESTAMPTZ NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX document_events_doc ON document_events(document_id, id);

CREATE TABLE arrivals (
    id          BIGSERIAL PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents(id),
    source      TEXT NOT NULL,
    origin      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    arrived_at  TIMESTAMPTZ NOT NULL,
    is_first    BOOLEAN NOT NULL
);
CREATE INDEX arrivals_doc ON arrivals(document_id);

CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    document_id      BIGINT NOT NULL REFERENCES documents(id),
    stage            TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_after        TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_claim ON jobs(status, run_after, id);
CREATE INDEX jobs_doc ON jobs(document_id);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
