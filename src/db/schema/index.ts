export * from './accounts.ts';
export * from './audit.ts';
export * from './catalog.ts';
export * from './connections.ts';
export * from './drafts.ts';
export * from './jobs.ts';
export * from './sidebar.ts';
export * from './tenants.ts';
