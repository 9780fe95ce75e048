import { describe, expect, it } from 'vitest';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { ctx, directory, draftInput, link } from '../helpers/draft-input.ts';

const facts = [
  directory('Acme', 'pro'),
  ctx('apiRequests', [
    {
      at: '2026-11-20T08:00:00Z',
      status: 403,
      keyPrefix: 'ak_old1',
      userAgent: 'billing-sync/1.2',
      count: 12,
    },
    { at: '2026-11-20T08:00:00Z', status: 200, keyPrefix: 'ak_new9', userAgent: 'web/3.0', count: 400 },
  ]),
  ctx('auditLog', [
    {
      at: '2026-11-19T12:00:00Z',
      actor: 'ops@acme.example',
      action: 'api_key.revoked',
      detail: { keyPrefix: 'ak_old1' },
    },
    {
      at: '2026-11-19T12:01:00Z',
      actor: 'ops@acme.example',
      action: 'api_key.created',
      detail: { keyPrefix: 'ak_new9' },
    },
  ]),
  link('devConsole', 'https://app.example/dev/credentials', 'api_keys'),
];

describe('API keys and request log', () => {
  it('names the failing client, the revoked key, when and by whom, and the key to use instead', () => {
    const d = draftOffline(
      draftInput('403 from API', 'We get 403 Forbidden from your API since yesterday.', facts),
    );
    expect(d.reply).toContain('12 requests from billing-sync/1.2 using the key ak_old1 got 403');
    expect(d.reply).toContain('revoked on 2026-11-19 12:00 UTC (yesterday) by ops@acme.example');
    expect(d.reply).toContain('update billing-sync/1.2 to use ak_new9 instead of ak_old1');
    expect(d.reply).toContain('https://app.example/dev/credentials');
    expect(d.citedFactIds).toEqual(expect.arrayContaining(['ctx:apiRequests', 'ctx:auditLog']));
  });

  it('stays silent about the request log when the ticket is not about auth errors', () => {
    const d = draftOffline(draftInput('Dark mode', 'Do you have a dark mode?', facts));
    expect(d.reply).not.toContain('ak_old1');
  });
});
