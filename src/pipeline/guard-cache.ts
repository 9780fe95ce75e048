/**
 * The leak guard's matchers, kept per (tenant, directory version) in one least-recently-used
 * cache across tenants, bounded by entry count and by an estimate of their size.
 *
 * The version comes from the database (`directory_versions`, changed by triggers in the same
 * transaction as any directory write, to a value never used before), so a process never serves
 * a matcher of a directory another process has since changed: it reads the version first and
 * misses. When a tenant's version changes, its older entries are dropped at once.
 *
 * Concurrent misses for one key share one build. Builds run in the caller's transaction.
 */
export interface MatcherCacheOptions {
  /** Most entries kept (default 256). */
  maxEntries?: number;
  /** Most estimated bytes kept (default 256 MiB); a single larger entry is built, used, not kept. */
  maxWeight?: number;
}

export interface Weighed {
  readonly weight: number;
}

export interface MatcherCache {
  /** The value for (tenant, version, key), built by `build` on a miss. */
  get<T extends Weighed>(tenantId: string, version: string, key: string, build: () => Promise<T>): Promise<T>;
  /** Entries and estimated bytes held; builds run so far (for tests and the benchmark). */
  stats(): { entries: number; weight: number; builds: number };
  clear(): void;
}

interface Slot {
  tenantId: string;
  value: Promise<Weighed>;
  weight: number;
}

export function createMatcherCache(opts: MatcherCacheOptions = {}): MatcherCache {
  const maxEntries = Math.max(1, opts.maxEntries ?? 256);
  const maxWeight = opts.maxWeight ?? 256 * 1024 * 1024;
  /** Map order is the LRU order (oldest first). */
  const slots = new Map<string, Slot>();
  const versions = new Map<string, string>();
  let weight = 0;
  let builds = 0;

  const drop = (key: string) => {
    const slot = slots.get(key);
    if (!slot) return;
    weight -= slot.weight;
    slots.delete(key);
  };
  const dropTenant = (tenantId: string) => {
    for (const [key, slot] of slots) if (slot.tenantId === tenantId) drop(key);
  };
  const trim = () => {
    while (slots.size > maxEntries || (weight > maxWeight && slots.size > 0))
      drop(slots.keys().next().value!);
  };

  return {
    async get<T extends Weighed>(tenantId: string, version: string, key: string, build: () => Promise<T>) {
      if (versions.get(tenantId) !== version) {
        dropTenant(tenantId);
        versions.delete(tenantId);
        versions.set(tenantId, version);
        while (versions.size > maxEntries * 4) versions.delete(versions.keys().next().value!);
      }
      const id = `${tenantId}\u0000${version}\u0000${key}`;
      const hit = slots.get(id);
      if (hit) {
        slots.delete(id);
        slots.set(id, hit);
        try {
          return (await hit.value) as T;
        } catch {
          // The build it waited for failed (in another caller's transaction): build here.
          if (slots.get(id) === hit) drop(id);
        }
      }
      builds++;
      const value = build();
      const slot: Slot = { tenantId, value, weight: 0 };
      slots.set(id, slot);
      try {
        const built = await value;
        if (slots.get(id) === slot) {
          slot.weight = built.weight;
          weight += built.weight;
          if (built.weight > maxWeight) drop(id);
          trim();
        }
        return built;
      } catch (e) {
        if (slots.get(id) === slot) drop(id);
        throw e;
      }
    },
    stats: () => ({ entries: slots.size, weight, builds }),
    clear() {
      slots.clear();
      versions.clear();
      weight = 0;
    },
  };
}
