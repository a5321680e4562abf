-- People who sign in to the web dashboard, their sessions, sign-in attempts (for throttling and
-- the audit) and what they did (postgres; same tables and columns as migrations/sqlite/0015).
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,          -- lower-cased
    role           TEXT NOT NULL,                 -- viewer | approver | accountant | admin
    password_hash  TEXT NOT NULL,                 -- Argon2id, PHC string
    totp_secret    TEXT,                          -- base32; NULL: no second factor enrolled
    totp_last_step BIGINT,                        -- a code works once
    disabled_at    TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT NOT NULL
);

-- Single-use recovery codes, kept as SHA-256 hashes.
CREATE TABLE recovery_codes (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- A browser's session: the cookie holds a random token, the store its SHA-256. `stage` is
-- `password` between the password and the second factor, `signed_in` after.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    stage       TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sign_ins (
    id      BIGSERIAL PRIMARY KEY,
    email   TEXT NOT NULL,
    ip      TEXT,
    ok      BOOLEAN NOT NULL,
    detail  TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_ins_email ON sign_ins (email, at);
CREATE INDEX sign_ins_ip ON sign_ins (ip, at);

-- Every action taken in the web UI: who, when, what, from where.
CREATE TABLE web_audit (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
