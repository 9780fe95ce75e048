import { describe, expect, it } from 'vitest';
import { AppError, describeError } from '../../src/lib/errors.ts';
import { createLogger, redact } from '../../src/lib/logger.ts';

describe('log redaction', () => {
  it('masks values under secret-looking keys, at any depth, but keeps flags', () => {
    const out = redact({
      access_token: 'abc',
      nested: { refreshToken: 'def', headers: { Authorization: 'Basic Zm9v' }, code_verifier: 'v' },
      webhookSecret: 'whsec',
      tokenRevoked: true,
      ticketId: '42',
    });
    expect(out).toEqual({
      access_token: '[redacted]',
      nested: {
        refreshToken: '[redacted]',
        headers: { Authorization: '[redacted]' },
        code_verifier: '[redacted]',
      },
      webhookSecret: '[redacted]',
      tokenRevoked: true,
      ticketId: '42',
    });
  });

  it('masks credential-shaped strings wherever they appear', () => {
    const line = redact(
      'got xoxe.xoxb-1-abcdefghijkl and xoxb-123456789-abcdef, header Bearer eyJhbGciOiJIUzI1NiJ9.x.y, key sk-proj-abcdefghijklmnopqrstu, sealed v1.2.AAAAAAAAAAAA.BBBBBBBBBBBBBB',
    ) as string;
    for (const secret of [
      'xoxe.xoxb-1-abcdefghijkl',
      'xoxb-123456789',
      'eyJhbGci',
      'sk-proj-abcdef',
      'v1.2.AAAA',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('got [redacted]');
  });

  it('the logger writes one JSON object per line with the redaction applied', () => {
    const lines: string[] = [];
    const log = createLogger('info', { service: 't' }, (l) => lines.push(l)).child({ tenantId: 'tn_x' });
    log.debug('hidden');
    log.info('refreshed', { token: 'xoxb-secret-value-123', detail: 'Bearer abcdefghijkl' });
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({
      level: 'info',
      msg: 'refreshed',
      service: 't',
      tenantId: 'tn_x',
      token: '[redacted]',
    });
    expect(lines[0]).not.toContain('secret-value');
    expect(lines[0]).not.toContain('abcdefghijkl');
  });

  it('describeError keeps the database message and drops the SQL and its parameters', () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      code: '23505',
    });
    const wrapped = new Error('Failed query: insert into t values ($1)\nparams: v1.1.sealedtoken.abc', {
      cause,
    });
    wrapped.name = 'DrizzleQueryError';
    expect(describeError(wrapped)).toBe('DatabaseError: duplicate key value violates unique constraint "x"');
    expect(describeError(new AppError('rate_limited', 'slow down'))).toBe('rate_limited: slow down');
  });
});
