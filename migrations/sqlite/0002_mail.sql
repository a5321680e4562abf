-- Mail bookkeeping for IMAP sources (SQLite). Same tables and columns as migrations/postgres/0002.
-- A message row is written in the same transaction as the documents its parts became, so a crash
-- either leaves both or neither; the mailbox action runs after, and `action_pending` survives a
-- crash in between.

CREATE TABLE mail_messages (
    account          TEXT NOT NULL,             -- the source name
    folder           TEXT NOT NULL,
    uidvalidity      INTEGER NOT NULL,
    uid              INTEGER NOT NULL,
    message_id       TEXT,
    sender           TEXT,
    subject          TEXT,
    status           TEXT NOT NULL,             -- imported | nothing | skipped | refused | retrying | failed
    reason           TEXT,
    documents        INTEGER NOT NULL DEFAULT 0,
    action_pending   INTEGER NOT NULL,          -- the configured action is still to apply
    flag_pending     INTEGER NOT NULL,          -- the $FacteurFailed keyword is still to set
    action_error     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    fetched_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, uid)
);
CREATE INDEX mail_messages_status ON mail_messages(status);

CREATE TABLE mail_parts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,
    folder       TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    part         TEXT NOT NULL,                 -- MIME path, e.g. `2` or `3/facture.pdf` inside a zip
    file_name    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT,
    document_id  INTEGER REFERENCES documents(id),
    outcome      TEXT NOT NULL,                 -- created | rearrived | refused | ignored
    reason       TEXT
);
CREATE INDEX mail_parts_message ON mail_parts(account, folder, uidvalidity, uid);

CREATE TABLE mail_folders (
    account          TEXT NOT NULL,
    folder           TEXT NOT NULL,
    uidvalidity      INTEGER,
    last_check_at    TEXT,
    last_success_at  TEXT,
    last_error       TEXT,
    last_error_at    TEXT,
    backlog          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder)
);

CREATE TABLE mail_accounts (
    account           TEXT PRIMARY KEY,
    refresh_token     TEXT,                     -- OAuth2, when the provider rotated it
    token_updated_at  TEXT,
    auth_error        TEXT,
    auth_error_at     TEXT
);
