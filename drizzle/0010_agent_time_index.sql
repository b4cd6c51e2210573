DROP INDEX "audit_events_agent_seq_idx";--> statement-breakpoint
CREATE INDEX "audit_events_agent_time_idx" ON "audit_events" USING btree (("data" ->> 'agentId'),"created_at") WHERE "audit_events"."seq" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_agent_seq_idx" ON "audit_events" USING btree (("data" ->> 'agentId'),"seq");