import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('config', () => {
  it('defaults: embedded database, port 8787, every integration off', () => {
    const c = parseConfig({});
    expect(c.PORT).toBe(8787);
    expect(c.DATA_DIR).toBe('./.data');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.PUBLIC_URL).toBe('http://127.0.0.1:8787');
    expect(c.features).toEqual({ slackInstall: false, slackEvents: false, zendesk: false, openai: false });
  });

  it('features turn on with their credentials', () => {
    const c = parseConfig({
      SLACK_CLIENT_ID: 'id',
      SLACK_CLIENT_SECRET: 's',
      SLACK_SIGNING_SECRET: 'sig',
      ZENDESK_CLIENT_ID: 'z',
      ZENDESK_CLIENT_SECRET: 'zs',
      OPENAI_API_KEY: 'sk-test',
    });
    expect(c.features).toEqual({ slackInstall: true, slackEvents: true, zendesk: true, openai: true });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT must be a port number/],
    [{ PORT: '70000' }, /^PORT /],
    [{ PUBLIC_URL: 'not a url' }, /^PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ PUBLIC_URL: 'ftp://x.example' }, /^PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ DATABASE_URL: 'mysql://x', ENCRYPTION_KEY: KEY }, /^DATABASE_URL must be a postgres:\/\//],
    [{ DATABASE_URL: 'postgres://db/x' }, /^ENCRYPTION_KEY is required when DATABASE_URL is set/],
    [{ ENCRYPTION_KEY: 'short' }, /^ENCRYPTION_KEY entry 1: must be 32 bytes, base64-encoded/],
    [
      { ENCRYPTION_KEY: `${KEY},${KEY}` },
      /^ENCRYPTION_KEY entry 1: with several keys, write each as VERSION:KEY/,
    ],
    [{ ENCRYPTION_KEY: `1:${KEY},1:${KEY}` }, /^ENCRYPTION_KEY key versions must be unique/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of debug, info, warn, error, silent/],
    [{ SLACK_CLIENT_ID: 'id' }, /^SLACK_CLIENT_SECRET must be set together with SLACK_CLIENT_ID/],
    [{ ZENDESK_CLIENT_SECRET: 's' }, /^ZENDESK_CLIENT_ID must be set together with ZENDESK_CLIENT_SECRET/],
    [{ OPENAI_BASE_URL: 'localhost:11434' }, /^OPENAI_BASE_URL must be an absolute http\(s\) URL/],
    [{ TENANT_RETENTION_DAYS: '-1' }, /^TENANT_RETENTION_DAYS /],
    [{ WORKER_ENABLED: 'maybe' }, /^WORKER_ENABLED /],
  ])('%o is refused with a message naming the variable', (env, message) => {
    const p = problems(env as Record<string, string>);
    expect(p.length).toBeGreaterThan(0);
    expect(p.join('\n')).toMatch(message);
  });

  it('rotation keys are ordered newest first', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const c = parseConfig({ ENCRYPTION_KEY: `1:${KEY},2:${other}` });
    expect(c.ENCRYPTION_KEY?.map((k) => k.version)).toEqual([2, 1]);
  });

  it('reports every bad variable at once', () => {
    expect(problems({ PORT: 'x', LOG_LEVEL: 'y' }).length).toBe(2);
  });
});
