-- The daemon's own state (SQLite). Kept in step with ../postgres/0001_state.sql: same tables,
-- columns and constraints; only the types differ.
--
-- Timestamps are UTC text, fixed width: YYYY-MM-DDTHH:MM:SS.ffffffZ (ordering = chronology).
-- Quantities and prices are decimal text (rust_decimal), never floating point.
-- AUTOINCREMENT (not plain rowid) so that an id is never reused after a delete: a late
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
    version     INTEGER NOT NULL,
    acked_at    TEXT NOT NULL,
    PRIMARY KEY (channel, kind, sku)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('stock', 'price')),
    sku             TEXT NOT NULL,
    value           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
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
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    reason       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('held', 'released', 'discarded')),
    odoo_model   TEXT,
    odoo_id      INTEGER,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    CHECK ((state = 'held') = (resolved_at IS NULL))
);
CREATE INDEX quarantine_state ON quarantine (state, channel);

CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    payload       TEXT NOT NULL CHECK (json_valid(payload)),
    payload_hash  TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('new', 'done', 'quarantined')),
    odoo_id       INTEGER,
    quarantine_id INTEGER REFERENCES quarantine (id),
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
