-- Isolation that holds against SQL running inside a tenant's transaction (issue 13).
--
-- 1. helpdesk_runtime: the login role the server connects as. It owns nothing, is not superuser,
--    has no BYPASSRLS, and is a member of helpdesk_app only (which sees one tenant). It is created
--    NOLOGIN here; the deploy step gives it LOGIN and a password (README, "Isolation").
-- 2. Tenant claims SQL cannot forge: policies call app_current_tenant(), which trusts only a claim
--    signed with a key (app_claim_key) that no role but the owner can read. The claim is bound to
--    the backend and the transaction's start time, so it is void in any other transaction.
--    withTenant obtains it in its one opening statement: app_enter_tenant(tenant, issued, nonce,
--    mac) verifies the application's HMAC (same key, held by the application) and sets the claim.
-- 3. No temporary objects and no CREATE on public for the runtime: nothing can shadow a table.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk_runtime') THEN
    CREATE ROLE helpdesk_runtime NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT;
  END IF;
END
$$;
--> statement-breakpoint
GRANT helpdesk_app TO helpdesk_runtime;
--> statement-breakpoint
DO $$
BEGIN
  -- Defensive: the runtime must not be able to switch to a role that sees every tenant.
  IF pg_has_role('helpdesk_runtime', 'helpdesk_lookup', 'MEMBER') THEN
    REVOKE helpdesk_lookup FROM helpdesk_runtime;
  END IF;
  IF pg_has_role('helpdesk_runtime', 'helpdesk_scheduler', 'MEMBER') THEN
    REVOKE helpdesk_scheduler FROM helpdesk_runtime;
  END IF;
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM helpdesk_runtime, helpdesk_app', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO CURRENT_USER', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO helpdesk_runtime', current_database());
END
$$;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO helpdesk_runtime;
--> statement-breakpoint
-- /readyz and the server's start check read the migration ledger.
GRANT USAGE ON SCHEMA drizzle TO helpdesk_runtime;
--> statement-breakpoint
GRANT SELECT ON drizzle.__drizzle_migrations TO helpdesk_runtime;
--> statement-breakpoint
-- OAuth state is pre-tenant (oauth/state-store.ts): the runtime creates and consumes it.
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_states TO helpdesk_app;
--> statement-breakpoint
-- Insert is safe: the policy admits only the claimed tenant's id, which for a new tenant only
-- createTenant can claim.
GRANT INSERT ON tenants TO helpdesk_app;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS public.app_claim_key (
  id integer PRIMARY KEY CHECK (id = 1),
  ikey bytea NOT NULL,
  okey bytea NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
REVOKE ALL ON public.app_claim_key FROM PUBLIC;
--> statement-breakpoint
ALTER TABLE public.app_claim_key ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- HMAC-SHA256 with the installed key (ikey/okey are the key XOR ipad/opad, 64 bytes each).
-- Owner only: it is a signing oracle, so no other role may call it.
CREATE OR REPLACE FUNCTION public.app_hmac(msg text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(k.okey || pg_catalog.sha256(k.ikey || pg_catalog.convert_to(msg, 'UTF8'))), 'hex')
  FROM public.app_claim_key k WHERE k.id = 1
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_hmac(text) FROM PUBLIC;
--> statement-breakpoint
-- What binds a claim to one transaction: the backend and the transaction's start (microseconds).
CREATE OR REPLACE FUNCTION public.app_xact_binding() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $$
  SELECT pg_catalog.pg_backend_pid()::text || ':' || ((extract(epoch FROM pg_catalog.now()) * 1000000)::bigint)::text
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_enter_tenant(p_tenant text, p_issued bigint, p_nonce text, p_mac text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  expected text;
BEGIN
  IF p_tenant IS NULL OR p_tenant !~ '^tn_[A-Za-z0-9_-]{16,64}$' THEN
    RAISE EXCEPTION 'tenant claim refused: not a tenant id' USING ERRCODE = '42501';
  END IF;
  IF p_issued IS NULL OR abs(extract(epoch FROM clock_timestamp()) - p_issued) > 900 THEN
    RAISE EXCEPTION 'tenant claim refused: issued more than 15 minutes from the database clock' USING ERRCODE = '42501';
  END IF;
  expected := public.app_hmac('enter:' || p_tenant || ':' || p_issued::text || ':' || coalesce(p_nonce, ''));
  IF expected IS NULL THEN
    RAISE EXCEPTION 'tenant claim refused: no claim key installed (run npm run db:migrate)' USING ERRCODE = '42501';
  END IF;
  IF p_mac IS NULL OR expected <> p_mac THEN
    RAISE EXCEPTION 'tenant claim refused: bad signature (is the claim key installed with this ENCRYPTION_KEY? run npm run db:migrate)' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_claim', p_tenant || ':' || public.app_hmac('claim:' || p_tenant || ':' || public.app_xact_binding()), true);
  -- Informational only (logs, debugging): no policy reads it.
  PERFORM set_config('app.tenant_id', p_tenant, true);
  RETURN p_tenant;
END
$$;
--> statement-breakpoint
-- The tenant of the current transaction, or NULL: what every policy compares rows with.
CREATE OR REPLACE FUNCTION public.app_current_tenant() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  c text := current_setting('app.tenant_claim', true);
  t text;
BEGIN
  IF c IS NULL OR c = '' THEN
    RETURN NULL;
  END IF;
  t := split_part(c, ':', 1);
  IF split_part(c, ':', 2) = public.app_hmac('claim:' || t || ':' || public.app_xact_binding()) THEN
    RETURN t;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_enter_tenant(text, bigint, text, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_enter_tenant(text, bigint, text, text) TO helpdesk_runtime, helpdesk_app;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION public.app_secure_tenant_tables() FROM PUBLIC;
