-- The job scheduler's role (src/jobs/claim.ts). Claiming must look across tenants (fair
-- round-robin, per-tenant caps, lapsed leases), which the application role cannot: RLS on jobs is
-- forced and scoped to one tenant. helpdesk_scheduler may see and change the scheduling columns of
-- jobs only; it cannot read payload, kind, dedupe_key or last_error, insert or delete jobs, or touch
-- any other table. The worker then reads the payload inside withTenant(tenant_id).
-- Roles are cluster-wide, so create it only if missing (several databases may share a server).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk_scheduler') THEN
    CREATE ROLE helpdesk_scheduler NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
GRANT helpdesk_scheduler TO CURRENT_USER;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO helpdesk_scheduler;
--> statement-breakpoint
REVOKE ALL ON jobs FROM helpdesk_scheduler;
--> statement-breakpoint
GRANT SELECT (tenant_id, id, status, run_at, lease_until, lease_owner, attempts, max_attempts, created_at) ON jobs TO helpdesk_scheduler;
--> statement-breakpoint
-- UPDATE of last_error/finished_at (never SELECT) lets the lease sweep dead-letter a job whose
-- worker kept dying, with a fixed message.
GRANT UPDATE (status, lease_until, lease_owner, attempts, last_error, finished_at, updated_at) ON jobs TO helpdesk_scheduler;
