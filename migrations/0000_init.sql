CREATE TABLE "api_key" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"permissions" text[] DEFAULT ARRAY[]::text[] NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_user" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"phone" text,
	"webhook_url" text,
	"avatar_url" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "project" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "project_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "subscription" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"plan" text DEFAULT 'free' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"agent_limit" integer,
	"tool_limit" integer,
	"monthly_turn_limit" integer,
	"current_period_end" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscription_project_id_unique" UNIQUE("project_id")
);
--> statement-breakpoint
CREATE TABLE "agent_config" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agent_id" uuid NOT NULL,
	"config_key" text NOT NULL,
	"config_value" jsonb NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "smart_agent" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"created_by" uuid,
	"name" text NOT NULL,
	"description" text,
	"avatar_url" text,
	"agent_type" text DEFAULT 'custom' NOT NULL,
	"goal" text NOT NULL,
	"system_prompt" text DEFAULT '' NOT NULL,
	"first_message" text,
	"language" text DEFAULT 'en' NOT NULL,
	"model" text,
	"temperature" real,
	"max_tokens" integer,
	"capabilities" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"success_metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"is_template" boolean DEFAULT false NOT NULL,
	"template_parent_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "agent_execution_history" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"message_index" integer NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text,
	"user_input" text NOT NULL,
	"agent_response" text,
	"error" text,
	"model" text,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"total_tokens" integer,
	"tools_used" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"knowledge_sources" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"escalated" boolean DEFAULT false NOT NULL,
	"escalation_rule_id" uuid,
	"escalation_target" uuid,
	"escalation_reason" text,
	"response_time_ms" integer,
	"llm_time_ms" integer,
	"user_satisfaction" integer,
	"feedback_text" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "artifact" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"message_id" uuid,
	"type" text NOT NULL,
	"title" text NOT NULL,
	"content" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversation" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"external_user_id" text,
	"title" text,
	"status" text DEFAULT 'active' NOT NULL,
	"context" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"summary" text,
	"last_turn_index" integer DEFAULT 0 NOT NULL,
	"turn_count" integer DEFAULT 0 NOT NULL,
	"messages_count" integer DEFAULT 0 NOT NULL,
	"last_activity_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "message" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"turn_index" integer NOT NULL,
	"position" integer NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"parts" jsonb,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "turn_request" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"turn_index" integer NOT NULL,
	"workflow_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_tool_assignment" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agent_id" uuid NOT NULL,
	"tool_id" uuid NOT NULL,
	"access_level" text DEFAULT 'execute' NOT NULL,
	"tool_config_override" jsonb,
	"rate_limit" integer DEFAULT 100,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tool" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"created_by" uuid,
	"name" text NOT NULL,
	"description" text,
	"category" text NOT NULL,
	"tool_type" text NOT NULL,
	"input_schema" jsonb NOT NULL,
	"output_schema" jsonb,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"response_format" jsonb,
	"api_endpoint" text,
	"auth_method" text DEFAULT 'none' NOT NULL,
	"credentials_encrypted" text,
	"credentials_key_id" text,
	"timeout_ms" integer DEFAULT 10000 NOT NULL,
	"retry_policy" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"documentation" text,
	"example_usage" jsonb,
	"version" integer DEFAULT 1 NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"ai_sdk_format_valid" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tool_execution_log" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tool_id" uuid NOT NULL,
	"agent_id" uuid,
	"conversation_id" uuid,
	"workflow_id" text,
	"tool_call_id" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"status" text NOT NULL,
	"input_params" jsonb,
	"output_result" jsonb,
	"error_message" text,
	"execution_time_ms" integer,
	"execution_context" jsonb,
	"execution_type" text DEFAULT 'test' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_knowledge_assignment" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agent_id" uuid NOT NULL,
	"knowledge_base_id" uuid NOT NULL,
	"access_level" text DEFAULT 'search' NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "knowledge_base" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"language" text DEFAULT 'english' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "knowledge_chunk" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"knowledge_base_id" uuid NOT NULL,
	"chunk_index" integer NOT NULL,
	"content" text NOT NULL,
	"heading" text,
	"token_count" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', coalesce(heading, '') || ' ' || content)) STORED,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "knowledge_document" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"knowledge_base_id" uuid NOT NULL,
	"title" text NOT NULL,
	"source" text,
	"content_type" text,
	"file_name" text,
	"file_size" integer,
	"content_hash" text NOT NULL,
	"raw_text" text,
	"tags" text[] DEFAULT ARRAY[]::text[] NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"processing_status" text DEFAULT 'pending' NOT NULL,
	"processing_error" text,
	"total_chunks" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation_event" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"escalation_rule_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"conversation_id" uuid,
	"workflow_id" text,
	"event_type" text NOT NULL,
	"trigger_data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"policy_snapshot" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"current_level" integer DEFAULT 0 NOT NULL,
	"assigned_to" uuid,
	"notes" text,
	"timeline" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"snoozed_until" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation_rule" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"created_by" uuid,
	"name" text NOT NULL,
	"description" text,
	"rule_type" text NOT NULL,
	"trigger_condition" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"trigger_events" text[] DEFAULT ARRAY[]::text[] NOT NULL,
	"escalation_action" text NOT NULL,
	"escalation_target" uuid,
	"escalation_template_id" uuid,
	"policy" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"priority" text DEFAULT 'medium' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation_template" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"created_by" uuid,
	"name" text NOT NULL,
	"description" text,
	"subject" text,
	"body" text NOT NULL,
	"message_type" text DEFAULT 'email' NOT NULL,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"escalation_event_id" uuid,
	"channel" text NOT NULL,
	"target_user_id" uuid,
	"target_address" text,
	"subject" text,
	"body" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"idempotency_key" text NOT NULL,
	"sent_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "agent_task" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"task_type" text DEFAULT 'run' NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"priority" text DEFAULT 'normal' NOT NULL,
	"payload" jsonb NOT NULL,
	"result" jsonb,
	"error" text,
	"workflow_id" text,
	"steps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "integration_connection" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'connected' NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credentials_encrypted" text,
	"credentials_key_id" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "integration_event" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"integration_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"event_data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tool_name" text,
	"tool_parameters" jsonb,
	"tool_result" jsonb,
	"error_message" text,
	"error_code" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metric" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"agent_id" uuid,
	"metric_name" text NOT NULL,
	"metric_value" double precision NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_user" ADD CONSTRAINT "app_user_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscription" ADD CONSTRAINT "subscription_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_config" ADD CONSTRAINT "agent_config_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smart_agent" ADD CONSTRAINT "smart_agent_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smart_agent" ADD CONSTRAINT "smart_agent_created_by_app_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smart_agent" ADD CONSTRAINT "smart_agent_template_parent_id_smart_agent_id_fk" FOREIGN KEY ("template_parent_id") REFERENCES "public"."smart_agent"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_execution_history" ADD CONSTRAINT "agent_execution_history_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_execution_history" ADD CONSTRAINT "agent_execution_history_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_execution_history" ADD CONSTRAINT "agent_execution_history_conversation_id_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversation"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_execution_history" ADD CONSTRAINT "agent_execution_history_escalation_rule_id_escalation_rule_id_fk" FOREIGN KEY ("escalation_rule_id") REFERENCES "public"."escalation_rule"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_execution_history" ADD CONSTRAINT "agent_execution_history_escalation_target_app_user_id_fk" FOREIGN KEY ("escalation_target") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifact" ADD CONSTRAINT "artifact_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifact" ADD CONSTRAINT "artifact_conversation_id_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversation"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifact" ADD CONSTRAINT "artifact_message_id_message_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."message"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message" ADD CONSTRAINT "message_conversation_id_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversation"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turn_request" ADD CONSTRAINT "turn_request_conversation_id_conversation_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversation"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_tool_assignment" ADD CONSTRAINT "agent_tool_assignment_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_tool_assignment" ADD CONSTRAINT "agent_tool_assignment_tool_id_tool_id_fk" FOREIGN KEY ("tool_id") REFERENCES "public"."tool"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool" ADD CONSTRAINT "tool_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool" ADD CONSTRAINT "tool_created_by_app_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_execution_log" ADD CONSTRAINT "tool_execution_log_tool_id_tool_id_fk" FOREIGN KEY ("tool_id") REFERENCES "public"."tool"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_execution_log" ADD CONSTRAINT "tool_execution_log_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_knowledge_assignment" ADD CONSTRAINT "agent_knowledge_assignment_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_knowledge_assignment" ADD CONSTRAINT "agent_knowledge_assignment_knowledge_base_id_knowledge_base_id_fk" FOREIGN KEY ("knowledge_base_id") REFERENCES "public"."knowledge_base"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "knowledge_base" ADD CONSTRAINT "knowledge_base_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "knowledge_chunk" ADD CONSTRAINT "knowledge_chunk_document_id_knowledge_document_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."knowledge_document"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "knowledge_chunk" ADD CONSTRAINT "knowledge_chunk_knowledge_base_id_knowledge_base_id_fk" FOREIGN KEY ("knowledge_base_id") REFERENCES "public"."knowledge_base"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "knowledge_document" ADD CONSTRAINT "knowledge_document_knowledge_base_id_knowledge_base_id_fk" FOREIGN KEY ("knowledge_base_id") REFERENCES "public"."knowledge_base"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD CONSTRAINT "escalation_event_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD CONSTRAINT "escalation_event_escalation_rule_id_escalation_rule_id_fk" FOREIGN KEY ("escalation_rule_id") REFERENCES "public"."escalation_rule"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD CONSTRAINT "escalation_event_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_event" ADD CONSTRAINT "escalation_event_assigned_to_app_user_id_fk" FOREIGN KEY ("assigned_to") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD CONSTRAINT "escalation_rule_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD CONSTRAINT "escalation_rule_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD CONSTRAINT "escalation_rule_created_by_app_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD CONSTRAINT "escalation_rule_escalation_target_app_user_id_fk" FOREIGN KEY ("escalation_target") REFERENCES "public"."app_user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_rule" ADD CONSTRAINT "escalation_rule_escalation_template_id_escalation_template_id_fk" FOREIGN KEY ("escalation_template_id") REFERENCES "public"."escalation_template"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_template" ADD CONSTRAINT "escalation_template_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_template" ADD CONSTRAINT "escalation_template_created_by_app_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification" ADD CONSTRAINT "notification_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification" ADD CONSTRAINT "notification_escalation_event_id_escalation_event_id_fk" FOREIGN KEY ("escalation_event_id") REFERENCES "public"."escalation_event"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification" ADD CONSTRAINT "notification_target_user_id_app_user_id_fk" FOREIGN KEY ("target_user_id") REFERENCES "public"."app_user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_task" ADD CONSTRAINT "agent_task_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_task" ADD CONSTRAINT "agent_task_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_connection" ADD CONSTRAINT "integration_connection_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_event" ADD CONSTRAINT "integration_event_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integration_event" ADD CONSTRAINT "integration_event_integration_id_integration_connection_id_fk" FOREIGN KEY ("integration_id") REFERENCES "public"."integration_connection"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric" ADD CONSTRAINT "metric_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric" ADD CONSTRAINT "metric_agent_id_smart_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."smart_agent"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_key_hash_uq" ON "api_key" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_key_project_idx" ON "api_key" USING btree ("project_id");--> statement-breakpoint
CREATE UNIQUE INDEX "app_user_project_email_uq" ON "app_user" USING btree ("project_id","email");--> statement-breakpoint
CREATE UNIQUE INDEX "agent_config_agent_key_uq" ON "agent_config" USING btree ("agent_id","config_key");--> statement-breakpoint
CREATE INDEX "smart_agent_project_id_idx" ON "smart_agent" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "smart_agent_created_by_idx" ON "smart_agent" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "smart_agent_status_idx" ON "smart_agent" USING btree ("status");--> statement-breakpoint
CREATE INDEX "smart_agent_template_idx" ON "smart_agent" USING btree ("is_template");--> statement-breakpoint
CREATE INDEX "smart_agent_template_parent_idx" ON "smart_agent" USING btree ("template_parent_id");--> statement-breakpoint
CREATE INDEX "smart_agent_project_created_idx" ON "smart_agent" USING btree ("project_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "agent_execution_history_conversation_index_uq" ON "agent_execution_history" USING btree ("conversation_id","message_index");--> statement-breakpoint
CREATE INDEX "agent_execution_history_agent_id_idx" ON "agent_execution_history" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "agent_execution_history_project_idx" ON "agent_execution_history" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "agent_execution_history_escalated_idx" ON "agent_execution_history" USING btree ("escalated");--> statement-breakpoint
CREATE INDEX "agent_execution_history_created_at_idx" ON "agent_execution_history" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "agent_execution_history_status_idx" ON "agent_execution_history" USING btree ("status") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "artifact_conversation_idx" ON "artifact" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "artifact_message_idx" ON "artifact" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "conversation_project_created_idx" ON "conversation" USING btree ("project_id","created_at","id");--> statement-breakpoint
CREATE INDEX "conversation_agent_idx" ON "conversation" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "conversation_status_idx" ON "conversation" USING btree ("status");--> statement-breakpoint
CREATE INDEX "conversation_last_activity_idx" ON "conversation" USING btree ("last_activity_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversation_external_user_idx" ON "conversation" USING btree ("project_id","external_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "message_conversation_turn_position_uq" ON "message" USING btree ("conversation_id","turn_index","position");--> statement-breakpoint
CREATE INDEX "message_created_at_idx" ON "message" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "turn_request_conversation_key_uq" ON "turn_request" USING btree ("conversation_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "agent_tool_assignment_agent_id_idx" ON "agent_tool_assignment" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "agent_tool_assignment_tool_id_idx" ON "agent_tool_assignment" USING btree ("tool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agent_tool_assignment_agent_tool_uq" ON "agent_tool_assignment" USING btree ("agent_id","tool_id");--> statement-breakpoint
CREATE INDEX "tool_project_id_idx" ON "tool" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "tool_created_by_idx" ON "tool" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "tool_status_idx" ON "tool" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tool_category_idx" ON "tool" USING btree ("category");--> statement-breakpoint
CREATE INDEX "tool_name_project_idx" ON "tool" USING btree ("project_id","name");--> statement-breakpoint
CREATE INDEX "tool_execution_log_tool_id_idx" ON "tool_execution_log" USING btree ("tool_id");--> statement-breakpoint
CREATE INDEX "tool_execution_log_agent_id_idx" ON "tool_execution_log" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "tool_execution_log_conversation_id_idx" ON "tool_execution_log" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "tool_execution_log_status_idx" ON "tool_execution_log" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tool_execution_log_execution_type_idx" ON "tool_execution_log" USING btree ("execution_type");--> statement-breakpoint
CREATE UNIQUE INDEX "tool_execution_log_attempt_uq" ON "tool_execution_log" USING btree ("workflow_id","tool_call_id","attempt");--> statement-breakpoint
CREATE INDEX "agent_knowledge_assignment_agent_id_idx" ON "agent_knowledge_assignment" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "agent_knowledge_assignment_kb_id_idx" ON "agent_knowledge_assignment" USING btree ("knowledge_base_id");--> statement-breakpoint
CREATE UNIQUE INDEX "agent_knowledge_assignment_agent_kb_uq" ON "agent_knowledge_assignment" USING btree ("agent_id","knowledge_base_id");--> statement-breakpoint
CREATE INDEX "agent_knowledge_assignment_priority_idx" ON "agent_knowledge_assignment" USING btree ("priority");--> statement-breakpoint
CREATE INDEX "knowledge_base_project_idx" ON "knowledge_base" USING btree ("project_id");--> statement-breakpoint
CREATE UNIQUE INDEX "knowledge_chunk_document_index_uq" ON "knowledge_chunk" USING btree ("document_id","chunk_index");--> statement-breakpoint
CREATE INDEX "knowledge_chunk_kb_idx" ON "knowledge_chunk" USING btree ("knowledge_base_id");--> statement-breakpoint
CREATE INDEX "knowledge_chunk_search_idx" ON "knowledge_chunk" USING gin ("search_vector");--> statement-breakpoint
CREATE INDEX "knowledge_document_kb_idx" ON "knowledge_document" USING btree ("knowledge_base_id");--> statement-breakpoint
CREATE INDEX "knowledge_document_status_idx" ON "knowledge_document" USING btree ("processing_status");--> statement-breakpoint
CREATE UNIQUE INDEX "knowledge_document_kb_hash_uq" ON "knowledge_document" USING btree ("knowledge_base_id","content_hash");--> statement-breakpoint
CREATE INDEX "escalation_event_rule_id_idx" ON "escalation_event" USING btree ("escalation_rule_id");--> statement-breakpoint
CREATE INDEX "escalation_event_agent_id_idx" ON "escalation_event" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "escalation_event_status_idx" ON "escalation_event" USING btree ("status");--> statement-breakpoint
CREATE INDEX "escalation_event_assigned_to_idx" ON "escalation_event" USING btree ("assigned_to");--> statement-breakpoint
CREATE INDEX "escalation_event_project_created_idx" ON "escalation_event" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "escalation_rule_project_id_idx" ON "escalation_rule" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "escalation_rule_agent_id_idx" ON "escalation_rule" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "escalation_rule_status_idx" ON "escalation_rule" USING btree ("status");--> statement-breakpoint
CREATE INDEX "escalation_rule_priority_idx" ON "escalation_rule" USING btree ("priority");--> statement-breakpoint
CREATE INDEX "escalation_template_project_id_idx" ON "escalation_template" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "notification_event_idx" ON "notification" USING btree ("escalation_event_id");--> statement-breakpoint
CREATE INDEX "notification_target_idx" ON "notification" USING btree ("target_user_id","channel");--> statement-breakpoint
CREATE INDEX "agent_task_agent_idx" ON "agent_task" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "agent_task_status_idx" ON "agent_task" USING btree ("status");--> statement-breakpoint
CREATE INDEX "agent_task_project_created_idx" ON "agent_task" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "integration_connection_project_idx" ON "integration_connection" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "integration_event_integration_idx" ON "integration_event" USING btree ("integration_id");--> statement-breakpoint
CREATE INDEX "integration_event_type_idx" ON "integration_event" USING btree ("event_type");--> statement-breakpoint
CREATE INDEX "integration_event_occurred_idx" ON "integration_event" USING btree ("occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "metric_agent_name_time_idx" ON "metric" USING btree ("agent_id","metric_name","recorded_at");--> statement-breakpoint
CREATE INDEX "metric_project_name_time_idx" ON "metric" USING btree ("project_id","metric_name","recorded_at");