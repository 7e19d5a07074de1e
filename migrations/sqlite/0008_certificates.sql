-- When the certificate of a monitor's target expires (the earliest in its chain), as its last
-- check that saw one found it.
ALTER TABLE monitor_state ADD COLUMN cert_expires_at INTEGER;
