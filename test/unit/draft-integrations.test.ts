import { describe, expect, it } from 'vitest';
import { direction } from '../../src/pipeline/drafting/findings/integrations.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { ctx, directory, draftInput, link } from '../helpers/draft-input.ts';

describe('integration state', () => {
  it("reads status, since, last error and direction from the data: an outbound sync is not 'data from X'", () => {
    const d = draftOffline(
      draftInput('Warehouse not getting orders', 'Our orders stopped showing up in ShipStation.', [
        directory('Acme', 'pro'),
        ctx('integrations', {
          shipstation: {
            status: 'token_expired',
            since: '2026-11-18T09:00:00Z',
            lastError: 'HTTP 401 from ShipStation',
            direction: 'outbound',
          },
          slack: { status: 'connected' },
        }),
        link('ssReconnect', 'https://app.example/integrations/shipstation/auth', 'reconnect'),
        link('slackSetup', 'https://app.example/integrations/slack'),
      ]),
    );
    expect(d.reply).toContain('status "token_expired" since 2026-11-18 09:00 UTC (2 days ago)');
    expect(d.reply).toContain('last error "HTTP 401 from ShipStation"');
    expect(d.reply).toContain('we cannot send your data to Shipstation');
    expect(d.reply).not.toContain('does not reach us');
    expect(d.reply).toContain(
      'reconnect Shipstation here: https://app.example/integrations/shipstation/auth',
    );
    expect(d.reply).not.toContain('Slack');
  });

  it('with no direction in the data, makes no claim about which way data flows', () => {
    const d = draftOffline(
      draftInput('Sync', 'Xero sync broken?', [
        directory('Acme', 'pro'),
        ctx('integrations', { xero: { status: 'error' } }),
      ]),
    );
    expect(d.reply).toContain('nothing syncs between your account and Xero');
    expect(d.reply).not.toMatch(/does not reach us|cannot send/);
  });

  it('a named integration that is simply not connected gets its status and the connect link', () => {
    const d = draftOffline(
      draftInput('Mailchimp', 'Where is my Mailchimp data?', [
        directory('Acme', 'pro'),
        ctx('integrations', { mailchimp: { status: 'disconnected', since: '2026-10-01' } }),
        link('mc', 'https://app.example/connect/mailchimp'),
      ]),
    );
    expect(d.reply).toContain('status "disconnected" (since 2026-10-01)');
    expect(d.reply).toContain('https://app.example/connect/mailchimp');
  });

  it('direction() reads the usual spellings', () => {
    expect(direction({ direction: 'export' })).toBe('outbound');
    expect(direction({ flow: 'inbound' })).toBe('inbound');
    expect(direction({ sync: 'two-way' })).toBe('both');
    expect(direction({})).toBeNull();
  });
});
