-- Roll-ups are brought up to date a monitor at a time, every few checks, instead of with every
-- batch of results: the periods are written once for many checks. Checks from `rolled_until` on
-- are not in the roll-ups yet; readers add them from `checks`.
ALTER TABLE monitor_state ADD COLUMN rolled_until INTEGER NOT NULL DEFAULT 0;
-- Checks stored from `rolled_until` on: when there are enough, they are rolled up.
ALTER TABLE monitor_state ADD COLUMN unrolled_checks INTEGER NOT NULL DEFAULT 0;

-- Every check stored so far is in the roll-ups.
UPDATE monitor_state SET rolled_until = coalesce(
    (SELECT max(at) + 1 FROM checks WHERE checks.monitor_id = monitor_state.monitor_id), 0);
