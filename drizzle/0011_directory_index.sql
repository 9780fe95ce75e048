CREATE TABLE "account_identifiers" (
	"tenant_id" text NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"account_id" text NOT NULL,
	CONSTRAINT "account_identifiers_tenant_id_kind_value_account_id_pk" PRIMARY KEY("tenant_id","kind","value","account_id")
);
--> statement-breakpoint
ALTER TABLE "account_identifiers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "directory_versions" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"version" uuid DEFAULT gen_random_uuid() NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changed_xact" bigint
);
--> statement-breakpoint
ALTER TABLE "directory_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE INDEX "account_identifiers_account" ON "account_identifiers" USING btree ("tenant_id","account_id");--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "account_identifiers" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "directory_versions" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));
--> statement-breakpoint
-- account_identifiers follows accounts: statement triggers with transition tables, so a bulk
-- write costs one statement, and every writer (the directory sync, a test, psql) keeps it in step.
-- They run as the writer (helpdesk_app inside withTenant): the rows they write carry the tenant
-- of the account rows, which row-level security has already checked. No foreign key: the delete
-- trigger removes a deleted account's rows (a key would check every inserted row).
CREATE OR REPLACE FUNCTION public.app_account_identifiers_sync() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    -- An INSERT ... ON CONFLICT fires the UPDATE trigger too, mostly with no rows.
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
      RETURN NULL;
    END IF;
    DELETE FROM public.account_identifiers i USING old_rows o
      WHERE i.tenant_id = o.tenant_id AND i.account_id = o.id;
    IF TG_OP = 'DELETE' THEN
      RETURN NULL;
    END IF;
  END IF;
  INSERT INTO public.account_identifiers (tenant_id, kind, value, account_id)
    SELECT n.tenant_id, 'email', lower(btrim(e)), n.id FROM new_rows n, unnest(n.emails) e WHERE btrim(e) <> ''
    UNION
    SELECT n.tenant_id, 'domain', lower(btrim(d)), n.id FROM new_rows n, unnest(n.domains) d WHERE btrim(d) <> ''
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER account_identifiers_on_insert AFTER INSERT ON accounts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_account_identifiers_sync();
--> statement-breakpoint
CREATE TRIGGER account_identifiers_on_update AFTER UPDATE ON accounts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_account_identifiers_sync();
--> statement-breakpoint
CREATE TRIGGER account_identifiers_on_delete AFTER DELETE ON accounts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_account_identifiers_sync();
--> statement-breakpoint
-- A new random directory version for each transaction that changes the tenant's accounts, end
-- users or catalog entries (what the leak guard's matchers are built from): at its first such
-- statement; later ones find changed_xact already theirs and write nothing. A delete only
-- updates an existing row: it never re-creates one while a purge empties the tenant's tables.
CREATE OR REPLACE FUNCTION public.app_directory_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  x bigint := pg_current_xact_id()::text::bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
      RETURN NULL;
    END IF;
    UPDATE public.directory_versions v SET version = gen_random_uuid(), changed_at = now(), changed_xact = x
      WHERE v.tenant_id IN (SELECT DISTINCT tenant_id FROM old_rows) AND v.changed_xact IS DISTINCT FROM x;
  ELSIF EXISTS (SELECT 1 FROM new_rows) THEN
    INSERT INTO public.directory_versions AS v (tenant_id, version, changed_at, changed_xact)
      SELECT t.tenant_id, gen_random_uuid(), now(), x FROM (SELECT DISTINCT tenant_id FROM new_rows) t
      ON CONFLICT (tenant_id) DO UPDATE
        SET version = excluded.version, changed_at = excluded.changed_at, changed_xact = excluded.changed_xact
        WHERE v.changed_xact IS DISTINCT FROM excluded.changed_xact;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['accounts', 'end_users', 'catalog_entries'] LOOP
    EXECUTE format('CREATE TRIGGER directory_changed_on_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_directory_changed()', t);
    EXECUTE format('CREATE TRIGGER directory_changed_on_update AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_directory_changed()', t);
    EXECUTE format('CREATE TRIGGER directory_changed_on_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.app_directory_changed()', t);
  END LOOP;
END
$$;
--> statement-breakpoint
-- Backfill from the directories written before this migration. The owner reads every tenant's
-- rows only with FORCE lifted, inside this migration's transaction; it is forced again below.
ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
INSERT INTO account_identifiers (tenant_id, kind, value, account_id)
  SELECT a.tenant_id, 'email', lower(btrim(e)), a.id FROM accounts a, unnest(a.emails) e WHERE btrim(e) <> ''
  UNION
  SELECT a.tenant_id, 'domain', lower(btrim(d)), a.id FROM accounts a, unnest(a.domains) d WHERE btrim(d) <> ''
  ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO directory_versions (tenant_id) SELECT id FROM tenants WHERE status <> 'purged' ON CONFLICT DO NOTHING;
--> statement-breakpoint
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
-- FORCE RLS and grants on the new tenant tables (0008_narrow_definer_functions.sql).
SELECT app_secure_tenant_tables();
