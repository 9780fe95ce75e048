-- Roles are cluster-wide, so create them only if missing (several databases may share a server).
-- helpdesk_app: the non-owner role withTenant() switches to. helpdesk_lookup: pre-tenant look-ups.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk_app') THEN
    CREATE ROLE helpdesk_app NOLOGIN NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk_lookup') THEN
    CREATE ROLE helpdesk_lookup NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
-- The connecting (owner) user must be able to SET ROLE to them.
GRANT helpdesk_app TO CURRENT_USER;
--> statement-breakpoint
GRANT helpdesk_lookup TO CURRENT_USER;
