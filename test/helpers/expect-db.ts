import { expect } from 'vitest';
import { dbErrorMessage } from '../../src/lib/errors.ts';

/** Asserts that a database call fails with the database's own message matching `re`. */
export async function expectDbError(p: Promise<unknown>, re: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected the database to refuse').toBeInstanceOf(Error);
  expect(dbErrorMessage(err)).toMatch(re);
}
