ALTER TYPE "public"."audit_event_type" ADD VALUE 'REVIEW_REFUSED' BEFORE 'ACTION_REJECTED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'ACTION_EXTENDED' BEFORE 'ACTION_REJECTED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'DECISION_OVERRIDDEN' BEFORE 'ACTION_REJECTED';--> statement-breakpoint
DROP INDEX "reviews_request_reviewer_key";--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "owner_id" uuid;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "review_requirements" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "next_escalation_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "extensions" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "revision" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "amended_params" jsonb;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "amended_evaluation" jsonb;--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "owner_id" uuid;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "reviewer_groups" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "revision" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "amended_params" jsonb;--> statement-breakpoint
ALTER TABLE "action_requests" ADD CONSTRAINT "action_requests_owner_id_principals_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "principals" ADD CONSTRAINT "principals_owner_id_principals_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_requests_pending_escalation_idx" ON "action_requests" USING btree ("next_escalation_at") WHERE "action_requests"."status" = 'PENDING';--> statement-breakpoint
CREATE UNIQUE INDEX "reviews_request_reviewer_revision_key" ON "reviews" USING btree ("request_id","reviewer_id","revision");--> statement-breakpoint
-- Requests escalated before per-rule requirements existed keep their one merged requirement.
UPDATE "action_requests" SET "review_requirements" = jsonb_build_array(jsonb_build_object(
  'ruleId', NULL, 'groups', to_jsonb("required_groups"), 'approvals', "required_approvals", 'escalation', '[]'::jsonb, 'reached', 0))
WHERE "effect" = 'ESCALATE';--> statement-breakpoint
-- Earlier reviews are judged on their reviewers' groups as they are now: the best record there is.
UPDATE "reviews" SET "reviewer_groups" = "principals"."groups" FROM "principals" WHERE "principals"."id" = "reviews"."reviewer_id";
