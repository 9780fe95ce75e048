/**
 * `npm run zendesk-app:package`: writes the sidebar's Zendesk app package (src/zendesk/app-package.ts)
 * to dist/zendesk-app.zip, with the sidebar's location URL set to `PUBLIC_URL/zendesk/sidebar`.
 *
 * Usage: PUBLIC_URL=https://copilot.example.com node scripts/package-zendesk-app.ts [out.zip]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildZendeskAppZip } from '../src/zendesk/app-package.ts';

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ?? 'dist/zendesk-app.zip';
  const publicUrl = process.env.PUBLIC_URL;
  if (!publicUrl) {
    console.error('Set PUBLIC_URL (the https URL Zendesk reaches this server at).');
    process.exit(2);
  }
  try {
    const bytes = buildZendeskAppZip(publicUrl);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, bytes);
    console.log(
      `wrote ${out} (${bytes.length} bytes), sidebar at ${publicUrl.replace(/\/+$/, '')}/zendesk/sidebar`,
    );
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
