-- The daemon's own state (PostgreSQL). Kept in step with ../sqlite/0001_state.sql: same tables,
-- columns and constraints; only the types differ.
--
-- Timestamps are UTC text, fixed width: YYYY-MM-DDTHH:MM:SS.ffffffZ (ordering = chronology).
-- Quantities and prices are decimal text (rust_decimal), never floating point.
-- Identity columns never reuse an id: a late
-- mark_sent/mark_failed for a superseded outbox row must not hit a newer row.

CREATE TABLE cursors (
    channel     TEXT NOT NULL,
    stream      TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (channel, stream)
);

CREATE TABLE acks (
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('stock', 'price')),
    sku         TEXT NOT NULL,
    value       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    acked_at    TEXT NOT NULL,
    PRIMARY KEY (channel, kind, sku)
);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('stock', 'price')),
    sku             TEXT NOT NULL,
    value           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_error      TEXT,
    CHECK ((state = 'sending') = (lease_until IS NOT NULL))
);
-- At most one row waiting and one row in flight per (channel, kind, sku).
CREATE UNIQUE INDEX outbox_one_pending ON outbox (channel, kind, sku) WHERE state = 'pending';
CREATE UNIQUE INDEX outbox_one_sending ON outbox (channel, kind, sku) WHERE state = 'sending';
CREATE INDEX outbox_due ON outbox (channel, kind, state, next_attempt_at);

CREATE TABLE quarantine (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    reason       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('held', 'released', 'discarded')),
    odoo_model   TEXT,
    odoo_id      BIGINT,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    CHECK ((state = 'held') = (resolved_at IS NULL))
);
CREATE INDEX quarantine_state ON quarantine (state, channel);

CREATE TABLE inbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    payload       JSON NOT NULL,
    payload_hash  TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('new', 'done', 'quarantined')),
    odoo_id       BIGINT,
    quarantine_id BIGINT REFERENCES quarantine (id),
    updated_at    TEXT NOT NULL,
    UNIQUE (channel, kind, external_id, payload_hash)
);
CREATE INDEX inbox_new ON inbox (channel, kind, state, id);

CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    remote_id   TEXT,
    created_at  TEXT NOT NULL,
    done_at     TEXT,
    CHECK ((state = 'done') = (done_at IS NOT NULL))
);

-- Small key/value facts about the store itself (readiness heartbeat).
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
