-- IMAP: the whole message kept as a blob (`keep_eml`), and the connection-retry delay of an
-- account kept across restarts (PostgreSQL). Same columns as migrations/sqlite/0003.

-- SHA-256 of the message as fetched, stored content-addressed in `blobs` with the record.
ALTER TABLE mail_messages ADD COLUMN eml_sha256 TEXT REFERENCES blobs(hash);

-- A failing connection: the pause being waited, when the next attempt is due, and why.
ALTER TABLE mail_accounts ADD COLUMN retry_delay_secs BIGINT;
ALTER TABLE mail_accounts ADD COLUMN retry_at TIMESTAMPTZ;
ALTER TABLE mail_accounts ADD COLUMN connect_error TEXT;
