-- Supplier master records (PostgreSQL; same tables and columns as migrations/sqlite/0012): created
-- or matched at posting by VAT id, SIREN or IBAN, each keeping the auxiliary account (under 401)
-- it was given first, whatever identifiers its later invoices show.
CREATE TABLE suppliers (
    id          BIGSERIAL PRIMARY KEY,
    aux_code    TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    vat_id      TEXT UNIQUE,
    siren       TEXT UNIQUE,
    iban        TEXT UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
