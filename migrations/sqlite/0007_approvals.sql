-- Approval workflows (SQLite). Same tables and columns as migrations/postgres/0007.
-- A routed document has one workflow (the rule that chose it, the invoice version it was asked
-- for, who submitted it), ordered steps (approvers as JSON, how many approvals each needs),
-- requests (one approver asked at one step), tokens (only their SHA-256 is stored; a reminder adds
-- one to the same request), every decision as an audit row, and the mail outbox.
CREATE TABLE approval_workflows (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id),
    rule        TEXT NOT NULL,
    version     TEXT NOT NULL,             -- fingerprint of amount, currency, supplier, IBAN
    submitter   TEXT,                      -- who sent the invoice in (may not approve it)
    status      TEXT NOT NULL,             -- open | approved | rejected | auto_approved
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE approval_steps (
    document_id   INTEGER NOT NULL REFERENCES documents(id),
    step          INTEGER NOT NULL,        -- 0-based, in order
    mode          TEXT NOT NULL,           -- any | all | quorum
    needed        INTEGER NOT NULL,        -- approvals that complete the step
    approvers     TEXT NOT NULL,           -- JSON [{"email", "lang"}]
    reminder_days INTEGER,
    escalate_to   TEXT,
    escalate_days INTEGER,
    issued_at     TEXT,                    -- requests sent
    done_at       TEXT,
    PRIMARY KEY (document_id, step)
);

CREATE TABLE approval_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id  INTEGER NOT NULL REFERENCES documents(id),
    step         INTEGER NOT NULL,
    approver     TEXT NOT NULL,
    on_behalf_of TEXT,                     -- the absent approver a delegate stands in for
    lang         TEXT NOT NULL,
    escalated_from INTEGER,                -- the request this one escalates
    sent_at      TEXT NOT NULL,
    reminded_at  TEXT,
    escalated_at TEXT,
    decision     TEXT,                     -- approve | reject, once decided
    decided_at   TEXT
);
CREATE INDEX approval_requests_doc ON approval_requests(document_id, step);
CREATE INDEX approval_requests_open ON approval_requests(decided_at, sent_at);

CREATE TABLE approval_tokens (
    hash        TEXT PRIMARY KEY,          -- SHA-256 hex of the 256-bit token
    request_id  INTEGER NOT NULL REFERENCES approval_requests(id),
    version     TEXT NOT NULL,             -- the invoice version the link was sent for
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX approval_tokens_request ON approval_tokens(request_id);

CREATE TABLE approval_decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    request_id  INTEGER REFERENCES approval_requests(id),
    step        INTEGER,
    actor       TEXT NOT NULL,
    on_behalf_of TEXT,
    decision    TEXT NOT NULL,             -- approve | reject | auto_approve | refused
    comment     TEXT,
    ip          TEXT,
    user_agent  TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX approval_decisions_doc ON approval_decisions(document_id, id);

-- Mail to send, committed with what caused it; a sender loop delivers it (at least once, with a
-- stable Message-ID so a re-send after a crash is recognisable).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL UNIQUE,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    attachment_name TEXT,
    attachment_hash TEXT REFERENCES blobs(hash),
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);
