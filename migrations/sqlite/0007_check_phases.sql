-- How long each step of a check took, in milliseconds; NULL for a step that did not happen.
ALTER TABLE checks ADD COLUMN dns_ms INTEGER;
ALTER TABLE checks ADD COLUMN connect_ms INTEGER;
ALTER TABLE checks ADD COLUMN tls_ms INTEGER;
ALTER TABLE checks ADD COLUMN ttfb_ms INTEGER;
ALTER TABLE checks ADD COLUMN transfer_ms INTEGER;

ALTER TABLE monitor_state ADD COLUMN last_dns_ms INTEGER;
ALTER TABLE monitor_state ADD COLUMN last_connect_ms INTEGER;
ALTER TABLE monitor_state ADD COLUMN last_tls_ms INTEGER;
ALTER TABLE monitor_state ADD COLUMN last_ttfb_ms INTEGER;
ALTER TABLE monitor_state ADD COLUMN last_transfer_ms INTEGER;
