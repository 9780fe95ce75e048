/**
 * Stand-in for Node-only modules in the Workers bundle (wrangler.toml `[alias]`): the embedded
 * PGlite database. src/db/client.ts imports it lazily and only without DATABASE_URL, which the
 * Worker always has (Hyperdrive), so reaching this is a wiring bug.
 */
function unavailable(): never {
  throw new Error(
    'PGlite is not available on Cloudflare Workers: the Worker uses PostgreSQL through Hyperdrive',
  );
}
export const PGlite = { create: unavailable };
export const drizzle = unavailable;
export const migrate = unavailable;
