ALTER TYPE "public"."audit_event_type" ADD VALUE 'ACTION_EXPIRING' BEFORE 'DECISION_OVERRIDDEN';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'AUDIT_VERIFICATION_FAILED';--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "remind_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "action_requests" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "action_requests_pending_reminder_idx" ON "action_requests" USING btree ("remind_at") WHERE "action_requests"."status" = 'PENDING' AND "action_requests"."remind_at" IS NOT NULL;--> statement-breakpoint
-- Requests already pending get the default reminder (80 % of their time).
UPDATE "action_requests" SET "remind_at" = "created_at" + ("expires_at" - "created_at") * 0.8 WHERE "status" = 'PENDING' AND "expires_at" IS NOT NULL;
