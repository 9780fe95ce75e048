import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The scenario runner as a user runs it: a child process, with a local OpenAI-compatible stub
 * (a real HTTP server on 127.0.0.1) standing in for the model server.
 */
const cli = fileURLToPath(new URL('../scenario/cli.ts', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/scenarios/unknown-names-a-company.json', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scenario runner (CLI)', () => {
  let stub: Server;
  let base = '';
  const prompts: string[] = [];
  beforeAll(async () => {
    stub = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        prompts.push(body);
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: 'c1',
            object: 'chat.completion',
            created: 1,
            model: 'stub-model',
            choices: [
              {
                index: 0,
                finish_reason: 'stop',
                message: {
                  role: 'assistant',
                  content: JSON.stringify({
                    reply:
                      'Hi, thanks for writing. We could not match your email address to an account: could you tell us the name of your workspace and write from the address registered there?',
                    citedFactIds: [],
                    confidence: 0.6,
                    needsHumanReason: null,
                  }),
                },
              },
            ],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => stub.close(() => r())));

  it('--help prints the usage and exits 0; no file is a usage error (2)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('OPENAI_BASE_URL');
    const none = await run([]);
    expect(none.code).toBe(2);
  }, 60_000);

  it('uses the OpenAI-compatible server when OPENAI_API_KEY is set: progress and "N/M passed" on stderr, context.missing and timings in the JSON line', async () => {
    const r = await run([fixture], { OPENAI_API_KEY: 'sk-stub', OPENAI_BASE_URL: base });
    expect(r.stderr).toMatch(/\[1\/1\] pass unknown-names-a-company/);
    expect(r.stderr.trim().split('\n').pop()).toBe('1/1 passed');
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ id: 'unknown-names-a-company', pass: true, drafter: 'openai', missing: [] });
    expect(line.timings).toEqual(
      expect.objectContaining({ total: expect.any(Number), context: expect.any(Number) }),
    );
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('LEVEL: unknown');
  }, 120_000);
});
