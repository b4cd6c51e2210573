ALTER TYPE "public"."audit_event_type" ADD VALUE 'POLICY_ACTIVATED' BEFORE 'ACTION_REQUESTED';--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "context" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "matched_rules" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD COLUMN "message" text;--> statement-breakpoint
CREATE INDEX "action_requests_agent_created_idx" ON "action_requests" USING btree ("agent_id","created_at");--> statement-breakpoint
CREATE INDEX "action_requests_created_idx" ON "action_requests" USING btree ("created_at");--> statement-breakpoint
-- Requests recorded before this migration keep their matched rules only inside the evaluation:
-- copy them out, so rate limits count those requests too.
UPDATE "action_requests" SET "matched_rules" = ARRAY(SELECT jsonb_array_elements_text("evaluation" -> 'matchedRules')) WHERE "evaluation" ? 'matchedRules';
