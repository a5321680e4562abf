-- Duplicate detection (PostgreSQL). Same tables and columns as migrations/sqlite/0005.
-- The keys each checked invoice is found by: every lookup of the dedupe stage is one of these
-- indexes, never a scan.
CREATE TABLE dedupe_keys (
    document_id      BIGINT PRIMARY KEY REFERENCES documents(id),
    doc_type         TEXT NOT NULL,
    structured       BOOLEAN NOT NULL,
    number           TEXT,
    exact_key        TEXT,
    ocr_key          TEXT,
    issue_date       DATE,
    gross            NUMERIC,
    currency         TEXT,
    supplier_siren   TEXT,
    supplier_vat     TEXT,
    supplier_iban    TEXT,
    supplier_name    TEXT,
    supplier_country TEXT
);
CREATE INDEX dedupe_keys_exact ON dedupe_keys(exact_key);
CREATE INDEX dedupe_keys_ocr ON dedupe_keys(ocr_key);
CREATE INDEX dedupe_keys_siren ON dedupe_keys(supplier_siren, issue_date);
CREATE INDEX dedupe_keys_vat ON dedupe_keys(supplier_vat, issue_date);
CREATE INDEX dedupe_keys_iban ON dedupe_keys(supplier_iban, issue_date);
CREATE INDEX dedupe_keys_name ON dedupe_keys(supplier_name, issue_date);

-- The invoices a credit note corrects, by exact key (D7).
CREATE TABLE dedupe_preceding (
    document_id BIGINT NOT NULL REFERENCES documents(id),
    exact_key   TEXT NOT NULL,
    PRIMARY KEY (document_id, exact_key)
);
CREATE INDEX dedupe_preceding_key ON dedupe_preceding(exact_key);

-- What the rules found: the later document, the earlier one, the rule and the evidence; an
-- override records who, when and why.
CREATE TABLE duplicate_findings (
    id              BIGSERIAL PRIMARY KEY,
    document_id     BIGINT NOT NULL REFERENCES documents(id),
    of_document     BIGINT NOT NULL REFERENCES documents(id),
    rule            TEXT NOT NULL,
    verdict         TEXT NOT NULL,            -- block | review
    priority        TEXT,                     -- high | medium | low for review
    evidence        TEXT NOT NULL,
    found_at        TIMESTAMPTZ NOT NULL,
    overridden_by   TEXT,
    override_reason TEXT,
    overridden_at   TIMESTAMPTZ
);
CREATE INDEX duplicate_findings_doc ON duplicate_findings(document_id);
CREATE INDEX duplicate_findings_of ON duplicate_findings(of_document);
