import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_DIR, buildZendeskAppZip, checkZendeskApp } from '../../src/zendesk/app-package.ts';

/** The rules Zendesk applies to an app package (zcli's validation needs Zendesk's servers). */
const copy = () => {
  const dir = mkdtempSync(join(tmpdir(), 'zapp-'));
  cpSync(APP_DIR, dir, { recursive: true });
  return dir;
};
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

describe('zendesk-app package', () => {
  it('zendesk-app/ passes the checks: author, locale, framework 2.0, https location, signed URLs, translations, logo sizes', () => {
    expect(checkZendeskApp()).toEqual([]);
  });

  it('each rule catches its breakage', () => {
    // biome-ignore lint/suspicious/noExplicitAny: manifests broken on purpose.
    const cases: [(m: Record<string, any>) => void, RegExp][] = [
      [(m) => delete m.author, /author/],
      [(m) => delete m.defaultLocale, /defaultLocale/],
      [(m) => (m.frameworkVersion = '1.0'), /frameworkVersion/],
      [
        (m) => (m.location.support.ticket_sidebar.url = 'http://copilot.example.com/zendesk/sidebar'),
        /https/,
      ],
      [(m) => (m.signedUrls = false), /signedUrls/],
    ];
    for (const [breakIt, why] of cases) {
      const m = manifestOf(APP_DIR);
      breakIt(m);
      expect(checkZendeskApp(APP_DIR, m).join('\n')).toMatch(why);
    }
    const noKey = copy();
    writeFileSync(join(noKey, 'translations/en.json'), JSON.stringify({ app: { short_description: 'x' } }));
    expect(checkZendeskApp(noKey).join('\n')).toMatch(/app\.name is required/);
    const badLogo = copy();
    cpSync(join(APP_DIR, 'assets/logo-small.png'), join(badLogo, 'assets/logo.png'));
    expect(checkZendeskApp(badLogo).join('\n')).toMatch(/logo\.png must be a 320x320 PNG/);
    const link = copy();
    symlinkSync('/etc/hostname', join(link, 'assets/extra.txt'));
    expect(checkZendeskApp(link).join('\n')).toMatch(/symlinks/);
  });

  it('npm run zendesk-app:package builds a zip with PUBLIC_URL in the location, which unzip reads', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'zapp-out-')), 'app.zip');
    execFileSync(process.execPath, ['scripts/package-zendesk-app.ts', out], {
      env: { ...process.env, PUBLIC_URL: 'https://copilot.acme.dev/' },
    });
    const listing = execFileSync('unzip', ['-l', out]).toString();
    for (const f of ['manifest.json', 'translations/en.json', 'assets/logo.png', 'assets/logo-small.png'])
      expect(listing).toContain(f);
    const manifest = JSON.parse(execFileSync('unzip', ['-p', out, 'manifest.json']).toString());
    expect(manifest.location.support.ticket_sidebar.url).toBe('https://copilot.acme.dev/zendesk/sidebar');
    expect(execFileSync('unzip', ['-t', out]).toString()).toMatch(/No errors detected/);
  });

  it('refuses a PUBLIC_URL that is not https', () => {
    expect(() => buildZendeskAppZip('http://copilot.acme.dev')).toThrow(/must be https/);
  });
});
