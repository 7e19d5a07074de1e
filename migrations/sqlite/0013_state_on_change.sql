-- A monitor's state row is written when what only it holds changes (its verdict, its
-- certificate's expiry) and when its checks are rolled up, not with every check: rewriting
-- every checked monitor's row in each batch cost as much as storing the checks. What each check
-- changes, its monitor's last check and recent marks, is the state as of `rolled_until` plus the
-- checks from `rolled_until` on, which `monitor_now` adds.

-- Counted from the checks instead.
ALTER TABLE monitor_state DROP COLUMN unrolled_checks;

-- A monitor's state with its checks not rolled up yet applied: the latest of them is its last
-- check, and their marks follow `recent` (at most 15 of them: readers keep the last
-- RECENT_CHECKS marks).
CREATE VIEW monitor_now AS
SELECT s.monitor_id, s.status, s.status_since, s.streak, s.streak_since, s.streak_cause_kind,
       s.streak_cause_message, s.cert_expires_at, s.cert_alerted_expiry, s.cert_alerted_days,
       s.runs_counted_from, s.run_ended_at, s.run_started_at, s.rolled_until,
       coalesce(c.at, s.last_at) AS last_at,
       iif(c.at IS NULL, s.last_status_code, c.status_code) AS last_status_code,
       iif(c.at IS NULL, s.last_latency_ms, c.latency_ms) AS last_latency_ms,
       iif(c.at IS NULL, s.last_error_kind, c.error_kind) AS last_error_kind,
       iif(c.at IS NULL, s.last_error_message, c.error_message) AS last_error_message,
       iif(c.at IS NULL, s.last_dns_ms, c.dns_ms) AS last_dns_ms,
       iif(c.at IS NULL, s.last_connect_ms, c.connect_ms) AS last_connect_ms,
       iif(c.at IS NULL, s.last_tls_ms, c.tls_ms) AS last_tls_ms,
       iif(c.at IS NULL, s.last_ttfb_ms, c.ttfb_ms) AS last_ttfb_ms,
       iif(c.at IS NULL, s.last_transfer_ms, c.transfer_ms) AS last_transfer_ms,
       s.recent || coalesce((SELECT group_concat(ok, '') FROM (
                   SELECT u.ok FROM checks u
                   WHERE u.monitor_id = s.monitor_id AND u.at >= s.rolled_until ORDER BY u.at)), '')
           AS recent
FROM monitor_state s
LEFT JOIN checks c ON c.monitor_id = s.monitor_id
    AND c.at = (SELECT max(l.at) FROM checks l
                WHERE l.monitor_id = s.monitor_id AND l.at >= s.rolled_until);
