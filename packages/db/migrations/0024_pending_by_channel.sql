-- The pending index leads with the channel (issue 13): the claim walks it once per channel that
-- may send, so a channel whose provider is closed (the day's WeChat quota spent) is never read
-- past. With the channel outside the key, every claim read the paused channel's backlog row by
-- row: at city scale 157,512 rows and 183 ms per claim.
DROP INDEX "deliveries_pending_idx";--> statement-breakpoint
CREATE INDEX "deliveries_pending_idx" ON "deliveries" USING btree ("channel","priority","next_attempt_at") WHERE status = 'pending';
