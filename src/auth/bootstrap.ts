import { and, eq, isNull, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import { ConfigError } from '../config.js';
import type { Database } from '../db/client.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import { principals, tokens, type AuditEventRow } from '../db/schema.js';
import { countAdministrators, insertPrincipal } from './principals.js';
import { generateToken, hashToken } from './tokens.js';

/** Marks the principal that `ADMIN_TOKEN` authenticates as. */
export const BOOTSTRAP_LABEL = 'greenlight/bootstrap';
/** The name of the bootstrap administrator's token that `ADMIN_TOKEN` sets. */
export const ADMIN_TOKEN_NAME = 'ADMIN_TOKEN';
/** The name of the token printed on a first start without `ADMIN_TOKEN`: an ordinary token, revocable. */
export const FIRST_START_TOKEN_NAME = 'first-start';
// Serialises bootstrap across instances starting at once against one database.
const BOOTSTRAP_LOCK_KEY = ADVISORY_LOCKS.bootstrap;

export interface BootstrapResult {
  /** A freshly generated administrator token to print once; null when none was created. */
  generatedToken: string | null;
  events: AuditEventRow[];
}

/**
 * Makes sure someone can administer the service:
 * - with `ADMIN_TOKEN`, that token authenticates as the bootstrap administrator (created on first
 *   start; when the variable changes, the token the old value set is revoked and the new one
 *   takes its place; the administrator's other tokens stay). A value whose token was revoked
 *   (`revokeToken`) is refused: revocation is not undone by a restart.
 * - without it, when no enabled administrator exists, one is created and its token returned once.
 */
export async function ensureAdministrator(db: Database, adminToken: string | undefined): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
    if (adminToken) {
      const [known] = await tx
        .select({ revokedAt: tokens.revokedAt })
        .from(tokens)
        .where(eq(tokens.tokenHash, hashToken(adminToken)));
      if (known?.revokedAt) {
        throw new ConfigError(
          'ADMIN_TOKEN: this token was revoked; set ADMIN_TOKEN to a new secret (or unset it and use another administrator).',
        );
      }
      if (known) return { generatedToken: null, events: [] };
      const [existing] = await tx
        .select()
        .from(principals)
        .where(sql`${principals.labels} ->> ${BOOTSTRAP_LABEL} = 'true'`)
        .limit(1);
      if (!existing) {
        const created = await insertPrincipal(
          tx,
          null,
          { kind: 'HUMAN', name: 'bootstrap-admin', roles: ['ADMIN'], labels: { [BOOTSTRAP_LABEL]: 'true' } },
          adminToken,
          ADMIN_TOKEN_NAME,
        );
        return { generatedToken: null, events: created.events };
      }
      const revoked = await tx
        .update(tokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(tokens.principalId, existing.id), eq(tokens.name, ADMIN_TOKEN_NAME), isNull(tokens.revokedAt)))
        .returning({ id: tokens.id });
      await tx.insert(tokens).values({ principalId: existing.id, name: ADMIN_TOKEN_NAME, tokenHash: hashToken(adminToken) });
      const events = await appendAuditEvents(tx, [
        { type: 'TOKEN_ROTATED', actorId: null, data: { principalId: existing.id, revokedTokens: revoked.length } },
      ]);
      return { generatedToken: null, events };
    }
    if ((await countAdministrators(tx)) > 0) return { generatedToken: null, events: [] };
    const created = await insertPrincipal(
      tx,
      null,
      { kind: 'HUMAN', name: 'admin', roles: ['ADMIN'] },
      generateToken(),
      FIRST_START_TOKEN_NAME,
    );
    return { generatedToken: created.token, events: created.events };
  });
}
