-- Alerts before a certificate expires. A monitor remembers the last one queued: for which
-- certificate (known by when it expires) and at which threshold (fewer than that many days
-- left; 0 once expired). It is written in the transaction of the check that queued the alert,
-- so a threshold is announced once per certificate, restarts included.
ALTER TABLE monitor_state ADD COLUMN cert_alerted_expiry INTEGER;
ALTER TABLE monitor_state ADD COLUMN cert_alerted_days INTEGER;

-- What a certificate alert says: when the certificate expires and the threshold it crossed.
ALTER TABLE deliveries ADD COLUMN cert_expires_at INTEGER;
ALTER TABLE deliveries ADD COLUMN cert_days INTEGER;
