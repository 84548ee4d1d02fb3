CREATE TABLE "delivery_opens" (
	"delivery_id" bigint PRIMARY KEY NOT NULL,
	"first_opened_at" timestamp with time zone NOT NULL,
	"last_opened_at" timestamp with time zone NOT NULL,
	"opens" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reach_dirty" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "reach_dirty_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"policy_id" bigint NOT NULL,
	"enterprise_id" bigint NOT NULL,
	"delivery_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reach_enterprises" (
	"policy_id" bigint NOT NULL,
	"enterprise_id" bigint NOT NULL,
	"district" text NOT NULL,
	"industry_section" text NOT NULL,
	"size" text NOT NULL,
	"targeted" smallint DEFAULT 0 NOT NULL,
	"with_delivery" smallint DEFAULT 0 NOT NULL,
	"sent" smallint DEFAULT 0 NOT NULL,
	"delivered" smallint DEFAULT 0 NOT NULL,
	"reached" smallint DEFAULT 0 NOT NULL,
	"engaged" smallint DEFAULT 0 NOT NULL,
	"failures" text[] DEFAULT '{}' NOT NULL,
	"delivery_ids" bigint[] DEFAULT '{}' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reach_enterprises_policy_id_enterprise_id_pk" PRIMARY KEY("policy_id","enterprise_id")
);
--> statement-breakpoint
CREATE TABLE "reach_failures" (
	"policy_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"error_code" text NOT NULL,
	"deliveries" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "reach_failures_policy_id_channel_error_code_pk" PRIMARY KEY("policy_id","channel","error_code")
);
--> statement-breakpoint
CREATE TABLE "reach_rollup" (
	"policy_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"district" text NOT NULL,
	"industry_section" text NOT NULL,
	"size" text NOT NULL,
	"targeted" integer DEFAULT 0 NOT NULL,
	"with_delivery" integer DEFAULT 0 NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	"delivered" integer DEFAULT 0 NOT NULL,
	"reached" integer DEFAULT 0 NOT NULL,
	"engaged" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "reach_rollup_policy_id_channel_district_industry_section_size_pk" PRIMARY KEY("policy_id","channel","district","industry_section","size")
);
--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD COLUMN "provider" text;--> statement-breakpoint
CREATE INDEX "deliveries_duplicate_of_idx" ON "deliveries" USING btree ("duplicate_of") WHERE duplicate_of is not null;--> statement-breakpoint
CREATE INDEX "deliveries_digest_idx" ON "deliveries" USING btree ("digest_id") WHERE digest_id is not null;