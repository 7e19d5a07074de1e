-- Accounts, monitors, their checks and what the checks established.
-- Instants are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Values the service generates once and keeps, such as the token signing secret.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- AUTOINCREMENT: an id is never reused, so a late result of a deleted monitor can never be
-- attributed to a new one.
CREATE TABLE monitors (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    interval_s  INTEGER NOT NULL,
    spec        TEXT    NOT NULL, -- the settings in their canonical JSON form
    paused      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX monitors_by_user ON monitors (user_id, id);

-- What the checks have established: written with every batch of results, so it is kept apart
-- from the settings and stays narrow.
CREATE TABLE monitor_state (
    monitor_id           INTEGER PRIMARY KEY REFERENCES monitors (id) ON DELETE CASCADE,
    status               TEXT    NOT NULL DEFAULT 'pending',
    status_since         INTEGER,
    streak               INTEGER NOT NULL DEFAULT 0,
    streak_since         INTEGER,
    streak_cause_kind    TEXT,
    streak_cause_message TEXT,
    last_at              INTEGER,
    last_status_code     INTEGER,
    last_latency_ms      INTEGER,
    last_error_kind      TEXT,
    last_error_message   TEXT
);

-- One row per check, clustered by monitor and time: "latest checks of a monitor" and "checks of
-- a monitor in a time range" are both one range scan of the primary key. The recorder keeps
-- `at` unique per monitor.
CREATE TABLE checks (
    monitor_id    INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    error_kind    TEXT,
    error_message TEXT,
    PRIMARY KEY (monitor_id, at)
) WITHOUT ROWID;

-- Hourly roll-ups of `checks`, maintained as results are written, so uptime over days and months
-- reads a few rows per hour instead of every check.
CREATE TABLE check_hours (
    monitor_id  INTEGER NOT NULL,
    hour        INTEGER NOT NULL, -- start of the hour
    checks      INTEGER NOT NULL,
    up          INTEGER NOT NULL,
    latency_sum INTEGER NOT NULL, -- over the successful checks
    latency_min INTEGER,
    latency_max INTEGER,
    PRIMARY KEY (monitor_id, hour)
) WITHOUT ROWID;

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id    INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    cause_kind    TEXT,
    cause_message TEXT
);
CREATE INDEX incidents_by_monitor ON incidents (monitor_id, started_at);

-- Every change of status, written in the same transaction as the check that caused it.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id    INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    from_status   TEXT    NOT NULL,
    to_status     TEXT    NOT NULL,
    cause_kind    TEXT,
    cause_message TEXT,
    incident_id   INTEGER REFERENCES incidents (id) ON DELETE SET NULL
);
CREATE INDEX events_by_monitor ON events (monitor_id, at);
