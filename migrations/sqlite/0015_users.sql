-- People who sign in to the web dashboard, their sessions, sign-in attempts (for throttling and
-- the audit) and what they did (sqlite; same tables and columns as migrations/postgres/0015).
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE,          -- lower-cased
    role           TEXT NOT NULL,                 -- viewer | approver | accountant | admin
    password_hash  TEXT NOT NULL,                 -- Argon2id, PHC string
    totp_secret    TEXT,                          -- base32; NULL: no second factor enrolled
    totp_last_step INTEGER,                       -- a code works once
    disabled_at    TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL
);

-- Single-use recovery codes, kept as SHA-256 hashes.
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- A browser's session: the cookie holds a random token, the store its SHA-256. `stage` is
-- `password` between the password and the second factor, `signed_in` after.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    stage       TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_ins (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    email   TEXT NOT NULL,
    ip      TEXT,
    ok      BOOLEAN NOT NULL,
    detail  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX sign_ins_email ON sign_ins (email, at);
CREATE INDEX sign_ins_ip ON sign_ins (ip, at);

-- Every action taken in the web UI: who, when, what, from where.
CREATE TABLE web_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
