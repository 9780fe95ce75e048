import { describe, expect, it } from 'vitest';
import { upgradePath } from '../../src/pipeline/drafting/findings/plan-gated.ts';
import { readCatalog } from '../../src/pipeline/drafting/findings/shared.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { ctx, directory, draftInput, feature, link, plan } from '../helpers/draft-input.ts';

const catalog = [
  plan('basic', 'Basic', 20),
  plan('scale', 'Scale', 90),
  plan('max', 'Max', 300),
  feature('hubspot', 'HubSpot sync', ['scale', 'max']),
  feature('audit_export', 'Audit export', ['max']),
];

describe('plan-gated feature', () => {
  it('says which plans include it and gives upgrade and trial links chosen by declared purpose, whatever their names', () => {
    const d = draftOffline(
      draftInput('HubSpot not syncing', 'Our HubSpot sync does nothing. Bug?', [
        directory('Acme', 'basic'),
        ...catalog,
        ctx('integrations', { hubspot: { status: 'connected', since: '2026-11-01' } }),
        link('changeTier', 'https://app.example/account/tier', 'upgrade'),
        link('sandbox', 'https://app.example/sandbox?tier=scale', 'trial'),
        link('invoices', 'https://app.example/account/invoices', 'billing'),
      ]),
    );
    expect(d.reply).toContain('HubSpot sync is not part of the Basic plan');
    expect(d.reply).toContain('included in the Scale and Max plans');
    expect(d.reply).toContain('upgrade to Scale: https://app.example/account/tier');
    expect(d.reply).toContain('free trial: https://app.example/sandbox?tier=scale');
    expect(d.reply).not.toContain('invoices');
    // The connection's status in the data is "connected": so nothing is broken.
    expect(d.reply).toMatch(/connection itself is set up \(connected since 2026-11-01\)/);
    expect(d.citedFactIds).toEqual(
      expect.arrayContaining(['catalog:feature:hubspot', 'catalog:link:changeTier']),
    );
  });

  it('claims nothing about the connection when its status does not say it is connected', () => {
    const d = draftOffline(
      draftInput('HubSpot', 'Why does HubSpot sync not work?', [
        directory('Acme', 'basic'),
        ...catalog,
        ctx('integrations', { hubspot: { status: 'pending_review' } }),
      ]),
    );
    expect(d.reply).toContain('not part of the Basic plan');
    expect(d.reply).not.toContain('nothing is broken');
  });

  it('without purposes: a link whose URL names the target plan is the upgrade path; one that also says trial is the trial', () => {
    const links = readCatalog([
      link('a', 'https://app.example/checkout?tier=max'),
      link('b', 'https://app.example/trial/max'),
      link('c', 'https://app.example/help'),
    ]).links;
    const { upgrade, trial } = upgradePath(links, 'max', 'audit_export');
    expect(trial?.url).toBe('https://app.example/trial/max');
    expect(upgrade?.url).toBe('https://app.example/checkout?tier=max');
  });

  it('a feature the plan includes is confirmed, not sold', () => {
    const d = draftOffline(
      draftInput('HubSpot', 'How do I set up HubSpot sync?', [directory('Acme', 'scale'), ...catalog]),
    );
    expect(d.reply).toContain('HubSpot sync is included in the Scale plan');
    expect(d.reply).not.toContain('upgrade');
  });
});
