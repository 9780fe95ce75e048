-- Cheaper signed tenant claims (issue 15). Same functions, same checks, same owner, grants,
-- SECURITY DEFINER and fixed search_path as migration 0006; only the HMAC is computed in place.
-- Before, every claim check called app_hmac (a second SECURITY DEFINER function with its own SET
-- search_path, which PostgreSQL can neither inline nor enter cheaply) and app_xact_binding (the
-- same): app_enter_tenant made three such calls, app_current_tenant (evaluated by every policy,
-- once per table a statement touches) two. Measured (bench/ingest-pg-profile.ts,
-- bench/RESULTS.md): that nesting was most of PostgreSQL's CPU per webhook transaction.
-- The key is read from app_claim_key directly (the functions' owner may read it), the binding
-- expression is app_xact_binding's, character for character. app_hmac and app_xact_binding stay.
CREATE OR REPLACE FUNCTION public.app_enter_tenant(p_tenant text, p_issued bigint, p_nonce text, p_mac text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  k record;
  expected text;
BEGIN
  IF p_tenant IS NULL OR p_tenant !~ '^tn_[A-Za-z0-9_-]{16,64}$' THEN
    RAISE EXCEPTION 'tenant claim refused: not a tenant id' USING ERRCODE = '42501';
  END IF;
  IF p_issued IS NULL OR abs(extract(epoch FROM clock_timestamp()) - p_issued) > 900 THEN
    RAISE EXCEPTION 'tenant claim refused: issued more than 15 minutes from the database clock' USING ERRCODE = '42501';
  END IF;
  SELECT c.ikey, c.okey INTO k FROM public.app_claim_key c WHERE c.id = 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant claim refused: no claim key installed (run npm run db:migrate)' USING ERRCODE = '42501';
  END IF;
  expected := pg_catalog.encode(pg_catalog.sha256(k.okey || pg_catalog.sha256(k.ikey || pg_catalog.convert_to(
    'enter:' || p_tenant || ':' || p_issued::text || ':' || coalesce(p_nonce, ''), 'UTF8'))), 'hex');
  IF p_mac IS NULL OR expected <> p_mac THEN
    RAISE EXCEPTION 'tenant claim refused: bad signature (is the claim key installed with this ENCRYPTION_KEY? run npm run db:migrate)' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_claim', p_tenant || ':' || pg_catalog.encode(pg_catalog.sha256(k.okey || pg_catalog.sha256(k.ikey || pg_catalog.convert_to(
    'claim:' || p_tenant || ':' || (pg_catalog.pg_backend_pid()::text || ':' || ((extract(epoch FROM pg_catalog.now()) * 1000000)::bigint)::text),
    'UTF8'))), 'hex'), true);
  -- Informational only (logs, debugging): no policy reads it.
  PERFORM set_config('app.tenant_id', p_tenant, true);
  RETURN p_tenant;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_current_tenant() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  c text := current_setting('app.tenant_claim', true);
  t text;
  k record;
BEGIN
  IF c IS NULL OR c = '' THEN
    RETURN NULL;
  END IF;
  SELECT ck.ikey, ck.okey INTO k FROM public.app_claim_key ck WHERE ck.id = 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  t := split_part(c, ':', 1);
  IF split_part(c, ':', 2) = pg_catalog.encode(pg_catalog.sha256(k.okey || pg_catalog.sha256(k.ikey || pg_catalog.convert_to(
    'claim:' || t || ':' || (pg_catalog.pg_backend_pid()::text || ':' || ((extract(epoch FROM pg_catalog.now()) * 1000000)::bigint)::text),
    'UTF8'))), 'hex') THEN
    RETURN t;
  END IF;
  RETURN NULL;
END
$$;
