import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { principals, tokens, type TokenRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, requireFutureExpiry } from '../validation.js';
import { commitPrincipalChange } from './principal-admin.js';
import { authorize, can, Permission } from './permissions.js';
import type { Principal } from './roles.js';
import { generateToken, hashToken } from './tokens.js';

/** Tokens one principal may hold at once (revoked ones do not count). */
export const MAX_LIVE_TOKENS = 50;

const IssueTokenInput = z.object({
  principalId: z.string(),
  name: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$/, 'must be 1-100 letters, digits or _ . : @ - (e.g. "ci-deploys")'),
  expiresAt: z.date().nullish(),
});
export type IssueTokenInput = z.input<typeof IssueTokenInput>;

export interface IssuedToken {
  /** Shown once: only its hash is stored. */
  secret: string;
  token: TokenRow;
}

/**
 * Whose tokens the viewer may manage: its own always (so a principal rotates its tokens without
 * an administrator), anyone's with ADMIN. Anyone else's are "not found", so their existence leaks
 * nothing.
 */
function mayManage(viewer: Principal, principalId: string): boolean {
  return principalId === viewer.id ? can(viewer, Permission.ManageOwnTokens) : can(viewer, Permission.ManagePrincipals);
}

/**
 * Issues a new named token to a principal; its secret is returned once. A token a principal
 * issues itself never outlives the token it authenticated with (`issuerExpiresAt`): a stolen
 * short-lived token cannot mint itself a permanent one.
 */
export async function issueToken(
  deps: Pick<Deps, 'db' | 'hub' | 'auth' | 'clock'>,
  viewer: Principal,
  raw: IssueTokenInput,
  issuerExpiresAt: Date | null = null,
): Promise<IssuedToken> {
  authorize(viewer, Permission.ManageOwnTokens);
  const input = parseInput(IssueTokenInput, raw);
  requireFutureExpiry('expiresAt', input.expiresAt, deps.clock.now());
  if (!isUuid(input.principalId) || !mayManage(viewer, input.principalId)) throw new NotFoundError('Principal', input.principalId);
  if (input.principalId === viewer.id && issuerExpiresAt) {
    if (input.expiresAt && input.expiresAt > issuerExpiresAt) {
      throw InvalidInputError.of('expiresAt', `must not be after ${issuerExpiresAt.toISOString()}, when the token you use expires`);
    }
    input.expiresAt ??= issuerExpiresAt;
  }
  const secret = generateToken();
  const token = await commitPrincipalChange(deps, input.principalId, async (tx) => {
    const [principal] = await tx.select({ id: principals.id }).from(principals).where(eq(principals.id, input.principalId)).for('update');
    if (!principal) throw new NotFoundError('Principal', input.principalId);
    const live = and(eq(tokens.principalId, principal.id), isNull(tokens.revokedAt));
    const [{ n }] = (await tx.select({ n: count() }).from(tokens).where(live)) as [{ n: number }];
    if (n >= MAX_LIVE_TOKENS) throw new ConflictError(`The principal already holds ${MAX_LIVE_TOKENS} tokens: revoke one first.`);
    const [taken] = await tx
      .select({ id: tokens.id })
      .from(tokens)
      .where(and(live, eq(tokens.name, input.name)));
    if (taken) throw InvalidInputError.of('name', `a token named "${input.name}" is already live: revoke it or choose another name`);
    const [row] = await tx
      .insert(tokens)
      .values({ principalId: principal.id, name: input.name, tokenHash: hashToken(secret), expiresAt: input.expiresAt ?? null })
      .returning();
    return {
      result: row!,
      events: [
        {
          type: 'TOKEN_ISSUED',
          actorId: viewer.id,
          data: { principalId: principal.id, tokenId: row!.id, name: row!.name, expiresAt: row!.expiresAt?.toISOString() ?? null },
        },
      ],
    };
  });
  return { secret, token };
}

/**
 * Revokes a token: it stops working at once on this instance and within about a second on every
 * other one, where its open sockets are closed with 4403.
 */
export async function revokeToken(deps: Pick<Deps, 'db' | 'hub' | 'auth'>, viewer: Principal, raw: { tokenId: string }): Promise<TokenRow> {
  authorize(viewer, Permission.ManageOwnTokens);
  const [found] = isUuid(raw.tokenId) ? await deps.db.select().from(tokens).where(eq(tokens.id, raw.tokenId)) : [];
  if (!found || !mayManage(viewer, found.principalId)) throw new NotFoundError('Token', raw.tokenId);
  return commitPrincipalChange(deps, found.principalId, async (tx) => {
    const [row] = await tx.select().from(tokens).where(eq(tokens.id, found.id)).for('update');
    if (row!.revokedAt) throw new ConflictError('The token is already revoked.', 'REVOKED');
    const [revoked] = await tx
      .update(tokens)
      .set({ revokedAt: sql`now()` })
      .where(eq(tokens.id, found.id))
      .returning();
    return {
      result: revoked!,
      events: [
        { type: 'TOKEN_REVOKED', actorId: viewer.id, data: { principalId: found.principalId, tokenId: found.id, name: found.name } },
      ],
    };
  });
}

/** A principal's tokens, oldest first, never their secrets: for the principal itself or an ADMIN; null otherwise. */
export async function listTokens(deps: Pick<Deps, 'db'>, viewer: Principal, principalId: string): Promise<TokenRow[] | null> {
  const allowed = principalId === viewer.id ? can(viewer, Permission.ManageOwnTokens) : can(viewer, Permission.ReadPrincipals);
  if (!allowed) return null;
  return deps.db.select().from(tokens).where(eq(tokens.principalId, principalId)).orderBy(asc(tokens.createdAt), asc(tokens.id));
}
