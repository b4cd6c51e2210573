ALTER TYPE "public"."audit_event_type" ADD VALUE 'RECEIPT_REDEEMED';--> statement-breakpoint
CREATE TABLE "receipt_redemptions" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"jti" text NOT NULL,
	"redeemed_by_id" uuid NOT NULL,
	"redeemed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "receipt_redemptions" ADD CONSTRAINT "receipt_redemptions_request_id_action_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."action_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "receipt_redemptions" ADD CONSTRAINT "receipt_redemptions_redeemed_by_id_principals_id_fk" FOREIGN KEY ("redeemed_by_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;