-- Narrow SECURITY DEFINER functions (issue 13): each answers one question, with a fixed
-- search_path and schema-qualified names. They replace SET ROLE helpdesk_lookup /
-- helpdesk_scheduler, which the runtime role can no longer do. Look-ups are owned by
-- helpdesk_lookup, claims by helpdesk_scheduler (so they keep those roles' column grants and
-- policies); tenant lifecycle steps and the audit chain are owned by the migration owner.

-- New tenant-owned tables (later migrations) get the claim-based policy and the runtime's grants.
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
        'CREATE POLICY tenant_isolation ON %I AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()))',
        t.relname);
    END IF;
    IF t.relname = 'audit_events' THEN
      EXECUTE format('REVOKE ALL ON %I FROM helpdesk_app', t.relname);
      EXECUTE format('GRANT SELECT, INSERT ON %I TO helpdesk_app', t.relname);
    ELSE
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO helpdesk_app', t.relname);
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION app_secure_tenant_tables() FROM PUBLIC;
--> statement-breakpoint
-- ---------------------------------------------------------------- audit chain
CREATE OR REPLACE FUNCTION public.app_audit_hash(
  p_tenant text, p_seq bigint, p_id text, p_at timestamptz, p_actor jsonb, p_action text,
  p_target text, p_outcome text, p_detail jsonb, p_request_id text, p_prev text
) RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
    p_tenant, p_seq, p_id, (extract(epoch FROM p_at) * 1000000)::bigint, p_actor, p_action,
    p_target, p_outcome, p_detail, p_request_id, p_prev)::text, 'UTF8')), 'hex')
$$;
--> statement-breakpoint
-- Serialised per tenant by a transaction-scoped advisory lock: two transactions auditing the same
-- tenant take turns (the second waits for the first to commit), so the chain never forks; the
-- unique index (tenant_id, seq) would refuse a fork anyway.
CREATE OR REPLACE FUNCTION public.app_audit_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  head record;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('helpdesk-copilot:audit:' || NEW.tenant_id, 0));
  SELECT e.seq, e.hash INTO head FROM public.audit_events e
    WHERE e.tenant_id = NEW.tenant_id AND e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
  NEW.seq := coalesce(head.seq, 0) + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := public.app_audit_hash(NEW.tenant_id, NEW.seq, NEW.id, NEW.at, NEW.actor, NEW.action,
    NEW.target, NEW.outcome, NEW.detail, NEW.request_id, NEW.prev_hash);
  RETURN NEW;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS audit_events_chain ON audit_events;
--> statement-breakpoint
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION public.app_audit_chain();
--> statement-breakpoint
-- Chain the events written before this migration, per tenant in id (time) order.
DO $$
DECLARE
  r record;
  prev_t text := NULL;
  prev_h text := NULL;
  n bigint := 0;
BEGIN
  FOR r IN SELECT * FROM audit_events WHERE seq IS NULL ORDER BY tenant_id, id LOOP
    IF prev_t IS DISTINCT FROM r.tenant_id THEN
      prev_t := r.tenant_id; prev_h := NULL; n := 0;
    END IF;
    n := n + 1;
    UPDATE audit_events SET seq = n, prev_hash = prev_h,
      hash = public.app_audit_hash(r.tenant_id, n, r.id, r.at, r.actor, r.action, r.target, r.outcome, r.detail, r.request_id, prev_h)
      WHERE tenant_id = r.tenant_id AND id = r.id
      RETURNING hash INTO prev_h;
  END LOOP;
END
$$;
--> statement-breakpoint
-- ---------------------------------------------------------------- pre-tenant look-ups
GRANT CREATE ON SCHEMA public TO helpdesk_lookup, helpdesk_scheduler;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_by_slack(p_enterprise text, p_team text, p_enterprise_install boolean, p_include_revoked boolean)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT CASE WHEN count(*) = 1 THEN min(s.tenant_id) END
  FROM public.slack_installations s
  WHERE s.is_enterprise_install = p_enterprise_install
    AND CASE WHEN p_enterprise_install THEN s.enterprise_id = p_enterprise ELSE s.team_id = p_team END
    AND (p_include_revoked OR s.status <> 'revoked')
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_by_zendesk_subdomain(p_subdomain text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT z.tenant_id FROM public.zendesk_connections z WHERE z.subdomain = pg_catalog.lower(p_subdomain) LIMIT 1
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_by_zendesk_hook(p_hook text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT z.tenant_id FROM public.zendesk_connections z WHERE z.hook_id = p_hook AND z.status <> 'revoked' LIMIT 1
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_by_session_hash(p_hash text, p_now timestamptz)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT a.tenant_id FROM public.admin_sessions a WHERE a.id_hash = p_hash AND a.expires_at > p_now LIMIT 1
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_status(p_tenant text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT t.status FROM public.tenants t WHERE t.id = p_tenant
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenant_ids_by_status(p_status text)
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT t.id FROM public.tenants t WHERE t.status = p_status ORDER BY t.id
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenants_with_expired_sessions(p_now timestamptz)
RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT DISTINCT a.tenant_id FROM public.admin_sessions a WHERE a.expires_at <= p_now
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_tenants_needing_reauth(p_limit integer)
RETURNS TABLE (tenant_id text, provider text) LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  (SELECT s.tenant_id, 'slack'::text FROM public.slack_installations s WHERE s.status = 'needs_reauth' LIMIT p_limit)
  UNION ALL
  (SELECT z.tenant_id, 'zendesk'::text FROM public.zendesk_connections z WHERE z.status = 'needs_reauth' LIMIT p_limit)
$$;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_by_slack(text, text, boolean, boolean) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_by_zendesk_subdomain(text) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_by_zendesk_hook(text) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_by_session_hash(text, timestamptz) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_status(text) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenant_ids_by_status(text) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenants_with_expired_sessions(timestamptz) OWNER TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_tenants_needing_reauth(integer) OWNER TO helpdesk_lookup;
--> statement-breakpoint
-- ---------------------------------------------------------------- job claiming
CREATE OR REPLACE FUNCTION public.app_sweep_lapsed_leases(p_now timestamptz)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('helpdesk-copilot:jobs:claim'));
  UPDATE public.jobs SET
    status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
    last_error = 'lease expired on attempt ' || attempts || ': the worker stopped, crashed or stalled',
    finished_at = CASE WHEN attempts >= max_attempts THEN p_now ELSE NULL END,
    lease_owner = NULL,
    lease_until = NULL,
    updated_at = p_now
  WHERE status = 'running' AND lease_until < p_now;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_claim_jobs(
  p_now timestamptz, p_lease_until timestamptz, p_cap integer, p_slots integer, p_cursor text, p_owner text
) RETURNS TABLE (claimed_tenant_id text, claimed_id text, claimed_attempts integer, claimed_max_attempts integer, claimed_ord bigint, more_due boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('helpdesk-copilot:jobs:claim'));
  WITH RECURSIVE due_tenants AS (
    (SELECT j.tenant_id FROM public.jobs j
      WHERE j.status = 'queued' AND j.run_at <= p_now
      ORDER BY j.tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT j.tenant_id FROM public.jobs j
             WHERE j.status = 'queued' AND j.run_at <= p_now AND j.tenant_id > d.tenant_id
             ORDER BY j.tenant_id LIMIT 1)
    FROM due_tenants d WHERE d.tenant_id IS NOT NULL
  ),
  busy AS (
    SELECT j.tenant_id, count(*)::int AS n FROM public.jobs j
    WHERE j.status = 'running' AND j.lease_until >= p_now
    GROUP BY j.tenant_id
  ),
  candidates AS (
    SELECT c.tenant_id, c.id, c.cap_left,
           row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.run_at, c.id) AS rnk
    FROM due_tenants d
    LEFT JOIN busy b ON b.tenant_id = d.tenant_id
    CROSS JOIN LATERAL (
      SELECT j.tenant_id, j.id, j.run_at, greatest(p_cap - coalesce(b.n, 0), 0) AS cap_left
      FROM public.jobs j
      WHERE j.tenant_id = d.tenant_id AND j.status = 'queued' AND j.run_at <= p_now
      ORDER BY j.run_at, j.id
      LIMIT greatest(p_cap - coalesce(b.n, 0), 0) + 1
      FOR UPDATE OF j SKIP LOCKED
    ) c
    WHERE d.tenant_id IS NOT NULL
  ),
  picked AS (
    SELECT c.tenant_id, c.id,
           row_number() OVER (ORDER BY c.rnk, (c.tenant_id <= coalesce(p_cursor, '')), c.tenant_id) AS pick_ord
    FROM candidates c
    WHERE c.rnk <= c.cap_left
    ORDER BY 3
    LIMIT p_slots
  ),
  updated AS (
    UPDATE public.jobs j SET
      status = 'running',
      attempts = j.attempts + 1,
      lease_owner = p_owner,
      lease_until = p_lease_until,
      updated_at = p_now
    FROM picked p
    WHERE j.tenant_id = p.tenant_id AND j.id = p.id AND j.status = 'queued'
    RETURNING j.tenant_id, j.id, j.attempts, j.max_attempts, p.pick_ord
  ),
  summary AS (
    SELECT (SELECT count(*) FROM candidates) > (SELECT count(*) FROM updated) AS any_more
  )
  SELECT u.tenant_id, u.id, u.attempts, u.max_attempts, u.pick_ord, s.any_more
  FROM summary s LEFT JOIN updated u ON true;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_queue_state(p_now timestamptz)
RETURNS TABLE (due_count integer, running_count integer, scheduled_count integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT
    count(*) FILTER (WHERE j.status = 'queued' AND j.run_at <= p_now)::int,
    count(*) FILTER (WHERE j.status = 'running')::int,
    count(*) FILTER (WHERE j.status = 'queued' AND j.run_at > p_now)::int
  FROM public.jobs j WHERE j.status IN ('queued', 'running')
$$;
--> statement-breakpoint
ALTER FUNCTION public.app_sweep_lapsed_leases(timestamptz) OWNER TO helpdesk_scheduler;
--> statement-breakpoint
ALTER FUNCTION public.app_claim_jobs(timestamptz, timestamptz, integer, integer, text, text) OWNER TO helpdesk_scheduler;
--> statement-breakpoint
ALTER FUNCTION public.app_queue_state(timestamptz) OWNER TO helpdesk_scheduler;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM helpdesk_lookup, helpdesk_scheduler;
--> statement-breakpoint
-- ---------------------------------------------------------------- tenant lifecycle
-- Both act on the transaction's own (claimed) tenant only: an injection in tenant A can at most
-- do to A what A's admin may already do.
CREATE OR REPLACE FUNCTION public.app_mark_tenant_deleting(p_delete_after timestamptz, p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'no tenant claim in this transaction' USING ERRCODE = '42501';
  END IF;
  UPDATE public.tenants SET status = 'deleting', delete_after = p_delete_after, updated_at = p_now
    WHERE id = t AND status = 'active';
  RETURN FOUND;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_finish_purge(
  p_requested_at timestamptz, p_purged_at timestamptz, p_rows_deleted integer, p_audit_digest text, p_requested_by text
) RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
  head text;
  n integer;
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'no tenant claim in this transaction' USING ERRCODE = '42501';
  END IF;
  PERFORM 1 FROM public.tenants WHERE id = t AND status = 'deleting' FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % is not being deleted', t USING ERRCODE = '42501';
  END IF;
  SELECT e.hash INTO head FROM public.audit_events e WHERE e.tenant_id = t AND e.seq IS NOT NULL ORDER BY e.seq DESC LIMIT 1;
  DELETE FROM public.audit_events WHERE tenant_id = t;
  GET DIAGNOSTICS n = ROW_COUNT;
  DELETE FROM public.oauth_states WHERE join_tenant_id = t;
  INSERT INTO public.tenant_tombstones (tenant_id_purged, requested_at, purged_at, rows_deleted, audit_events_deleted, audit_digest, audit_chain_head, requested_by)
    VALUES (t, p_requested_at, p_purged_at, p_rows_deleted + n, n, p_audit_digest, head, p_requested_by);
  UPDATE public.tenants SET status = 'purged', name = '', updated_at = p_purged_at WHERE id = t;
  RETURN n;
END
$$;
--> statement-breakpoint
-- Every definer function: callable by the runtime (and helpdesk_app inside withTenant) only.
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proname IN (
      'app_tenant_by_slack', 'app_tenant_by_zendesk_subdomain', 'app_tenant_by_zendesk_hook',
      'app_tenant_by_session_hash', 'app_tenant_status', 'app_tenant_ids_by_status',
      'app_tenants_with_expired_sessions', 'app_tenants_needing_reauth', 'app_sweep_lapsed_leases',
      'app_claim_jobs', 'app_queue_state', 'app_mark_tenant_deleting', 'app_finish_purge')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.sig);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO helpdesk_runtime, helpdesk_app', f.sig);
  END LOOP;
END
$$;
