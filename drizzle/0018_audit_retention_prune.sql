-- Audit retention per tenant (src/audit/retention.ts): deleting a tenant's oldest audit events
-- without making the rest unverifiable. The application role may not DELETE audit events
-- (0002/0008); this narrow SECURITY DEFINER function may, for the transaction's own tenant claim
-- only, and only events older than 30 days by the database's clock (the shortest retention a
-- tenant may choose), so SQL injected into a tenant's transaction can at most do what that tenant's
-- admin may do by choosing 30 days. It deletes a prefix of the chain (seq 1..N, every one older
-- than p_before; the newest event is always kept so the chain goes on from it) and, in the same
-- transaction, appends an `audit.pruned` event recording where the chain was cut (throughSeq,
-- throughHash): verification (verifyAuditChain) starts from that attested cut, so a deleted
-- oldest event without such an attestation still reads as `event_missing`.
CREATE OR REPLACE FUNCTION public.app_prune_audit_events(p_before timestamptz, p_now timestamptz, p_id text)
RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
  first_seq bigint;
  head_seq bigint;
  cut bigint;
  cut_hash text;
  n integer;
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'no tenant claim in this transaction' USING ERRCODE = '42501';
  END IF;
  IF p_before > pg_catalog.now() - interval '30 days' THEN
    RAISE EXCEPTION 'audit events younger than 30 days are always kept' USING ERRCODE = '22023';
  END IF;
  -- The chain trigger's lock: no event of this tenant is appended while we cut.
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('helpdesk-copilot:audit:' || t, 0));
  SELECT min(e.seq), max(e.seq) INTO first_seq, head_seq FROM public.audit_events e WHERE e.tenant_id = t;
  IF head_seq IS NULL THEN
    RETURN 0;
  END IF;
  SELECT coalesce(min(e.seq), head_seq + 1) - 1 INTO cut FROM public.audit_events e
    WHERE e.tenant_id = t AND e.at >= p_before;
  cut := LEAST(cut, head_seq - 1);
  IF cut < first_seq THEN
    RETURN 0;
  END IF;
  SELECT e.hash INTO cut_hash FROM public.audit_events e WHERE e.tenant_id = t AND e.seq = cut;
  DELETE FROM public.audit_events WHERE tenant_id = t AND seq <= cut;
  GET DIAGNOSTICS n = ROW_COUNT;
  INSERT INTO public.audit_events (tenant_id, id, at, actor, action, target, outcome, detail)
    VALUES (t, p_id, p_now, '{"type":"system","name":"audit-retention"}'::jsonb, 'audit.pruned', t, 'success',
      pg_catalog.jsonb_build_object('throughSeq', cut, 'throughHash', cut_hash, 'eventsDeleted', n,
        'before', p_before));
  RETURN n;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_prune_audit_events(timestamptz, timestamptz, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_prune_audit_events(timestamptz, timestamptz, text) TO helpdesk_runtime, helpdesk_app;
