ALTER TYPE "public"."audit_event_type" ADD VALUE 'ACTION_EXPIRED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'ACTION_CANCELLED';--> statement-breakpoint
CREATE INDEX "action_requests_pending_expiry_idx" ON "action_requests" USING btree ("expires_at") WHERE "action_requests"."status" = 'PENDING';