-- The claim walks the channels that have alerts waiting and takes the first due one of each,
-- so its cost follows the number of such channels, never the length of the queue behind them.
DROP INDEX deliveries_by_channel;
-- Served no query: the claim walks channels instead.
DROP INDEX deliveries_due;
-- What waits, by channel.
CREATE INDEX deliveries_waiting ON deliveries (channel_id) WHERE state = 'pending';
-- One delivery at a time per channel: the claim looks for one already under way.
CREATE INDEX deliveries_claimed ON deliveries (channel_id, claimed_until) WHERE claimed_until IS NOT NULL;
