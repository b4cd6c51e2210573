import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import type { DatabaseClock } from '../db/clock.js';
import { principals, tokens } from '../db/schema.js';
import { RateLimitedError, UnauthenticatedError } from '../errors.js';
import { createLogger, logError } from '../observability/logger.js';
import { TokenBuckets } from '../quotas/token-buckets.js';
import type { Principal } from './roles.js';
import { hashToken } from './tokens.js';

/**
 * An authenticated caller: who, and with which token. `principal` is this instance's one live
 * object for that principal, updated in place when it changes (roles, groups, disabled), so open
 * connections and their subscriptions follow a change without authenticating again.
 */
export interface Session {
  readonly principal: Principal;
  readonly tokenId: string;
  readonly tokenHash: string;
  readonly expiresAt: Date | null;
}

/**
 * The one way in, for every transport (HTTP, WebSocket, the audit export, any later one). It
 * reads the database only on a cache miss: tokens and principals are kept in memory and dropped
 * when they change, here (right after the commit, by the service that changed them) and on every
 * other instance (through the event hub, which delivers the change's audit event within about a
 * second). `lastUsedAt` is kept in memory too and written in batches.
 */
export interface Authenticator {
  /**
   * The session of a bearer token. Throws UnauthenticatedError (unknown, revoked or expired
   * token, disabled principal), or RateLimitedError when `remote` failed too often lately.
   */
  authenticate(secret: string, remote: string | undefined): Promise<Session>;
  /**
   * Throws UnauthenticatedError unless the session still stands (token live, principal enabled).
   * `fresh` reads the token and principal from the database instead of the cache, for work that
   * must not run even in the second before another instance's revocation reaches this one.
   */
  verify(session: Session, options?: { fresh?: boolean }): Promise<void>;
  /** After a commit that changed a principal or its tokens: forget what is cached, tell listeners. */
  principalChanged(principalId: string): Promise<void>;
  /** Called with a principal's id after each change (sockets re-check their sessions). */
  onChange(listener: (principalId: string) => void): () => void;
  /** When a token last authenticated on this instance, if not yet written to the database. */
  lastUsedAt(tokenId: string): Date | null;
  /** The time tokens are judged by (the database's, when given its clock). */
  now(): Date;
  /** Writes the `lastUsedAt` times gathered since the last write. */
  flush(): Promise<void>;
  /** Writes pending `lastUsedAt` times and stops the periodic write. */
  stop(): Promise<void>;
}

export interface AuthenticatorOptions {
  /** Failed authentications allowed per remote address and minute before it is refused for a while (0: no limit). */
  failuresPerMinute: number;
  /** Whose time judges a token's expiry: the database's (default: this instance's own clock). */
  clock?: Pick<DatabaseClock, 'now'>;
  /** How long a cached token is trusted without a change event (a safety net; default 5 minutes). */
  cacheTtlMs?: number;
  /** How often `lastUsedAt` is written (default 60 s). */
  lastUsedFlushMs?: number;
  onError?: (error: unknown) => void;
}

interface CachedToken {
  tokenId: string;
  principalId: string;
  expiresAt: Date | null;
  revoked: boolean;
  loadedAt: number;
}

const MAX_CACHED_TOKENS = 50_000;

export function createAuthenticator(db: Executor, options: AuthenticatorOptions): Authenticator {
  const cacheTtlMs = options.cacheTtlMs ?? 300_000; // 5 minutes
  const now = () => options.clock?.now() ?? new Date();
  const onError = options.onError ?? ((error) => logError(createLogger(), 'auth', error));
  const failures = options.failuresPerMinute > 0 ? new TokenBuckets({ capacity: options.failuresPerMinute, periodMs: 60_000 }) : null;
  const cached = new Map<string, CachedToken>();
  const live = new Map<string, Principal>();
  const listeners = new Set<(principalId: string) => void>();
  const lastUsed = new Map<string, Date>();
  // Bumped by every change: a read that started before a change must not be cached after it.
  let epoch = 0;
  const refreshing = new Map<string, Promise<void>>();

  /** The live object of a principal, refreshed from `row`. */
  const liveOf = (row: Principal): Principal => {
    const existing = live.get(row.id);
    if (!existing) {
      live.set(row.id, row);
      return row;
    }
    Object.assign(existing, row);
    return existing;
  };

  /**
   * The token's cache entry, read from the database on a miss (or when `fresh`). A read that a
   * change overtook may predate it: it is read again (twice at most), and never written over the
   * live principal, which `principalChanged` refreshes itself.
   */
  async function lookup(hash: string, fresh = false): Promise<CachedToken | null> {
    const hit = cached.get(hash);
    if (hit && !fresh && performance.now() - hit.loadedAt < cacheTtlMs) return hit;
    let startedAt = epoch;
    let row = await readToken(hash);
    for (let again = 0; again < 2 && startedAt !== epoch; again++) {
      startedAt = epoch;
      row = await readToken(hash);
    }
    if (!row) return null;
    if (startedAt === epoch || !live.has(row.principal.id)) liveOf(row.principal);
    const entry: CachedToken = {
      tokenId: row.tokenId,
      principalId: row.principal.id,
      expiresAt: row.expiresAt,
      revoked: row.revokedAt !== null,
      loadedAt: performance.now(),
    };
    if (startedAt === epoch) {
      cached.delete(hash);
      cached.set(hash, entry);
      if (cached.size > MAX_CACHED_TOKENS) cached.delete(cached.keys().next().value!);
    }
    return entry;
  }

  async function readToken(hash: string) {
    const [row] = await db
      .select({ tokenId: tokens.id, expiresAt: tokens.expiresAt, revokedAt: tokens.revokedAt, principal: principals })
      .from(tokens)
      .innerJoin(principals, eq(tokens.principalId, principals.id))
      .where(eq(tokens.tokenHash, hash))
      .limit(1);
    return row ?? null;
  }

  /** The session of a cached token, or the reason there is none. */
  function check(entry: CachedToken | null, hash: string): Session {
    if (!entry || entry.revoked) throw new UnauthenticatedError('UNKNOWN');
    const at = now();
    if (entry.expiresAt && entry.expiresAt.getTime() <= at.getTime()) throw new UnauthenticatedError('EXPIRED');
    const principal = live.get(entry.principalId)!;
    if (principal.disabledAt !== null) throw new UnauthenticatedError('DISABLED');
    lastUsed.set(entry.tokenId, at);
    return { principal, tokenId: entry.tokenId, tokenHash: hash, expiresAt: entry.expiresAt };
  }

  const timer = setInterval(() => void flush().catch(onError), options.lastUsedFlushMs ?? 60_000);
  timer.unref();

  async function flush(): Promise<void> {
    if (lastUsed.size === 0) return;
    const batch = [...lastUsed];
    lastUsed.clear();
    try {
      await db.execute(sql`
        UPDATE ${tokens} SET last_used_at = used.at
        FROM unnest(${`{${batch.map(([id]) => id).join(',')}}`}::uuid[], ${`{${batch.map(([, at]) => `"${at.toISOString()}"`).join(',')}}`}::timestamptz[]) AS used(id, at)
        WHERE ${tokens.id} = used.id AND (${tokens.lastUsedAt} IS NULL OR ${tokens.lastUsedAt} < used.at)`);
    } catch (error) {
      // Kept for the next write, unless newer times came meanwhile.
      for (const [id, at] of batch) if (!lastUsed.has(id)) lastUsed.set(id, at);
      throw error;
    }
  }

  return {
    async authenticate(secret, remote) {
      const hash = hashToken(secret);
      // What a throttled address is refused is the look-up of tokens this instance does not know
      // (guesses). A token it holds as valid still works: callers behind one proxy or NAT must not
      // be locked out by one of them guessing.
      const known = cached.get(hash);
      const wait = remote && failures && !(known && !known.revoked) ? failures.wait(remote) : 0;
      if (wait > 0) throw new RateLimitedError('Too many failed authentications from your address; wait before trying again.', wait);
      try {
        return check(await lookup(hash), hash);
      } catch (error) {
        if (error instanceof UnauthenticatedError && remote && failures) failures.take(remote);
        throw error;
      }
    },
    async verify(session, options) {
      const entry = await lookup(session.tokenHash, options?.fresh);
      if (entry && entry.tokenId !== session.tokenId) throw new UnauthenticatedError('UNKNOWN');
      check(entry, session.tokenHash);
    },
    async principalChanged(principalId) {
      epoch++;
      for (const [hash, entry] of cached) if (entry.principalId === principalId) cached.delete(hash);
      if (live.has(principalId)) {
        // One refresh of a principal at a time, in order: an earlier read never lands after a later one.
        const previous = (refreshing.get(principalId) ?? Promise.resolve()).catch(() => undefined);
        const refresh = previous.then(async () => {
          const [row] = await db.select().from(principals).where(eq(principals.id, principalId));
          if (row) liveOf(row);
        });
        refreshing.set(principalId, refresh);
        try {
          await refresh;
        } finally {
          if (refreshing.get(principalId) === refresh) refreshing.delete(principalId);
        }
      }
      for (const listener of listeners) {
        try {
          listener(principalId);
        } catch (error) {
          onError(error);
        }
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lastUsedAt: (tokenId) => lastUsed.get(tokenId) ?? null,
    now,
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
