-- Roll-ups per minute and per day beside the hourly ones, each with the spread of its
-- latencies, so uptime, latency and percentiles over any window read a bounded number of rows
-- however many checks are stored. All three are maintained as results are written.

-- The latencies of the period's successful checks, bucketed (see store/latency.rs). NULL for
-- periods written before it was kept: they count in uptime and averages, not in percentiles.
ALTER TABLE check_hours ADD COLUMN latency_hist BLOB;

CREATE TABLE check_minutes (
    monitor_id   INTEGER NOT NULL,
    minute       INTEGER NOT NULL, -- start of the minute
    checks       INTEGER NOT NULL,
    up           INTEGER NOT NULL,
    latency_sum  INTEGER NOT NULL, -- over the successful checks
    latency_min  INTEGER,
    latency_max  INTEGER,
    latency_hist BLOB,
    PRIMARY KEY (monitor_id, minute)
) WITHOUT ROWID;

CREATE TABLE check_days (
    monitor_id   INTEGER NOT NULL,
    day          INTEGER NOT NULL, -- start of the UTC day
    checks       INTEGER NOT NULL,
    up           INTEGER NOT NULL,
    latency_sum  INTEGER NOT NULL,
    latency_min  INTEGER,
    latency_max  INTEGER,
    latency_hist BLOB,
    PRIMARY KEY (monitor_id, day)
) WITHOUT ROWID;

INSERT INTO check_days (monitor_id, day, checks, up, latency_sum, latency_min, latency_max)
SELECT monitor_id, hour - hour % 86400000, sum(checks), sum(up), sum(latency_sum),
       min(latency_min), max(latency_max)
FROM check_hours GROUP BY monitor_id, hour - hour % 86400000;

-- Minutes are read for windows of up to a day: the last two days of checks fill them, each
-- monitor's read as one range of the primary key.
INSERT INTO check_minutes (monitor_id, minute, checks, up, latency_sum, latency_min, latency_max)
SELECT c.monitor_id, c.at - c.at % 60000, count(*), sum(c.ok),
       sum(CASE WHEN c.ok THEN c.latency_ms ELSE 0 END),
       min(CASE WHEN c.ok THEN c.latency_ms END), max(CASE WHEN c.ok THEN c.latency_ms END)
FROM monitors m JOIN checks c ON c.monitor_id = m.id AND c.at >= (unixepoch() - 2 * 86400) * 1000
GROUP BY c.monitor_id, c.at - c.at % 60000;
