ALTER TABLE "audit_events" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "prev_hash" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "hash" text;--> statement-breakpoint
ALTER TABLE "tenant_tombstones" ADD COLUMN "audit_chain_head" text;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_chain" ON "audit_events" USING btree ("tenant_id","seq");--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "accounts" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "end_users" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "audit_events" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "catalog_entries" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "kb_articles" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "playbooks" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "slack_installations" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "zendesk_connections" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "context_cache" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "drafts" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "external_effects" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "llm_usage" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "jobs" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "webhook_deliveries" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "admin_sessions" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "tenant_secrets" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_isolation" ON "tenant_settings" TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
ALTER POLICY "tenant_self" ON "tenants" TO public USING (id = (select public.app_current_tenant())) WITH CHECK (id = (select public.app_current_tenant()));