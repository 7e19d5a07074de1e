-- Whether each of a monitor's latest checks succeeded, oldest first, one character per check
-- ('1' up, '0' down): overviews read this one column instead of the checks. The recorder keeps
-- the last 60.
ALTER TABLE monitor_state ADD COLUMN recent TEXT NOT NULL DEFAULT '';

UPDATE monitor_state SET recent = coalesce((
    SELECT group_concat(ok, '') FROM (
        SELECT ok FROM (
            SELECT ok, at FROM checks c
            WHERE c.monitor_id = monitor_state.monitor_id
            ORDER BY at DESC LIMIT 60
        ) ORDER BY at
    )
), '');
