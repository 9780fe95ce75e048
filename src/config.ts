import { z } from 'zod';

/**
 * The environment, parsed once at the entry. Nothing else in src/ reads `process.env`:
 * services receive the parsed `Config` (or the parts they need) through `createApp(deps)`.
 */
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const base64Key = z
  .string()
  .trim()
  .refine((s) => /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32, {
    message: 'must be 32 bytes, base64-encoded (44 characters, e.g. `openssl rand -base64 32`)',
  });

/** `ENCRYPTION_KEY`: one base64 key (version 1), or `VERSION:KEY` pairs separated by commas for rotation. */
const encryptionKeys = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    const parts = raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const keys: { version: number; key: string }[] = [];
    for (const [i, part] of parts.entries()) {
      const m = /^(\d{1,4}):(.+)$/.exec(part);
      const version = m ? Number(m[1]) : parts.length === 1 ? 1 : Number.NaN;
      const key = m ? m[2]! : part;
      if (!Number.isInteger(version) || version < 1) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1}: with several keys, write each as VERSION:KEY (e.g. 2:abc...=,1:def...=)`,
        });
        return z.NEVER;
      }
      const parsed = base64Key.safeParse(key);
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: `entry ${i + 1}: must be 32 bytes, base64-encoded (44 characters, e.g. \`openssl rand -base64 32\`)`,
        });
        return z.NEVER;
      }
      keys.push({ version, key });
    }
    if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must hold at least one key' });
      return z.NEVER;
    }
    if (new Set(keys.map((k) => k.version)).size !== keys.length) {
      ctx.addIssue({ code: 'custom', message: 'key versions must be unique' });
      return z.NEVER;
    }
    return keys.sort((a, b) => b.version - a.version);
  });

const httpUrl = z
  .string()
  .trim()
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be an absolute http(s) URL' },
  )
  .transform((s) => s.replace(/\/+$/, ''));

const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envSchema = z
  .object({
    PORT: z.coerce.number({ message: 'must be a port number' }).int().min(1).max(65535).default(8787),
    HOST: z.string().trim().min(1).default('127.0.0.1'),
    PUBLIC_URL: httpUrl.optional(),
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
        .optional(),
    ),
    DATA_DIR: z.string().trim().min(1).default('./.data'),
    ENCRYPTION_KEY: optionalString.pipe(encryptionKeys.optional()),
    SLACK_CLIENT_ID: optionalString,
    SLACK_CLIENT_SECRET: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    ZENDESK_CLIENT_ID: optionalString,
    ZENDESK_CLIENT_SECRET: optionalString,
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalString.pipe(httpUrl.optional()),
    LOG_LEVEL: z
      .enum(['debug', 'info', 'warn', 'error', 'silent'], {
        message: 'must be one of debug, info, warn, error, silent',
      })
      .default('info'),
    WORKER_ENABLED: boolFlag.default(true),
    TENANT_RETENTION_DAYS: z.coerce
      .number({ message: 'must be a whole number of days' })
      .int()
      .min(0)
      .max(3650)
      .default(30),
    CONTEXT_API_ALLOW_PRIVATE: boolFlag.default(false),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL && !env.ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ENCRYPTION_KEY'],
        message:
          'is required when DATABASE_URL is set (32 bytes, base64; generate with `openssl rand -base64 32`)',
      });
    }
    const pairs: [string, string | undefined, string, string | undefined][] = [
      ['SLACK_CLIENT_ID', env.SLACK_CLIENT_ID, 'SLACK_CLIENT_SECRET', env.SLACK_CLIENT_SECRET],
      ['ZENDESK_CLIENT_ID', env.ZENDESK_CLIENT_ID, 'ZENDESK_CLIENT_SECRET', env.ZENDESK_CLIENT_SECRET],
    ];
    for (const [a, av, b, bv] of pairs) {
      if (Boolean(av) !== Boolean(bv)) {
        ctx.addIssue({
          code: 'custom',
          path: [av ? b : a],
          message: `must be set together with ${av ? a : b}`,
        });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface Features {
  slackInstall: boolean;
  slackEvents: boolean;
  zendesk: boolean;
  openai: boolean;
}

export interface Config extends Env {
  PUBLIC_URL: string;
  features: Features;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parse an environment record. Throws ConfigError naming every wrong variable and what it expects.
 * An empty (or blank) variable means unset, as in `.env.example`'s `PUBLIC_URL=`.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const result = envSchema.safeParse(set);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${String(i.path[0] ?? 'environment')} ${i.message}`);
    throw new ConfigError(problems);
  }
  const e = result.data;
  return {
    ...e,
    PUBLIC_URL: e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.PORT}`,
    features: {
      slackInstall: Boolean(e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET),
      slackEvents: Boolean(e.SLACK_SIGNING_SECRET),
      zendesk: Boolean(e.ZENDESK_CLIENT_ID && e.ZENDESK_CLIENT_SECRET),
      openai: Boolean(e.OPENAI_API_KEY),
    },
  };
}

/** Human-readable feature summary for the startup log. */
export function describeFeatures(f: Features): Record<string, string> {
  return {
    slackInstall: f.slackInstall ? 'on' : 'off (set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)',
    slackEvents: f.slackEvents ? 'on' : 'off (set SLACK_SIGNING_SECRET)',
    zendesk: f.zendesk ? 'on' : 'off (set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET)',
    drafter: f.openai ? 'openai' : 'offline (set OPENAI_API_KEY for the OpenAI drafter)',
  };
}
