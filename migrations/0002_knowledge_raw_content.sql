ALTER TABLE "knowledge_document" ADD COLUMN "raw_content" "bytea";--> statement-breakpoint
ALTER TABLE "knowledge_document" ADD COLUMN "workflow_id" text;