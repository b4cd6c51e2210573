import { and, count, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disablePrincipal, updatePrincipal } from '../../src/auth/principal-admin.js';
import type { Principal } from '../../src/auth/roles.js';
import { principals } from '../../src/db/schema.js';
import { ConflictError } from '../../src/errors.js';
import { insertPrincipalFor, startTestApp, type TestApp } from '../support/services.js';

// The last enabled ADMIN stays, even when administrators change each other at the same moment.

let test: TestApp;

beforeAll(async () => {
  test = await startTestApp();
});

afterAll(async () => {
  await test?.stop();
});

const enabledAdmins = async () =>
  (
    await test.app.deps.db
      .select({ n: count() })
      .from(principals)
      .where(and(sql`'ADMIN' = ANY(${principals.roles})`, isNull(principals.disabledAt)))
  )[0]!.n;

/** Leaves exactly these two enabled administrators. */
async function onlyAdmins(): Promise<[Principal, Principal]> {
  const a = await insertPrincipalFor(test.app, { kind: 'HUMAN', name: `admin-a-${Math.random()}`, roles: ['ADMIN'] });
  const b = await insertPrincipalFor(test.app, { kind: 'HUMAN', name: `admin-b-${Math.random()}`, roles: ['ADMIN'] });
  const others = (await test.app.deps.db.select().from(principals).where(isNull(principals.disabledAt))).filter(
    (p) => p.roles.includes('ADMIN') && p.id !== a.id && p.id !== b.id,
  );
  for (const other of others) await disablePrincipal(test.app.deps, a, { principalId: other.id });
  expect(await enabledAdmins()).toBe(2);
  return [a, b];
}

describe('the last enabled ADMIN', () => {
  it('stays when two administrators give up the role at once: one succeeds, one gets a ConflictError', async () => {
    const [a, b] = await onlyAdmins();
    const results = await Promise.allSettled([
      updatePrincipal(test.app.deps, a, { principalId: a.id, roles: ['REVIEWER'] }),
      updatePrincipal(test.app.deps, b, { principalId: b.id, roles: ['REVIEWER'] }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await enabledAdmins()).toBe(1);
  });

  it('stays when two administrators disable each other at once, without a deadlock', async () => {
    const [a, b] = await onlyAdmins();
    const results = await Promise.allSettled([
      disablePrincipal(test.app.deps, a, { principalId: b.id }),
      disablePrincipal(test.app.deps, b, { principalId: a.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await enabledAdmins()).toBe(1);
  });
});
