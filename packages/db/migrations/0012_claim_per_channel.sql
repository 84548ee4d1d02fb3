DROP INDEX "deliveries_pending_idx";--> statement-breakpoint
CREATE INDEX "deliveries_pending_idx" ON "deliveries" USING btree ("channel","priority","next_attempt_at") WHERE status = 'pending';