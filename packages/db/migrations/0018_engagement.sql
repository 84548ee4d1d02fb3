CREATE TABLE "policy_reads" (
	"policy_id" bigint NOT NULL,
	"enterprise_id" bigint NOT NULL,
	"contact_id" bigint NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_reads_policy_id_enterprise_id_contact_id_pk" PRIMARY KEY("policy_id","enterprise_id","contact_id")
);
--> statement-breakpoint
CREATE TABLE "reach_timeline" (
	"policy_id" bigint NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"reached" integer DEFAULT 0 NOT NULL,
	"engaged" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "reach_timeline_policy_id_hour_pk" PRIMARY KEY("policy_id","hour")
);
--> statement-breakpoint
ALTER TABLE "delivery_opens_archive" ADD COLUMN "engaged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "delivery_opens_archive" ADD COLUMN "machine_opens" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_opens_archive" ALTER COLUMN "machine_opens" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "delivery_opens" ADD COLUMN "engaged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "delivery_opens" ADD COLUMN "machine_opens" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "policies" ADD COLUMN "action_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "reached_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "engaged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "reminders_sent" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "reminders_sent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "reminded" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "engaged_after_reminder" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written (issue 15, engagement). Opens recorded before this migration cannot be told apart
-- from a scanner's: each counts from its first open, as it did.
UPDATE "delivery_opens" SET "engaged_at" = "first_opened_at";--> statement-breakpoint
UPDATE "delivery_opens_archive" SET "engaged_at" = "first_opened_at";--> statement-breakpoint
-- Every pair recounted once, so reached_at, engaged_at and reach_timeline start filled in (the
-- old rows have no times, so nothing is subtracted from the empty timeline).
INSERT INTO "reach_dirty" ("policy_id", "enterprise_id", "delivery_id")
SELECT "policy_id", "enterprise_id", NULL FROM "reach_enterprises";
--> statement-breakpoint
-- Follow-ups are counted by the reach refresher too: reminders (kind 'reminder', issue 15 part B)
-- are queued like policy deliveries when they are made and when they are sent. Same bodies as
-- 0008/0016 otherwise.
CREATE OR REPLACE FUNCTION reach_deliveries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM new_rows WHERE kind IN ('policy', 'reminder') AND policy_id IS NOT NULL;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION reach_deliveries_updated() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  changed bigint[];
  digests bigint[];
BEGIN
  WITH c AS (
    SELECT id, kind, policy_id, enterprise_id, CASE status WHEN 'sending' THEN 'pending' ELSE status END AS status,
      sent_at IS NULL AS unsent, CASE WHEN status IN ('failed', 'undelivered') THEN error_code END AS error_code, duplicate_of, digest_id
    FROM new_rows
    EXCEPT
    SELECT id, kind, policy_id, enterprise_id, CASE status WHEN 'sending' THEN 'pending' ELSE status END,
      sent_at IS NULL, CASE WHEN status IN ('failed', 'undelivered') THEN error_code END, duplicate_of, digest_id
    FROM old_rows
  ), queued AS (
    INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
    SELECT policy_id, enterprise_id, id FROM c WHERE kind IN ('policy', 'reminder') AND policy_id IS NOT NULL
  )
  SELECT array_agg(id), array_agg(id) FILTER (WHERE kind = 'digest') INTO changed, digests FROM c;
  IF changed IS NULL THEN
    RETURN NULL;
  END IF;
  -- Nothing but the partial indexes' own conditions here, and kind tested after the fence: given
  -- kind = 'policy' as well, a plan made on an empty outbox walked the whole unique key (whose last
  -- column is kind) instead, as seq scans are off.
  WITH shared AS MATERIALIZED (
    SELECT policy_id, enterprise_id, id, kind FROM deliveries WHERE duplicate_of = ANY(changed) AND duplicate_of IS NOT NULL
    UNION ALL
    SELECT policy_id, enterprise_id, id, kind FROM deliveries WHERE digest_id = ANY(digests) AND digest_id IS NOT NULL
  )
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM shared WHERE kind = 'policy';
  RETURN NULL;
END
$$;
