import type { Db } from '../db/client.ts';
import { withTenant } from '../db/tenant.ts';
import { describeError, isAppError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { liveZendeskConnection } from '../oauth/connections.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { createZendeskApi } from './api.ts';
import { type ZendeskBrand, type ZendeskOrganizationField, zendeskResources } from './resources.ts';

/**
 * What the console's routing form offers, read now from the tenant's own Zendesk: its
 * organization fields (routing's `orgField` is one of their keys) and its brands (routing's
 * `brands` map is keyed by brand name). Never throws: without a live connection, or when
 * Zendesk does not answer, the lists are null and `unavailable` says why in a sentence for the
 * admin (the form then takes typed values).
 */
export interface RoutingChoices {
  fields: ZendeskOrganizationField[] | null;
  brands: ZendeskBrand[] | null;
  unavailable: string | null;
}

export async function listRoutingChoices(
  deps: { db: Db; tokens: TokenProvider; logger: Logger },
  tenantId: string,
): Promise<RoutingChoices> {
  const conn = await withTenant(deps.db, tenantId, (tx) => liveZendeskConnection(tx));
  if (conn?.status !== 'active')
    return {
      fields: null,
      brands: null,
      unavailable: 'Zendesk is not connected, so its organization fields and brands cannot be listed.',
    };
  const api = zendeskResources(
    createZendeskApi({ tenantId, subdomain: conn.subdomain, tokens: deps.tokens, maxInlineWaitMs: 0 }),
  );
  try {
    const [fields, brands] = await Promise.all([api.listOrganizationFields(), api.listBrands()]);
    return { fields, brands, unavailable: null };
  } catch (e) {
    deps.logger.warn('zendesk routing choices could not be read', { tenantId, error: describeError(e) });
    const status = isAppError(e) && typeof e.detail?.status === 'number' ? ` (HTTP ${e.detail.status})` : '';
    return {
      fields: null,
      brands: null,
      unavailable: `Zendesk did not list the organization fields and brands just now${status}.`,
    };
  }
}
