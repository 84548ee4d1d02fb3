CREATE TABLE "deliveries_archive" (
	"id" bigint PRIMARY KEY NOT NULL,
	"policy_id" bigint,
	"policy_version" integer,
	"enterprise_id" bigint NOT NULL,
	"contact_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"priority" smallint NOT NULL,
	"attempts" smallint NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone,
	"provider_message_id" text,
	"error_code" text,
	"matched_category_ids" bigint[],
	"matched_group_ids" bigint[],
	"fallback_of" bigint,
	"fallback_channels" text[] NOT NULL,
	"duplicate_of" bigint,
	"digest_id" bigint,
	"digest_period" text,
	"sent_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts_archive" (
	"id" bigint PRIMARY KEY NOT NULL,
	"delivery_id" bigint NOT NULL,
	"attempt" smallint NOT NULL,
	"outcome" text NOT NULL,
	"provider" text,
	"provider_code" text,
	"provider_message_id" text,
	"error" text,
	"latency_ms" integer NOT NULL,
	"worker" text NOT NULL,
	"response" jsonb,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_events_archive" (
	"id" bigint PRIMARY KEY NOT NULL,
	"delivery_id" bigint,
	"channel" text NOT NULL,
	"provider_message_id" text,
	"type" text NOT NULL,
	"error_code" text,
	"payload" jsonb,
	"occurred_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_opens_archive" (
	"delivery_id" bigint PRIMARY KEY NOT NULL,
	"first_opened_at" timestamp with time zone NOT NULL,
	"last_opened_at" timestamp with time zone NOT NULL,
	"opens" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "erased_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deliveries_archive_contact_idx" ON "deliveries_archive" USING btree ("contact_id");--> statement-breakpoint
CREATE INDEX "deliveries_archive_archived_idx" ON "deliveries_archive" USING btree ("archived_at");--> statement-breakpoint
CREATE INDEX "delivery_attempts_archive_delivery_idx" ON "delivery_attempts_archive" USING btree ("delivery_id");--> statement-breakpoint
CREATE INDEX "delivery_events_archive_delivery_idx" ON "delivery_events_archive" USING btree ("delivery_id");