CREATE TYPE "public"."action_outcome" AS ENUM('SUCCEEDED', 'FAILED');--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'OUTCOME_REPORTED';--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "valid_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "outcome" "action_outcome";--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "outcome_detail" text;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "outcome_reported_at" timestamp with time zone;