-- The REST API (/api/v1): per-user tokens and upload idempotency keys (postgres; same tables and
-- columns as migrations/sqlite/0017).

-- A token is shown once, when made: only its SHA-256 is kept, with its first characters so people
-- can tell their tokens apart. It acts as its user (never above `scope`), until revoked or the
-- user is disabled.
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,                 -- read | write
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,                 -- fct_ and the first characters, for lists
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- An upload made with an `Idempotency-Key`: the same key and body again answer the same document
-- and status; the same key with another body is refused.
CREATE TABLE api_uploads (
    user_id      BIGINT NOT NULL REFERENCES users(id),
    idem_key     TEXT NOT NULL,
    body_hash    TEXT NOT NULL,                  -- SHA-256 of the uploaded file
    document_id  BIGINT NOT NULL REFERENCES documents(id),
    created      BOOLEAN NOT NULL,               -- the first answer was 201 (new), else 200
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
