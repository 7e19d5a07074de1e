-- Heartbeat monitors: the secret token of each one's ping URL, the pings they received, and
-- what their deadlines are counted from after a restart.

-- Kept when a monitor changes kind, so that changing back keeps the URL the job knows.
ALTER TABLE monitors ADD COLUMN ping_token TEXT;
-- Every ping looks its monitor up by token: the unique index serves it.
CREATE UNIQUE INDEX monitors_by_ping_token ON monitors (ping_token) WHERE ping_token IS NOT NULL;

-- When runs start to count (creation or resumption: runs missed while paused do not), the last
-- success or reported failure, and the last start.
ALTER TABLE monitor_state ADD COLUMN runs_counted_from INTEGER;
ALTER TABLE monitor_state ADD COLUMN run_ended_at INTEGER;
ALTER TABLE monitor_state ADD COLUMN run_started_at INTEGER;

CREATE TABLE pings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id  INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL, -- start, success, fail
    exit_code   INTEGER,
    body        TEXT    NOT NULL, -- the first 10 KB, as text (invalid UTF-8 replaced)
    source      TEXT,             -- the client's address
    user_agent  TEXT
);
-- Listing a monitor's latest pings and pruning its oldest.
CREATE INDEX pings_by_monitor ON pings (monitor_id, id);
