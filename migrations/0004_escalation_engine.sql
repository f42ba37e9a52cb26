ALTER TABLE "escalation_event" ADD COLUMN "reason" text;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD COLUMN "dedupe_key" text;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD COLUMN "action_config" jsonb;--> statement-breakpoint
ALTER TABLE "notification" ADD COLUMN "level" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "notification" ADD COLUMN "pass" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD CONSTRAINT "escalation_event_dedupe_key_unique" UNIQUE("dedupe_key");