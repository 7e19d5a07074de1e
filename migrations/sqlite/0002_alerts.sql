-- Alerting: where a user's alerts go, which monitors alert where, and the outbox of deliveries.

-- A destination for alerts. `settings` holds the kind's settings as JSON, secrets included:
-- they never leave the service except towards the destination itself.
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    settings    TEXT    NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0, -- attached to the user's new monitors
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX channels_by_user ON channels (user_id, id);

CREATE TABLE monitor_channels (
    monitor_id INTEGER NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (monitor_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX monitor_channels_by_channel ON monitor_channels (channel_id);

-- Reminders are due per monitor while an outage lasts; kept as a column so the query that finds
-- them does not parse settings.
ALTER TABLE monitors ADD COLUMN remind_every_s INTEGER;

-- Every account gets a channel to its own address, attached to its monitors: alerts reach the
-- owner with no set-up.
INSERT INTO channels (user_id, name, kind, settings, is_default, created_at, updated_at)
SELECT id, 'Email me', 'email', json_object('addresses', json_array(email)), 1, created_at, created_at
FROM users;
INSERT INTO monitor_channels (monitor_id, channel_id)
SELECT m.id, c.id FROM monitors m JOIN channels c ON c.user_id = m.user_id AND c.is_default = 1;

-- The outbox: one row per alert per channel, written in the same transaction as the status
-- change that causes it. A dispatcher claims due rows with a lease (`claimed_until`, by the
-- node `claimed_by`), so two senders never hold the same row, and a crashed sender's rows are
-- taken up again: by anyone once the lease ends, at once by the same node when it restarts.
-- A down alert keeps where it was sent (`dest_kind`, `dest_settings`): the alerts that follow
-- it in the same outage (up, reminders, a pause) go to the same place, even if the channel
-- changed meanwhile.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    monitor_id      INTEGER REFERENCES monitors (id) ON DELETE CASCADE,
    channel_id      INTEGER REFERENCES channels (id) ON DELETE SET NULL,
    channel_name    TEXT    NOT NULL,
    channel_kind    TEXT    NOT NULL,
    event_id        INTEGER REFERENCES events (id) ON DELETE SET NULL,
    incident_id     INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL,            -- down, up, reminder, paused, test
    seq             INTEGER NOT NULL DEFAULT 0,  -- the reminder's number within its outage
    state           TEXT    NOT NULL,            -- pending, sent, failed, skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    claimed_by      TEXT,
    dest_kind       TEXT,
    dest_settings   TEXT,
    sent_at         INTEGER,
    last_error      TEXT,
    UNIQUE (incident_id, channel_id, kind, seq)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_user ON deliveries (user_id, id);
CREATE INDEX deliveries_by_monitor ON deliveries (monitor_id, id);
-- One delivery at a time per channel: the claim looks for one already under way.
CREATE INDEX deliveries_by_channel ON deliveries (channel_id, state);

-- Open outages are few; reminders look for them often.
CREATE INDEX incidents_open ON incidents (monitor_id) WHERE ended_at IS NULL;
