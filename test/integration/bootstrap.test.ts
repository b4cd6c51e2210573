import { isNull } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { ensureAdministrator, FIRST_START_TOKEN_NAME } from '../../src/auth/bootstrap.js';
import { revokeToken } from '../../src/auth/token-admin.js';
import { TOKEN_PATTERN } from '../../src/auth/tokens.js';
import { ConfigError } from '../../src/config.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { tokens } from '../../src/db/schema.js';
import type { Deps } from '../../src/deps.js';
import { UnauthenticatedError } from '../../src/errors.js';
import { createEventHub } from '../../src/events/hub.js';
import { createLocalSignal } from '../../src/events/signal.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// The administrator a fresh deployment starts with: its token is an ordinary one.

let database: TestDatabase;
let handle: DatabaseHandle;

async function fresh() {
  database = await createTestDatabase();
  handle = createDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  await handle.migrate();
  const auth = createAuthenticator(handle.db, { failuresPerMinute: 0 });
  const deps = { db: handle.db, hub: createEventHub(handle.db, createLocalSignal()), auth } as Pick<Deps, 'db' | 'hub' | 'auth'>;
  return { auth, deps };
}

afterEach(async () => {
  await handle?.close();
  await database?.drop();
});

describe('the bootstrap administrator', () => {
  it('gets, on a first start without ADMIN_TOKEN, an ordinary named token that can be revoked', async () => {
    const { auth, deps } = await fresh();
    const first = await ensureAdministrator(handle.db, undefined);
    expect(first.generatedToken).toMatch(new RegExp(`^${TOKEN_PATTERN.source}$`));
    expect((await ensureAdministrator(handle.db, undefined)).generatedToken).toBeNull();
    const session = await auth.authenticate(first.generatedToken!, undefined);
    expect(session.principal.roles).toEqual(['ADMIN']);
    const [row] = await handle.db.select().from(tokens);
    expect(row!.name).toBe(FIRST_START_TOKEN_NAME);

    await revokeToken(deps, session.principal, { tokenId: row!.id });
    await expect(auth.authenticate(first.generatedToken!, undefined)).rejects.toBeInstanceOf(UnauthenticatedError);
    await auth.stop();
  });

  it('refuses to start with an ADMIN_TOKEN that was revoked, and replaces only the old ADMIN_TOKEN when it changes', async () => {
    const { auth, deps } = await fresh();
    await ensureAdministrator(handle.db, 'the-first-admin-token-0123');
    const admin = (await auth.authenticate('the-first-admin-token-0123', undefined)).principal;
    const rotated = await ensureAdministrator(handle.db, 'the-second-admin-token-0123');
    expect(rotated.events.map((event) => event.type)).toEqual(['TOKEN_ROTATED']);
    await deps.auth.principalChanged(admin.id);
    await expect(auth.authenticate('the-first-admin-token-0123', undefined)).rejects.toBeInstanceOf(UnauthenticatedError);

    const [live] = await handle.db.select().from(tokens).where(isNull(tokens.revokedAt));
    await revokeToken(deps, (await auth.authenticate('the-second-admin-token-0123', undefined)).principal, { tokenId: live!.id });
    const restart = ensureAdministrator(handle.db, 'the-second-admin-token-0123');
    await expect(restart).rejects.toBeInstanceOf(ConfigError);
    await expect(restart).rejects.toThrow('ADMIN_TOKEN: this token was revoked');
    await auth.stop();
  });
});
