import { toDecision, type Decision } from './decision.js';
import { ActionDecidedDocument, ActionRequestDocument, type DecisionFragment } from './generated/graphql.js';
import { GreenlightError } from './errors.js';
import { greenlightErrorOf, type Transport } from './transport.js';

export interface WaitOptions {
  /** Give up after this long and resolve with the request as it stands (PENDING); default: wait until decided. */
  timeoutMs?: number;
  /** Aborting rejects the wait with the signal's reason. */
  signal?: AbortSignal;
}

/** Consecutive failed socket attempts after which a wait polls over HTTP instead. */
const SOCKET_FAILURES_BEFORE_POLLING = 3;

export async function getDecision(transport: Transport, requestId: string, signal?: AbortSignal): Promise<Decision> {
  const data = await transport.execute(ActionRequestDocument, { id: requestId }, signal);
  if (!data.actionRequest) throw new GreenlightError(`ActionRequest ${requestId} was not found.`, 'NOT_FOUND', { requestId });
  return toDecision(data.actionRequest);
}

/** How often a wait over a socket also asks over HTTP: a socket that went silently dead (NAT, sleep) delays a decision at most this long. */
const RECHECK_MS = 15_000;
/** The longest pause between polls after failures (network errors, 5xx answers). */
const MAX_BACKOFF_MS = 5_000;

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Resolves after `ms`, or rejects when `signal` aborts; leaves no listener behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(handle);
      reject(signal.reason);
    };
    const handle = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A failure worth trying again: the network (fetch throws a TypeError), or the server answering 5xx. */
function transient(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof GreenlightError && /^HTTP_5\d\d$/.test(error.code));
}

/** Resolves false after `ms` (never when undefined); `cancel` clears the timer. */
function timer(ms: number | undefined): { elapsed: Promise<false>; cancel(): void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<false>((resolve) => {
    if (ms !== undefined) handle = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  return { elapsed, cancel: () => clearTimeout(handle) };
}

/**
 * The request's decision over graphql-ws (`actionDecided(requestId)`, which answers at once when
 * the request is already decided). graphql-ws reconnects after a lost socket and subscribes again,
 * so nothing is missed. Resolves null when sockets keep failing (the caller polls instead).
 */
function overWebSocket(transport: Transport, requestId: string): { decided: Promise<DecisionFragment | null>; stop(): void } {
  const socket = transport.socket()!;
  let stopSubscription = () => {};
  let stopWatching = () => {};
  const decided = new Promise<DecisionFragment | null>((resolve, reject) => {
    stopWatching = transport.onSocketChange(() => {
      if (transport.socketFailures() >= SOCKET_FAILURES_BEFORE_POLLING) resolve(null);
    });
    stopSubscription = socket.subscribe<{ actionDecided: DecisionFragment }>(
      { query: ActionDecidedDocument.toString(), variables: { requestId } },
      {
        next: (result) => {
          if (result.errors?.length) reject(greenlightErrorOf(result.errors));
          else if (result.data?.actionDecided) resolve(result.data.actionDecided);
        },
        error: (error) => {
          if (Array.isArray(error)) reject(greenlightErrorOf(error));
          else resolve(null);
        },
        complete: () => {},
      },
    );
  });
  return {
    decided,
    stop() {
      stopWatching();
      stopSubscription();
    },
  };
}

/** Asks over HTTP every `intervalMs` (the first time after `firstAfterMs`) until decided; transient failures back off and retry. */
async function poll(transport: Transport, requestId: string, intervalMs: number, signal: AbortSignal, firstAfterMs = 0): Promise<Decision> {
  let pause = firstAfterMs;
  let failures = 0;
  for (;;) {
    if (pause > 0) await sleep(pause, signal);
    try {
      const decision = await getDecision(transport, requestId, signal);
      if (decision.status !== 'PENDING') return decision;
      failures = 0;
    } catch (error) {
      if (signal.aborted || !transient(error)) throw error;
      failures += 1;
    }
    pause = failures === 0 ? intervalMs : Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures);
  }
}

/**
 * Waits for a request's decision: at once when it is already decided, else over graphql-ws
 * (reconnecting and resubscribing after lost sockets), falling back to polling over HTTP when
 * WebSockets are off or keep failing. On `timeoutMs`, resolves with the request as it stands.
 */
export async function waitForDecision(
  transport: Transport,
  requestId: string,
  options: WaitOptions & { pollIntervalMs: number },
): Promise<Decision> {
  options.signal?.throwIfAborted();
  // A failed first look (a dropped connection) is not fatal: the wait below looks again.
  const current = await getDecision(transport, requestId, options.signal).catch((error: unknown) => {
    if (transient(error) && !options.signal?.aborted) return null;
    throw error;
  });
  if (current && current.status !== 'PENDING') return current;

  // One signal for everything this wait starts, ended when the wait ends (whatever ends it).
  const local = new AbortController();
  const forward = () => local.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', forward, { once: true });
  if (options.signal?.aborted) forward();
  const signal = local.signal;
  const stopped = aborted(signal);
  stopped.catch(() => {});
  const deadline = timer(options.timeoutMs);
  try {
    if (transport.socket() && transport.socketFailures() < SOCKET_FAILURES_BEFORE_POLLING) {
      const live = overWebSocket(transport, requestId);
      // Over HTTP too, now and then: a socket can die without closing.
      const rechecked = poll(transport, requestId, RECHECK_MS, signal, RECHECK_MS);
      rechecked.catch(() => {});
      try {
        const outcome = await Promise.race([
          live.decided.then((request) => request && toDecision(request)),
          rechecked,
          deadline.elapsed,
          stopped,
        ]);
        if (outcome) return outcome;
        // Timed out: the request as it stands. Sockets unavailable (null): poll for the time left.
        if (outcome === false) return await getDecision(transport, requestId, options.signal);
      } finally {
        live.stop();
      }
    }
    const polled = poll(transport, requestId, options.pollIntervalMs, signal, options.pollIntervalMs);
    polled.catch(() => {});
    const outcome = await Promise.race([polled, deadline.elapsed, stopped]);
    return outcome || (await getDecision(transport, requestId, options.signal));
  } finally {
    deadline.cancel();
    options.signal?.removeEventListener('abort', forward);
    local.abort();
  }
}
