CREATE TABLE "catch_up_queue" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "catch_up_queue_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"enterprise_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "late_matches" (
	"policy_id" bigint NOT NULL,
	"enterprise_id" bigint NOT NULL,
	"notified" boolean NOT NULL,
	"matched_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "late_matches_policy_id_enterprise_id_pk" PRIMARY KEY("policy_id","enterprise_id")
);
--> statement-breakpoint
ALTER TABLE "reach_enterprises" ADD COLUMN "late_match" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "reach_rollup" ADD COLUMN "late_matched" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "late_matches_enterprise_idx" ON "late_matches" USING btree ("enterprise_id");--> statement-breakpoint
-- Catch-up for newcomers: the change that may make an enterprise match policies already in force
-- queues it, in the change's own transaction (a crash loses nothing, every writer is covered: the
-- API, the import, the console). Statement-level with transition tables: an import of thousands
-- of rows appends them in one INSERT … SELECT. The dispatcher's catch-up job takes the queue.
CREATE FUNCTION catch_up_subscribed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catch_up_queue (enterprise_id) SELECT DISTINCT enterprise_id FROM new_rows WHERE active;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER subscriptions_catch_up_insert AFTER INSERT ON subscriptions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catch_up_subscribed();--> statement-breakpoint
-- A subscription that became active or now covers other categories or departments.
CREATE FUNCTION catch_up_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catch_up_queue (enterprise_id)
  SELECT DISTINCT n.enterprise_id FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.active AND (NOT o.active OR n.category_ids IS DISTINCT FROM o.category_ids
    OR n.department_ids IS DISTINCT FROM o.department_ids OR n.enterprise_id <> o.enterprise_id);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER subscriptions_catch_up_update AFTER UPDATE ON subscriptions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catch_up_subscription_changed();--> statement-breakpoint
-- A profile change that audience rules look at: industry, district, size, tags.
CREATE FUNCTION catch_up_profile_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catch_up_queue (enterprise_id)
  SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE (n.industry_section, n.industry_division, n.district, n.size, n.tags)
    IS DISTINCT FROM (o.industry_section, o.industry_division, o.district, o.size, o.tags);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER enterprises_catch_up_update AFTER UPDATE ON enterprises
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catch_up_profile_changed();--> statement-breakpoint
-- Added to a static target group.
CREATE FUNCTION catch_up_group_joined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catch_up_queue (enterprise_id) SELECT DISTINCT enterprise_id FROM new_rows;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER service_group_members_catch_up_insert AFTER INSERT ON service_group_members
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catch_up_group_joined();
