DROP INDEX "audit_events_seq_key";--> statement-breakpoint
DROP INDEX "audit_events_agent_seq_idx";--> statement-breakpoint
DROP INDEX "audit_events_actor_seq_idx";--> statement-breakpoint
DROP INDEX "audit_events_type_seq_idx";--> statement-breakpoint
DROP INDEX "audit_events_request_seq_idx";--> statement-breakpoint
DROP INDEX "audit_events_created_at_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_seq_key" ON "audit_events" USING btree ("seq") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_agent_seq_idx" ON "audit_events" USING btree (("data" ->> 'agentId'),"seq") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_actor_seq_idx" ON "audit_events" USING btree ("actor_id","seq") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_type_seq_idx" ON "audit_events" USING btree ("type","seq") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_request_seq_idx" ON "audit_events" USING btree ("request_id","seq") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_created_at_idx" ON "audit_events" USING btree ("created_at") WHERE "audit_events"."seq" IS NOT NULL;