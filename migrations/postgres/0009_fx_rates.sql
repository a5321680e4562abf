-- Exchange rates (PostgreSQL; same tables and columns as migrations/sqlite/0009): units of
-- `currency` for one unit of the company's currency, as the ECB quotes them (1 EUR = 1.0842 USD
-- is 1.0842). One rate per currency, day and source: importing a file again, or setting a rate
-- again, replaces it (the rate a posting used is written on its lines, not read back from here).
CREATE TABLE fx_rates (
    currency   TEXT NOT NULL,
    rate_date  DATE NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('ecb', 'manual')),
    per_unit   NUMERIC NOT NULL CHECK (per_unit > 0),
    set_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (currency, rate_date, source)
);
