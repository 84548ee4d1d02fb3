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
-- Hand-written (issue 15, engagement). Opens recorded before this migration cannot be told apart
-- from a scanner's: each counts from its first open, as it did.
UPDATE "delivery_opens" SET "engaged_at" = "first_opened_at";--> statement-breakpoint
UPDATE "delivery_opens_archive" SET "engaged_at" = "first_opened_at";--> statement-breakpoint
-- Every pair recounted once, so reached_at, engaged_at and reach_timeline start filled in (the
-- old rows have no times, so nothing is subtracted from the empty timeline).
INSERT INTO "reach_dirty" ("policy_id", "enterprise_id", "delivery_id")
SELECT "policy_id", "enterprise_id", NULL FROM "reach_enterprises";
