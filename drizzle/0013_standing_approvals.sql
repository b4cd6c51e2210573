ALTER TYPE "public"."audit_event_type" ADD VALUE 'STANDING_APPROVAL_GRANTED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'STANDING_APPROVAL_USED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'STANDING_APPROVAL_REVOKED';--> statement-breakpoint
CREATE TABLE "standing_approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"reviewer_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"action" text NOT NULL,
	"resource" text,
	"resource_glob" text,
	"on_behalf_of_id" uuid,
	"rule_ids" text[] NOT NULL,
	"params_sha256" text,
	"source_request_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by_id" uuid,
	CONSTRAINT "standing_approvals_resource_check" CHECK (("standing_approvals"."resource" IS NULL) <> ("standing_approvals"."resource_glob" IS NULL))
);
--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "standing_approval_id" uuid;--> statement-breakpoint
ALTER TABLE "standing_approvals" ADD CONSTRAINT "standing_approvals_reviewer_id_principals_id_fk" FOREIGN KEY ("reviewer_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "standing_approvals" ADD CONSTRAINT "standing_approvals_agent_id_principals_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "standing_approvals" ADD CONSTRAINT "standing_approvals_on_behalf_of_id_principals_id_fk" FOREIGN KEY ("on_behalf_of_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "standing_approvals" ADD CONSTRAINT "standing_approvals_source_request_id_action_requests_id_fk" FOREIGN KEY ("source_request_id") REFERENCES "public"."action_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "standing_approvals" ADD CONSTRAINT "standing_approvals_revoked_by_id_principals_id_fk" FOREIGN KEY ("revoked_by_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "standing_approvals_live_idx" ON "standing_approvals" USING btree ("agent_id","action") WHERE "standing_approvals"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "standing_approvals_reviewer_idx" ON "standing_approvals" USING btree ("reviewer_id");--> statement-breakpoint
ALTER TABLE "reviews" ADD CONSTRAINT "reviews_standing_approval_id_standing_approvals_id_fk" FOREIGN KEY ("standing_approval_id") REFERENCES "public"."standing_approvals"("id") ON DELETE no action ON UPDATE no action;