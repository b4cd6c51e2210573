ALTER TYPE "public"."audit_event_type" ADD VALUE 'PRINCIPAL_UPDATED' BEFORE 'TOKEN_ROTATED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'PRINCIPAL_DISABLED' BEFORE 'TOKEN_ROTATED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'PRINCIPAL_ENABLED' BEFORE 'TOKEN_ROTATED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'TOKEN_ISSUED' BEFORE 'POLICY_PUBLISHED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'TOKEN_REVOKED' BEFORE 'POLICY_PUBLISHED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'DELEGATION_GRANTED' BEFORE 'POLICY_PUBLISHED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'DELEGATION_REVOKED' BEFORE 'POLICY_PUBLISHED';--> statement-breakpoint
ALTER TYPE "public"."audit_event_type" ADD VALUE 'DELEGATION_REFUSED' BEFORE 'POLICY_PUBLISHED';--> statement-breakpoint
CREATE TABLE "delegations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"human_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"actions" text[] NOT NULL,
	"granted_by_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "disabled_reason" text;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "name" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "last_used_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "delegations" ADD CONSTRAINT "delegations_human_id_principals_id_fk" FOREIGN KEY ("human_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegations" ADD CONSTRAINT "delegations_agent_id_principals_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delegations" ADD CONSTRAINT "delegations_granted_by_id_principals_id_fk" FOREIGN KEY ("granted_by_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delegations_agent_human_idx" ON "delegations" USING btree ("agent_id","human_id");--> statement-breakpoint
CREATE INDEX "delegations_human_idx" ON "delegations" USING btree ("human_id");--> statement-breakpoint
CREATE INDEX "tokens_principal_idx" ON "tokens" USING btree ("principal_id");--> statement-breakpoint
-- Tokens made before names existed are all "default": a principal's newer live ones get their own name.
UPDATE "tokens" SET "name" = 'token-' || left("id"::text, 8)
WHERE "revoked_at" IS NULL AND "id" NOT IN (
  SELECT DISTINCT ON ("principal_id") "id" FROM "tokens" WHERE "revoked_at" IS NULL ORDER BY "principal_id", "created_at"
);--> statement-breakpoint
-- The bootstrap administrator's live token is the one ADMIN_TOKEN names: rotating it replaces that one only.
UPDATE "tokens" SET "name" = 'ADMIN_TOKEN' FROM "principals"
WHERE "principals"."id" = "tokens"."principal_id" AND "principals"."labels" ->> 'greenlight/bootstrap' = 'true' AND "tokens"."revoked_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "tokens_principal_name_key" ON "tokens" USING btree ("principal_id","name") WHERE "tokens"."revoked_at" IS NULL;