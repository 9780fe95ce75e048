-- drizzle-kit emits ENABLE RLS and policies but neither FORCE RLS nor grants; this migration adds both.
-- app_secure_tenant_tables() is idempotent: later migrations that add tables call it again, and a
-- generic test asserts every table with a tenant_id column is enabled, forced and has a policy.
CREATE OR REPLACE FUNCTION app_secure_tenant_tables() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  GRANT USAGE ON SCHEMA public TO helpdesk_app, helpdesk_lookup;
  FOR t IN
    SELECT c.relname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind = 'r'
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = t.relname AND policyname = 'tenant_isolation') THEN
      EXECUTE format(
        'CREATE POLICY tenant_isolation ON %I AS PERMISSIVE FOR ALL TO public USING (tenant_id = current_setting(''app.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))',
        t.relname);
    END IF;
    IF t.relname = 'audit_events' THEN
      -- Append-only for the application: no UPDATE, no DELETE.
      EXECUTE format('REVOKE ALL ON %I FROM helpdesk_app', t.relname);
      EXECUTE format('GRANT SELECT, INSERT ON %I TO helpdesk_app', t.relname);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO helpdesk_app', t.relname);
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
SELECT app_secure_tenant_tables();
--> statement-breakpoint
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, UPDATE (name, updated_at) ON tenants TO helpdesk_app;
--> statement-breakpoint
-- Pre-tenant look-ups may read key columns and nothing else (tenancy/lookup.ts).
GRANT SELECT (id, status) ON tenants TO helpdesk_lookup;
--> statement-breakpoint
GRANT SELECT (tenant_id, enterprise_id, team_id, is_enterprise_install, status) ON slack_installations TO helpdesk_lookup;
--> statement-breakpoint
GRANT SELECT (tenant_id, subdomain, hook_id, status) ON zendesk_connections TO helpdesk_lookup;
--> statement-breakpoint
GRANT SELECT (tenant_id, id_hash, expires_at) ON admin_sessions TO helpdesk_lookup;
