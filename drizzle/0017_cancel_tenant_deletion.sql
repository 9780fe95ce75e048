-- Cancelling a tenant's deletion request within its retention window (src/tenancy/deletion.ts,
-- cancelTenantDeletion). Like app_mark_tenant_deleting (0008), it acts on the transaction's own
-- claimed tenant only, and only while the window is open by both the caller's clock and the
-- database's, so a wrong clock cannot revive a tenant the purge is due to delete. The purge
-- (app_finish_purge) locks the same row and requires 'deleting', so the two never both win.
CREATE OR REPLACE FUNCTION public.app_cancel_tenant_deletion(p_now timestamptz)
RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t text := public.app_current_tenant();
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'no tenant claim in this transaction' USING ERRCODE = '42501';
  END IF;
  UPDATE public.tenants SET status = 'active', delete_after = NULL, updated_at = p_now
    WHERE id = t AND status = 'deleting' AND delete_after > GREATEST(p_now, pg_catalog.now());
  RETURN FOUND;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION public.app_cancel_tenant_deletion(timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION public.app_cancel_tenant_deletion(timestamptz) TO helpdesk_runtime, helpdesk_app;
