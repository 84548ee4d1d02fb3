CREATE TABLE "reach_unaddressable" (
	"policy_id" bigint NOT NULL,
	"enterprise_id" bigint NOT NULL,
	"reason" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reach_unaddressable_policy_id_enterprise_id_pk" PRIMARY KEY("policy_id","enterprise_id")
);
--> statement-breakpoint
ALTER TABLE "reach_dirty" ALTER COLUMN "delivery_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "pushes" ADD COLUMN "records_unaddressable" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "unaddressable" text;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "addressable" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "no_contact" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "no_address" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "opted_out" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "email_unconfirmed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written (issue 11, the honest funnel). Pushes fanned out, even partly, before this migration
-- did not record the matched enterprises they could not address: their policies' funnels say so.
UPDATE "pushes" SET "records_unaddressable" = false WHERE "status" = 'fanned_out' OR "checkpoint" > 0;--> statement-breakpoint
-- Until now every targeted enterprise had a delivery, so every one counted was addressable.
UPDATE "reach_rollup" SET "addressable" = "targeted";
