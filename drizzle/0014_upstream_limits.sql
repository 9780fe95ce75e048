CREATE TABLE "upstream_limits" (
	"tenant_id" text NOT NULL,
	"upstream" text NOT NULL,
	"key" text DEFAULT '' NOT NULL,
	"tokens" double precision NOT NULL,
	"capacity" double precision NOT NULL,
	"refill_per_sec" double precision NOT NULL,
	"learned_per_minute" double precision,
	"refilled_at" timestamp with time zone NOT NULL,
	"paused_until" timestamp with time zone,
	"breaker" text DEFAULT 'closed' NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone,
	"probe_until" timestamp with time zone,
	"last_failure" text,
	CONSTRAINT "upstream_limits_tenant_id_upstream_key_pk" PRIMARY KEY("tenant_id","upstream","key")
);
--> statement-breakpoint
ALTER TABLE "upstream_limits" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "upstream_usage" (
	"tenant_id" text NOT NULL,
	"day" date NOT NULL,
	"upstream" text NOT NULL,
	"calls" integer DEFAULT 0 NOT NULL,
	"deferred" integer DEFAULT 0 NOT NULL,
	"throttled" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"breaker_openings" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "upstream_usage_tenant_id_day_upstream_pk" PRIMARY KEY("tenant_id","day","upstream")
);
--> statement-breakpoint
ALTER TABLE "upstream_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "upstream_limits" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
CREATE POLICY "lookup_read" ON "upstream_limits" AS PERMISSIVE FOR SELECT TO "helpdesk_lookup" USING (true);--> statement-breakpoint
CREATE POLICY "tenant_isolation" ON "upstream_usage" AS PERMISSIVE FOR ALL TO public USING (tenant_id = (select public.app_current_tenant())) WITH CHECK (tenant_id = (select public.app_current_tenant()));--> statement-breakpoint
SELECT app_secure_tenant_tables();
--> statement-breakpoint
-- Per-tenant limits toward each upstream (issue 11; src/limits/upstream.ts). Both functions run as
-- the caller (SECURITY INVOKER) inside withTenant, so RLS confines them to the claim's tenant; each
-- is one statement for the caller: the bucket row is locked, read and written in one round trip,
-- so two processes on one database never both spend the same token.
--
-- app_take_upstream: one call's permit. The rate per minute is the tenant's own setting
-- (tenant_settings.settings.limits[p_setting], when numeric), else what the upstream said its limit
-- is (learned_per_minute, e.g. Zendesk's X-Rate-Limit) times p_share (headroom left for the
-- tenant's other integrations), else p_default_per_minute times p_share; with both a setting and a learned
-- limit, the lower. The bucket holds p_burst_seconds of refill (at least one call's cost).
-- Refused, in this order: paused (a 429's Retry-After), breaker open (until its cool-down ends;
-- then exactly one caller gets a half-open probe with a lease of p_probe_ms), out of tokens.
CREATE OR REPLACE FUNCTION public.app_take_upstream(
  p_upstream text, p_key text, p_cost float8, p_setting text, p_default_per_minute float8,
  p_share float8, p_burst_seconds float8, p_now timestamptz, p_cooldown_ms int, p_probe_ms int
) RETURNS TABLE (granted boolean, wait_ms bigint, reason text, state text, left_tokens float8, probe boolean, failure_count int, out_share float8)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
  r public.upstream_limits%ROWTYPE;
  setting_raw text;
  configured float8;
  v_share float8;
  per_min float8;
  rate float8;
  cap float8;
  avail float8;
  ok boolean := false;
  why text := null;
  wait bigint := 0;
  is_probe boolean := false;
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'app_take_upstream needs a tenant claim' USING ERRCODE = '42501';
  END IF;
  SELECT s.settings -> 'limits' ->> p_setting,
         CASE WHEN p_upstream = 'zendesk' AND (s.settings -> 'limits' ->> 'zendeskHeadroomPercent') ~ '^[0-9]{1,2}$'
              THEN 1 - (s.settings -> 'limits' ->> 'zendeskHeadroomPercent')::float8 / 100 END
    INTO setting_raw, v_share FROM public.tenant_settings s LIMIT 1;
  v_share := coalesce(v_share, p_share);
  IF setting_raw ~ '^[0-9]{1,12}(\.[0-9]{1,6})?$' THEN configured := setting_raw::float8; END IF;

  SELECT * INTO r FROM public.upstream_limits u
    WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO public.upstream_limits AS u (tenant_id, upstream, key, tokens, capacity, refill_per_sec, refilled_at)
      VALUES (t, p_upstream, p_key, 0, 0, 0, p_now)
      ON CONFLICT (tenant_id, upstream, key) DO NOTHING;
    SELECT * INTO r FROM public.upstream_limits u
      WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key FOR UPDATE;
  END IF;

  per_min := CASE
    WHEN configured IS NOT NULL AND r.learned_per_minute IS NOT NULL THEN least(configured, r.learned_per_minute * v_share)
    WHEN configured IS NOT NULL THEN configured
    WHEN r.learned_per_minute IS NOT NULL THEN r.learned_per_minute * v_share
    ELSE p_default_per_minute * v_share END;
  rate := greatest(per_min, 0.001) / 60.0;
  cap := greatest(p_cost, rate * p_burst_seconds);
  IF r.capacity = 0 AND r.refill_per_sec = 0 THEN
    avail := cap; -- a new bucket starts full
  ELSE
    avail := least(cap, r.tokens + greatest(0, extract(epoch FROM (p_now - r.refilled_at))) * rate);
  END IF;

  IF r.paused_until IS NOT NULL AND r.paused_until > p_now THEN
    why := 'paused';
    wait := ceil(extract(epoch FROM (r.paused_until - p_now)) * 1000)::bigint;
  ELSIF r.breaker = 'open' AND r.opened_at + make_interval(secs => p_cooldown_ms / 1000.0) > p_now THEN
    why := 'breaker_open';
    wait := ceil(extract(epoch FROM (r.opened_at + make_interval(secs => p_cooldown_ms / 1000.0) - p_now)) * 1000)::bigint;
  ELSIF r.breaker = 'half_open' AND r.probe_until IS NOT NULL AND r.probe_until > p_now THEN
    -- The probe usually answers in well under a second: look again soon, not at its lease's end.
    why := 'breaker_half_open';
    wait := least(5000, ceil(extract(epoch FROM (r.probe_until - p_now)) * 1000))::bigint;
  ELSIF avail < p_cost THEN
    why := 'rate_limit';
    wait := ceil((p_cost - avail) / rate * 1000)::bigint;
  ELSE
    ok := true;
    is_probe := r.breaker <> 'closed';
  END IF;

  UPDATE public.upstream_limits u SET
    tokens = CASE WHEN ok THEN avail - p_cost ELSE avail END,
    capacity = cap,
    refill_per_sec = rate,
    refilled_at = p_now,
    breaker = CASE WHEN is_probe THEN 'half_open' ELSE u.breaker END,
    probe_until = CASE WHEN is_probe THEN p_now + make_interval(secs => p_probe_ms / 1000.0) ELSE u.probe_until END,
    paused_until = CASE WHEN u.paused_until <= p_now THEN NULL ELSE u.paused_until END
  WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key;

  INSERT INTO public.upstream_usage AS g (tenant_id, day, upstream, calls, deferred)
    VALUES (t, (p_now AT TIME ZONE 'UTC')::date, p_upstream, CASE WHEN ok THEN 1 ELSE 0 END, CASE WHEN ok THEN 0 ELSE 1 END)
    ON CONFLICT (tenant_id, day, upstream) DO UPDATE SET
      calls = g.calls + excluded.calls, deferred = g.deferred + excluded.deferred;

  RETURN QUERY SELECT ok, greatest(wait, 1), why,
    CASE WHEN is_probe THEN 'half_open' ELSE r.breaker END,
    CASE WHEN ok THEN avail - p_cost ELSE avail END, is_probe, r.failures, v_share;
END
$$;
--> statement-breakpoint
-- app_record_upstream: what a call's answer says. 'ok' closes the breaker (and records a learned
-- limit, or lowers the tokens to p_clamp_tokens when the upstream says fewer remain); 'throttled'
-- pauses the tenant's calls to this upstream until p_retry_at (every process sees it) and empties
-- the bucket; 'failure' (5xx, timeout, no answer) counts a consecutive failure and opens the
-- breaker at p_threshold, or at once when it was the half-open probe. Returns the breaker state.
CREATE OR REPLACE FUNCTION public.app_record_upstream(
  p_upstream text, p_key text, p_outcome text, p_now timestamptz, p_retry_at timestamptz,
  p_threshold int, p_learned_per_minute float8, p_clamp_tokens float8, p_detail text
) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
  r public.upstream_limits%ROWTYPE;
  opened boolean := false;
  state text;
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'app_record_upstream needs a tenant claim' USING ERRCODE = '42501';
  END IF;
  SELECT * INTO r FROM public.upstream_limits u
    WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key FOR UPDATE;
  IF NOT FOUND THEN RETURN 'closed'; END IF;
  state := r.breaker;
  IF p_outcome = 'ok' THEN
    state := 'closed';
    UPDATE public.upstream_limits u SET
      breaker = 'closed', failures = 0, opened_at = NULL, probe_until = NULL,
      learned_per_minute = coalesce(p_learned_per_minute, u.learned_per_minute),
      tokens = CASE WHEN p_clamp_tokens IS NOT NULL THEN least(u.tokens, greatest(p_clamp_tokens, 0)) ELSE u.tokens END
    WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key;
  ELSIF p_outcome = 'throttled' THEN
    UPDATE public.upstream_limits u SET
      paused_until = greatest(coalesce(u.paused_until, p_now), coalesce(p_retry_at, p_now + interval '60 seconds')),
      tokens = 0, refilled_at = p_now,
      learned_per_minute = coalesce(p_learned_per_minute, u.learned_per_minute),
      -- A throttled probe is not a failure, but it ends the probe: the next caller may probe after the pause.
      probe_until = NULL
    WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key;
  ELSIF p_outcome = 'failure' THEN
    opened := r.breaker = 'half_open' OR (r.breaker = 'closed' AND r.failures + 1 >= p_threshold);
    IF opened THEN state := 'open'; END IF;
    UPDATE public.upstream_limits u SET
      failures = u.failures + 1,
      last_failure = left(p_detail, 300),
      breaker = CASE WHEN opened THEN 'open' ELSE u.breaker END,
      opened_at = CASE WHEN opened THEN p_now ELSE u.opened_at END,
      probe_until = CASE WHEN opened THEN NULL ELSE u.probe_until END
    WHERE u.tenant_id = t AND u.upstream = p_upstream AND u.key = p_key;
  ELSE
    RAISE EXCEPTION 'app_record_upstream: unknown outcome %', p_outcome USING ERRCODE = '22023';
  END IF;
  IF p_outcome <> 'ok' THEN
    INSERT INTO public.upstream_usage AS g (tenant_id, day, upstream, throttled, failures, breaker_openings)
      VALUES (t, (p_now AT TIME ZONE 'UTC')::date, p_upstream,
        CASE WHEN p_outcome = 'throttled' THEN 1 ELSE 0 END,
        CASE WHEN p_outcome = 'failure' THEN 1 ELSE 0 END,
        CASE WHEN opened THEN 1 ELSE 0 END)
      ON CONFLICT (tenant_id, day, upstream) DO UPDATE SET
        throttled = g.throttled + excluded.throttled,
        failures = g.failures + excluded.failures,
        breaker_openings = g.breaker_openings + excluded.breaker_openings;
  END IF;
  RETURN state;
END
$$;
--> statement-breakpoint
-- /readyz (anonymous): how many tenants have an open or half-open breaker, or a pause, per
-- upstream. Counts only, never tenant ids; owned by the look-up role, which may read just these
-- columns of upstream_limits (and, by its policy, every tenant's rows of them).
GRANT SELECT (tenant_id, upstream, breaker, paused_until) ON upstream_limits TO helpdesk_lookup;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.app_upstream_health(p_now timestamptz)
RETURNS TABLE (upstream text, open_count integer, half_open_count integer, paused_count integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT u.upstream,
    count(DISTINCT u.tenant_id) FILTER (WHERE u.breaker = 'open')::int,
    count(DISTINCT u.tenant_id) FILTER (WHERE u.breaker = 'half_open')::int,
    count(DISTINCT u.tenant_id) FILTER (WHERE u.paused_until > p_now)::int
  FROM public.upstream_limits u
  WHERE u.breaker <> 'closed' OR u.paused_until > p_now
  GROUP BY u.upstream
$$;
--> statement-breakpoint
GRANT CREATE ON SCHEMA public TO helpdesk_lookup;
--> statement-breakpoint
ALTER FUNCTION public.app_upstream_health(timestamptz) OWNER TO helpdesk_lookup;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM helpdesk_lookup;
