CREATE TABLE "sidebar_app_provisioning" (
	"tenant_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"status" text NOT NULL,
	"app_id" text,
	"installation_id" text,
	"detail" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sidebar_app_provisioning_tenant_id_connection_id_pk" PRIMARY KEY("tenant_id","connection_id")
);
--> statement-breakpoint
ALTER TABLE "sidebar_app_provisioning" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "sidebar_app_provisioning" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
-- FORCE RLS and grants on the new tenant table (0002_security.sql).
SELECT app_secure_tenant_tables();
