DROP INDEX "jobs_runnable";--> statement-breakpoint
CREATE INDEX "jobs_queued" ON "jobs" USING btree ("tenant_id","run_at","id") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_running" ON "jobs" USING btree ("lease_until") WHERE status = 'running';--> statement-breakpoint
CREATE POLICY "scheduler_claim" ON "jobs" AS PERMISSIVE FOR ALL TO "helpdesk_scheduler" USING (true) WITH CHECK (true);