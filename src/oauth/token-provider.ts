/**
 * What services need from the token manager (src/oauth/token-manager.ts implements it):
 * a provider access token for one tenant, valid for at least the next minute.
 * Throws AppError('forbidden', ...) with detail.status 'needs_reauth' when the connection
 * must be re-authorized, and AppError('not_found') when the tenant has no such connection.
 */
export type Provider = 'slack' | 'zendesk';

export interface TokenProvider {
  getAccessToken(tenantId: string, provider: Provider): Promise<string>;
  /**
   * Called after an upstream 401: the next getAccessToken refreshes even if the token looks valid
   * (or uses a newer stored token). Pass the refused `token` so that a late report about a token
   * already replaced changes nothing.
   */
  invalidate?(tenantId: string, provider: Provider, token?: string): void;
}
