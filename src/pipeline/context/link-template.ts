/**
 * Catalog link templates: named URLs whose placeholders are filled per ticket from the routed
 * account, URL-encoded (`https://app.example/billing?company={account.name}`). Only the fields
 * meant to appear in a link may be named: the account's id, name and plan (`{account.id}`,
 * `{account.name}`, `{account.plan}`, or the short `{id}`, `{name}`, `{plan}`). Anything else
 * (`{account.internalNotes}`, `{account.users}`) is refused when the catalog is saved
 * (`400 placeholder_not_allowed`), and a stored template that names one anyway (saved before
 * this rule) is never filled: the link is left out of the context.
 */
export const LINK_PLACEHOLDER = /\{([A-Za-z0-9_.]+)\}/g;

/** The account fields a link may carry, by placeholder name. */
const ALLOWED: Readonly<Record<string, 'id' | 'name' | 'plan'>> = {
  'account.id': 'id',
  'account.name': 'name',
  'account.plan': 'plan',
  id: 'id',
  name: 'name',
  plan: 'plan',
};

export const ALLOWED_LINK_PLACEHOLDERS = Object.keys(ALLOWED).filter((k) => k.startsWith('account.'));

/** What a link may be filled from: the routed account's id, name and plan, nothing else. */
export interface LinkSource {
  id: string;
  name: string;
  plan: string | null;
}

/** True when `template` has at least one `{...}` placeholder. */
export function hasLinkPlaceholders(template: string): boolean {
  return new RegExp(LINK_PLACEHOLDER.source).test(template);
}

/** The first placeholder of `template` that links may not use, or null. */
export function disallowedLinkPlaceholder(template: string): string | null {
  for (const m of template.matchAll(LINK_PLACEHOLDER)) if (!Object.hasOwn(ALLOWED, m[1]!)) return m[0];
  return null;
}

/**
 * Fills the allowed placeholders from `source`, URL-encoded. Null (leave the link out) when there
 * is no account, a value is missing, or the template names a placeholder links may not use.
 */
export function fillLink(template: string, source: LinkSource | null): string | null {
  let failed = false;
  const out = template.replace(LINK_PLACEHOLDER, (_m, path: string) => {
    const field = Object.hasOwn(ALLOWED, path) ? ALLOWED[path] : undefined;
    const value = source && field ? source[field] : null;
    if (typeof value !== 'string' || value === '') {
      failed = true;
      return '';
    }
    return encodeURIComponent(value);
  });
  return failed ? null : out;
}
