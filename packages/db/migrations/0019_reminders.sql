-- Issue 15, part B: follow-up plans and reminders (policies.action_by itself comes with 0018).
CREATE TABLE "reminder_steps" (
	"policy_id" bigint NOT NULL,
	"step" smallint NOT NULL,
	"anchor" text NOT NULL,
	"offset_hours" integer NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'planned' NOT NULL,
	"done_at" timestamp with time zone,
	"reminders" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reminder_steps_policy_id_step_pk" PRIMARY KEY("policy_id","step")
);
--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "reminders_off" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "reminder_step" smallint;--> statement-breakpoint
ALTER TABLE "deliveries_archive" ADD COLUMN "reminder_step" smallint;--> statement-breakpoint
CREATE INDEX "reminder_steps_due_idx" ON "reminder_steps" USING btree ("due_at") WHERE status = 'planned';--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_reminder_key" ON "deliveries" USING btree ("policy_id","contact_id","reminder_step") WHERE kind = 'reminder';