CREATE TABLE "project_turn_usage" (
	"project_id" uuid NOT NULL,
	"month" date NOT NULL,
	"turns" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "project_turn_usage_project_id_month_pk" PRIMARY KEY("project_id","month")
);
--> statement-breakpoint
ALTER TABLE "project_turn_usage" ADD CONSTRAINT "project_turn_usage_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- The turns already recorded, per project and calendar month (UTC), so limits hold across the upgrade.
INSERT INTO "project_turn_usage" ("project_id", "month", "turns")
SELECT "project_id", date_trunc('month', "started_at" AT TIME ZONE 'UTC')::date, count(*)
FROM "agent_execution_history"
GROUP BY 1, 2;
