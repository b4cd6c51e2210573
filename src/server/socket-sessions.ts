import type { Authenticator, Session } from '../auth/authenticator.js';
import { UnauthenticatedError } from '../errors.js';
import { logError, type Logger } from '../observability/logger.js';

/** What this module needs of a WebSocket. */
export interface ClosableSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** graphql-ws's Forbidden: the session no longer stands (revoked or expired token, disabled principal). */
export const FORBIDDEN = 4403;

// setTimeout takes at most 2^31 - 1 ms (about 24.8 days); later expiries are caught by the per-operation check.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The open, authenticated sockets of each principal on this instance. A socket authenticates
 * once, in `connection_init`; after that its session is checked again on every operation, when
 * the principal or its tokens change (here or, through the hub, elsewhere: the socket is closed
 * with 4403 if the session no longer stands) and when its token expires.
 */
export class SocketSessions {
  readonly #auth: Authenticator;
  readonly #maxPerPrincipal: number;
  readonly #byPrincipal = new Map<string, Set<{ session: Session; socket: ClosableSocket }>>();
  readonly #stopWatching: () => void;
  readonly #log: Logger;

  constructor(auth: Authenticator, maxPerPrincipal: number, log: Logger) {
    this.#auth = auth;
    this.#log = log;
    this.#maxPerPrincipal = maxPerPrincipal;
    this.#stopWatching = auth.onChange((principalId) => this.#recheck(principalId));
  }

  /** Registers an authenticated socket; false when its principal already holds the most sockets allowed. */
  admit(session: Session, socket: ClosableSocket): boolean {
    const id = session.principal.id;
    let sockets = this.#byPrincipal.get(id);
    if ((sockets?.size ?? 0) >= this.#maxPerPrincipal) return false;
    if (!sockets) this.#byPrincipal.set(id, (sockets = new Set()));
    const entry = { session, socket };
    sockets.add(entry);
    // At expiry the session is checked (and the socket closed); a far expiry takes several timers.
    let expiry: NodeJS.Timeout | null = null;
    const watchExpiry = (at: Date) => {
      const remaining = at.getTime() - this.#auth.now().getTime();
      expiry = setTimeout(() => (remaining > MAX_TIMER_MS ? watchExpiry(at) : this.#check(entry)), Math.min(MAX_TIMER_MS, remaining + 10));
      expiry.unref();
    };
    if (session.expiresAt) watchExpiry(session.expiresAt);
    socket.once('close', () => {
      if (expiry) clearTimeout(expiry);
      sockets.delete(entry);
      if (sockets.size === 0 && this.#byPrincipal.get(id) === sockets) this.#byPrincipal.delete(id);
    });
    return true;
  }

  #recheck(principalId: string): void {
    for (const entry of this.#byPrincipal.get(principalId) ?? []) this.#check(entry);
  }

  #check(entry: { session: Session; socket: ClosableSocket }): void {
    this.#auth.verify(entry.session).catch((error: unknown) => {
      // A database that does not answer is no reason to drop a session; only a refusal is.
      if (error instanceof UnauthenticatedError) entry.socket.close(FORBIDDEN, `Forbidden: ${error.message}`.slice(0, 120));
      else logError(this.#log, 'websocket', error, 'session check failed');
    });
  }

  stop(): void {
    this.#stopWatching();
  }
}
