CREATE TABLE "ops_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"api_key_id" bigint NOT NULL,
	"key_secret_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "bootstrap_hash" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "actor" text DEFAULT 'key' NOT NULL;--> statement-breakpoint
ALTER TABLE "ops_sessions" ADD CONSTRAINT "ops_sessions_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ops_sessions_expires_idx" ON "ops_sessions" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_bootstrap_hash_unique" UNIQUE("bootstrap_hash");--> statement-breakpoint
-- Hand-written: a key the earlier start-up made from ADMIN_API_KEY (it had this name) counts as
-- made from it, so that the setting is not used again. Its hash may be a rotated secret's; what
-- matters is that a bootstrap key exists.
UPDATE "api_keys" SET "bootstrap_hash" = "secret_hash" WHERE "name" = 'admin (ADMIN_API_KEY)';
