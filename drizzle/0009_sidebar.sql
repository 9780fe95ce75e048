CREATE TABLE "draft_deliveries" (
	"tenant_id" text NOT NULL,
	"draft_id" text NOT NULL,
	"ticket_id" text NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"mode" text NOT NULL,
	"agent_id" text,
	"agent_name" text,
	"comment_id" text,
	"reason" text,
	"outcome_unknown" boolean DEFAULT false NOT NULL,
	"override_reason" text,
	"edit_distance" integer,
	"playbook_id" text,
	"approved_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "draft_deliveries_tenant_id_draft_id_pk" PRIMARY KEY("tenant_id","draft_id")
);
--> statement-breakpoint
ALTER TABLE "draft_deliveries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "draft_versions" (
	"tenant_id" text NOT NULL,
	"draft_id" text NOT NULL,
	"version" integer NOT NULL,
	"body" text NOT NULL,
	"edit_distance" integer NOT NULL,
	"diff" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"agent_id" text,
	"via" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "draft_versions_tenant_id_draft_id_version_pk" PRIMARY KEY("tenant_id","draft_id","version")
);
--> statement-breakpoint
ALTER TABLE "draft_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sidebar_credentials" (
	"tenant_id" text NOT NULL,
	"id_hash" text NOT NULL,
	"installation_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"agent_name" text,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sidebar_credentials_tenant_id_id_hash_pk" PRIMARY KEY("tenant_id","id_hash")
);
--> statement-breakpoint
ALTER TABLE "sidebar_credentials" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sidebar_installations" (
	"tenant_id" text NOT NULL,
	"installation_id" text NOT NULL,
	"app_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"origin" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sidebar_installations_tenant_id_installation_id_pk" PRIMARY KEY("tenant_id","installation_id")
);
--> statement-breakpoint
ALTER TABLE "sidebar_installations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sidebar_settings" (
	"tenant_id" text NOT NULL,
	"scope" text NOT NULL,
	"auto_send" boolean DEFAULT false NOT NULL,
	"auto_send_threshold" real,
	"status_after_send" text,
	"status_after_send_label" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sidebar_settings_tenant_id_scope_pk" PRIMARY KEY("tenant_id","scope")
);
--> statement-breakpoint
ALTER TABLE "sidebar_settings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE INDEX "draft_deliveries_ticket" ON "draft_deliveries" USING btree ("tenant_id","ticket_id");--> statement-breakpoint
CREATE INDEX "sidebar_credentials_expiry" ON "sidebar_credentials" USING btree ("tenant_id","expires_at");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "draft_deliveries" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "draft_versions" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sidebar_credentials" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sidebar_installations" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sidebar_settings" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
-- FORCE RLS and grants on the new tenant tables (0002_security.sql).
SELECT app_secure_tenant_tables();
