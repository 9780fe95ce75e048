import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { type Config, ConfigError, describeFeatures, parseConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createVault, generateMasterKey, type MasterKey, type Vault } from '../tenancy/vault.ts';
import { DataDirLocked, lockDataDir } from './data-lock.ts';

export interface Runtime {
  config: Config;
  logger: Logger;
  database: Database;
  vault: Vault;
}

/**
 * The process environment, over `./.env` when that file exists (`cp .env.example .env`): a
 * variable set in the environment, even empty, wins over the file. npm scripts run in the
 * package root, so `npm start` finds it.
 */
export function environment(
  env: Record<string, string | undefined> = process.env,
  file = '.env',
): Record<string, string | undefined> {
  if (!existsSync(file)) return env;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...env };
}

/** Parses the environment or exits with the list of wrong variables. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\nSee README.md, "Settings", or .env.example.\n`);
      process.exit(1);
    }
    throw e;
  }
}

/**
 * Master keys: ENCRYPTION_KEY when set. On the embedded database without it, a key generated
 * once into DATA_DIR/encryption.key (mode 0600) with a loud warning. (With DATABASE_URL the
 * config refuses to start without ENCRYPTION_KEY.)
 */
async function masterKeys(config: Config, logger: Logger): Promise<MasterKey[]> {
  if (config.ENCRYPTION_KEY) return config.ENCRYPTION_KEY;
  const file = join(config.DATA_DIR, 'encryption.key');
  let key: string;
  try {
    key = (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(config.DATA_DIR, { recursive: true });
    key = generateMasterKey();
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  }
  const banner = '!'.repeat(78);
  logger.warn(
    `${banner} ENCRYPTION_KEY is not set: secrets are sealed with a key generated into ${file}. Fine for trying the product on the embedded database; anyone who can read that file can open every stored token. Set ENCRYPTION_KEY for real use. ${banner}`,
    { keyFile: file },
  );
  return [{ version: 1, key }];
}

/** Takes the embedded data folder's lock (src/entry/data-lock.ts) or exits with one line naming its holder. */
function lockOrExit(dataDir: string): () => void {
  try {
    return lockDataDir(dataDir);
  } catch (e) {
    if (e instanceof DataDirLocked) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/** `--help` / `-h` among the arguments: the CLIs print their usage and do nothing else. */
export function wantsHelp(argv: string[] = process.argv.slice(2)): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export async function openRuntime(config: Config, opts: { migrate: boolean }): Promise<Runtime> {
  // Before anything reads or writes DATA_DIR: one process per embedded database.
  const release = config.DATABASE_URL ? undefined : lockOrExit(config.DATA_DIR);
  const logger = createLogger(config.LOG_LEVEL, { service: 'helpdesk-copilot' });
  const vault = createVault(await masterKeys(config, logger));
  const opened = await openDatabase(
    config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir: join(config.DATA_DIR, 'pglite') },
  );
  const database: Database = {
    db: opened.db,
    kind: opened.kind,
    migrate: () => opened.migrate(),
    close: async () => {
      try {
        await opened.close();
      } finally {
        release?.();
      }
    },
  };
  if (opts.migrate) await database.migrate();
  logger.info('runtime ready', {
    database: database.kind,
    publicUrl: config.PUBLIC_URL,
    features: describeFeatures(config.features),
  });
  return { config, logger, database, vault };
}
