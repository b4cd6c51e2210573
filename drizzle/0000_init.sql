CREATE TYPE "public"."action_status" AS ENUM('PENDING', 'APPROVED', 'REJECTED', 'BLOCKED', 'EXPIRED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."audit_event_type" AS ENUM('PRINCIPAL_CREATED', 'TOKEN_ROTATED', 'POLICY_PUBLISHED', 'ACTION_REQUESTED', 'ACTION_APPROVED', 'ACTION_BLOCKED', 'ACTION_ESCALATED', 'REVIEW_SUBMITTED', 'ACTION_REJECTED');--> statement-breakpoint
CREATE TYPE "public"."decision_source" AS ENUM('POLICY', 'REVIEWER', 'TIMEOUT', 'REQUESTER', 'ADMIN');--> statement-breakpoint
CREATE TYPE "public"."policy_effect" AS ENUM('ALLOW', 'ESCALATE', 'BLOCK');--> statement-breakpoint
CREATE TYPE "public"."principal_kind" AS ENUM('AGENT', 'HUMAN');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('AGENT', 'REVIEWER', 'AUDITOR', 'ADMIN');--> statement-breakpoint
CREATE TYPE "public"."verdict" AS ENUM('APPROVE', 'REJECT');--> statement-breakpoint
CREATE TABLE "action_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "action_requests_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"agent_id" uuid NOT NULL,
	"on_behalf_of_id" uuid,
	"action" text NOT NULL,
	"resource" text NOT NULL,
	"params" jsonb,
	"reason" text,
	"idempotency_key" text,
	"payload_hash" text NOT NULL,
	"status" "action_status" NOT NULL,
	"effect" "policy_effect" NOT NULL,
	"evaluation" jsonb NOT NULL,
	"required_groups" text[] DEFAULT '{}'::text[] NOT NULL,
	"required_approvals" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"decided_by" "decision_source",
	"decider_id" uuid,
	"decision_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "action_requests_decided_check" CHECK (("action_requests"."status" = 'PENDING') = ("action_requests"."decided_at" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"type" "audit_event_type" NOT NULL,
	"actor_id" uuid,
	"request_id" uuid,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"version" integer NOT NULL,
	"rules" jsonb NOT NULL,
	"default_effect" "policy_effect" NOT NULL,
	"content_hash" text NOT NULL,
	"author_id" uuid,
	"active" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "principals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "principal_kind" NOT NULL,
	"name" text NOT NULL,
	"roles" "role"[] NOT NULL,
	"groups" text[] DEFAULT '{}'::text[] NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reviews" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"request_id" uuid NOT NULL,
	"reviewer_id" uuid NOT NULL,
	"verdict" "verdict" NOT NULL,
	"comment" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"principal_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "action_requests" ADD CONSTRAINT "action_requests_agent_id_principals_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "action_requests" ADD CONSTRAINT "action_requests_on_behalf_of_id_principals_id_fk" FOREIGN KEY ("on_behalf_of_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "action_requests" ADD CONSTRAINT "action_requests_decider_id_principals_id_fk" FOREIGN KEY ("decider_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_id_principals_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_request_id_action_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."action_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_author_id_principals_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_request_id_action_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."action_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_reviewer_id_principals_id_fk" FOREIGN KEY ("reviewer_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "action_requests_position_key" ON "action_requests" USING btree ("position");--> statement-breakpoint
CREATE UNIQUE INDEX "action_requests_idempotency_key" ON "action_requests" USING btree ("agent_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "action_requests_agent_position_idx" ON "action_requests" USING btree ("agent_id","position");--> statement-breakpoint
CREATE INDEX "action_requests_status_position_idx" ON "action_requests" USING btree ("status","position");--> statement-breakpoint
CREATE INDEX "audit_events_request_id_idx" ON "audit_events" USING btree ("request_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "policy_versions_version_key" ON "policy_versions" USING btree ("version");--> statement-breakpoint
CREATE UNIQUE INDEX "policy_versions_one_active" ON "policy_versions" USING btree ("active") WHERE "policy_versions"."active";--> statement-breakpoint
CREATE UNIQUE INDEX "reviews_request_reviewer_key" ON "reviews" USING btree ("request_id","reviewer_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tokens_token_hash_key" ON "tokens" USING btree ("token_hash");