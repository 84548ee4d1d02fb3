CREATE TABLE "policy_versions" (
	"policy_id" bigint NOT NULL,
	"version" integer NOT NULL,
	"title" text NOT NULL,
	"summary" text NOT NULL,
	"url" text NOT NULL,
	"interpretation_urls" text[] NOT NULL,
	"valid_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_versions_policy_id_version_pk" PRIMARY KEY("policy_id","version")
);
--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "consent_source" text DEFAULT 'agency-entered' NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "consent_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "email_confirmed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "quiet_hours" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "duplicate_of" bigint;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "digest_id" bigint;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "digest_period" text;--> statement-breakpoint
ALTER TABLE "policies" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "policies" ADD COLUMN "revoke_reason" text;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_policy_id_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."policies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_digest_key" ON "deliveries" USING btree ("contact_id","channel","digest_period") WHERE kind = 'digest';