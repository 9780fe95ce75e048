import { createApp } from '../../src/app.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import type { AppDeps } from '../../src/http/types.ts';
import { createLogger, type Logger } from '../../src/lib/logger.ts';
import { createVault, generateMasterKey, type Vault } from '../../src/tenancy/vault.ts';

/** A config for tests: parsed through the real schema from an explicit record (never process.env). */
export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: 'https://copilot.test', ...env });
}

export function testVault(): Vault {
  return createVault([{ version: 1, key: generateMasterKey() }]);
}

/** Log lines captured in memory, for asserting that secrets never reach them. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', {}, (l) => lines.push(l)), lines };
}

export function testApp(database: Database, overrides: Partial<AppDeps> = {}) {
  const deps: AppDeps = {
    config: testConfig(),
    database,
    vault: testVault(),
    logger: createLogger('silent'),
    ...overrides,
  };
  return { app: createApp(deps), deps };
}
