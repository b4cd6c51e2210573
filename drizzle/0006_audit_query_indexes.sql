CREATE INDEX "action_requests_action_idx" ON "action_requests" USING btree ("action" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "action_requests_resource_idx" ON "action_requests" USING btree ("resource" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "audit_events_agent_seq_idx" ON "audit_events" USING btree (("data" ->> 'agentId'),"seq");--> statement-breakpoint
CREATE INDEX "audit_events_actor_seq_idx" ON "audit_events" USING btree ("actor_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_type_seq_idx" ON "audit_events" USING btree ("type","seq");--> statement-breakpoint
CREATE INDEX "audit_events_request_seq_idx" ON "audit_events" USING btree ("request_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_created_at_idx" ON "audit_events" USING btree ("created_at");