-- Receivables after issuing (PostgreSQL; same tables and columns as migrations/sqlite/0016):
-- each sale's history (sent, disputed, resolved, reminded, paid: who, what, when), its disputes
-- (at most one open at a time), the reminders sent (one per step and invoice: the unique
-- constraint is what keeps a crashed or racing run from sending a step twice, the row being
-- committed with its outbox mail), customer categories (which reminder ladder applies), the
-- statement lines that pay a customer invoice, and recurring schedules with the periods they
-- billed. Issued sales stay frozen: all of this lives beside them.
ALTER TABLE customers ADD COLUMN category TEXT NOT NULL DEFAULT 'default';

CREATE TABLE sales_events (
    id         BIGSERIAL PRIMARY KEY,
    sale_id    BIGINT NOT NULL REFERENCES sales_invoices(id),
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,                 -- a person, or `facteur` and its rule
    kind       TEXT NOT NULL CHECK (kind IN ('issued', 'sent', 'disputed', 'resolved',
                                             'reminded', 'paid')),
    detail     TEXT NOT NULL,
    message_id TEXT                           -- the outbox mail it queued, if any
);
CREATE INDEX sales_events_sale ON sales_events(sale_id, id);

CREATE TABLE sales_disputes (
    id          BIGSERIAL PRIMARY KEY,
    sale_id     BIGINT NOT NULL REFERENCES sales_invoices(id),
    reason      TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    resolved_by TEXT,
    resolved_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX sales_disputes_open ON sales_disputes(sale_id) WHERE resolved_at IS NULL;

CREATE TABLE sales_reminders (
    id         BIGSERIAL PRIMARY KEY,
    sale_id    BIGINT NOT NULL REFERENCES sales_invoices(id),
    step_days  BIGINT NOT NULL,               -- days from the due date (-5, 0, 7 …)
    template   TEXT NOT NULL,
    run_date   DATE NOT NULL,                 -- the day the run was for
    open       NUMERIC NOT NULL,              -- what was still owed then
    recipient  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (sale_id, step_days)
);

ALTER TABLE bank_lines ADD COLUMN sale_id BIGINT REFERENCES sales_invoices(id);

-- Recurring invoices: a schedule (its file, parsed and checked, as JSON) and the periods it
-- billed. A period's row is inserted first in the transaction that drafts (or issues) its
-- invoice: a second run, or a crash and a rerun, finds it and bills nothing twice.
CREATE TABLE recurring_schedules (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers(id),
    spec        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE recurring_runs (
    schedule_id BIGINT NOT NULL REFERENCES recurring_schedules(id),
    period      TEXT NOT NULL,                -- 2026-03, 2026-Q1, 2026
    sale_id     BIGINT REFERENCES sales_invoices(id),
    billed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (schedule_id, period)
);
