import { count, isNull } from 'drizzle-orm';
import { expect, vi } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import type { TestServer } from './app.js';
import { ADMIN_TOKEN } from './app.js';

export interface Actor {
  id: string;
  token: string;
}

/** Creates a principal through the public API, as an administrator would. */
export async function createActor(
  server: TestServer,
  input: { kind: 'AGENT' | 'HUMAN'; name: string; roles: string[]; groups?: string[]; labels?: Record<string, string>; owner?: string },
): Promise<Actor> {
  const result = await server.gql(
    ADMIN_TOKEN,
    `mutation($input: CreatePrincipalInput!) {
      createPrincipal(input: $input) { principal { id } token errors { __typename message } }
    }`,
    { input },
  );
  const payload = result.data?.createPrincipal;
  if (!payload?.principal) throw new Error(`createPrincipal failed: ${JSON.stringify(result)}`);
  return { id: payload.principal.id, token: payload.token };
}

export async function publishPolicy(server: TestServer, rules: unknown[], defaultEffect = 'ESCALATE', more: Record<string, unknown> = {}) {
  const result = await server.gql(
    ADMIN_TOKEN,
    `mutation($input: PublishPolicyInput!) {
      publishPolicy(input: $input) { policy { id version } errors { __typename message } }
    }`,
    { input: { rules, defaultEffect, ...more } },
  );
  const payload = result.data?.publishPolicy;
  if (!payload?.policy) throw new Error(`publishPolicy failed: ${JSON.stringify(result)}`);
  return payload.policy as { id: string; version: number };
}

export const REQUEST_FIELDS = `
  id status action resource params reason expiresAt decidedAt decidedBy decisionReason
  requiredGroups requiredApprovals approvalsReceived
  evaluation { effect matchedRules decidingRules policyVersion explanation }
  agent { id }
  reviews { verdict comment reviewer { id } }
`;

export async function requestAction(server: TestServer, token: string, input: Record<string, unknown>) {
  return server.gql(
    token,
    `mutation($input: RequestActionInput!) {
      requestAction(input: $input) {
        request { ${REQUEST_FIELDS} }
        errors { __typename message ... on InvalidInputError { problems { field message } } ... on IdempotencyConflictError { existingRequestId } }
      }
    }`,
    { input },
  );
}

export async function decideAction(server: TestServer, token: string, input: Record<string, unknown>) {
  return server.gql(
    token,
    `mutation($input: DecideActionInput!) {
      decideAction(input: $input) {
        request { ${REQUEST_FIELDS} }
        errors { __typename message ... on ConflictError { currentStatus } ... on SeparationOfDutiesError { party } }
      }
    }`,
    { input },
  );
}

/** Collects events from a graphql-ws subscription and lets a test await the next ones. */
export function collect<T>(iterator: AsyncIterableIterator<T>) {
  return {
    async next(): Promise<T> {
      const result = await iterator.next();
      if (result.done) throw new Error('The subscription completed before the expected event.');
      return result.value;
    },
    async done(): Promise<boolean> {
      return (await iterator.next()).done === true;
    },
    return: () => iterator.return?.(),
  };
}

/**
 * Waits until the server's sealer has placed every committed audit event in the chain: the
 * `auditEvents` query lists sealed events only. Sealing has no event to await, so this polls.
 */
export async function allSealed(server: TestServer): Promise<void> {
  await vi.waitFor(
    async () => {
      const [unsealed] = await server.app.deps.db.select({ n: count() }).from(auditEvents).where(isNull(auditEvents.seq));
      expect(unsealed!.n).toBe(0);
    },
    { timeout: 10_000, interval: 10 },
  );
}

/**
 * Subscribes to the reviewer's queue now; the function returned resolves with the id of the next
 * request added to it (subscribe before asking, then await).
 */
export async function nextPendingRequest(server: TestServer, reviewerToken: string): Promise<() => Promise<string>> {
  const cursor = (await server.gql(reviewerToken, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
  const queue = collect(
    server.ws(reviewerToken).iterate<{ pendingApprovals: { kind: string; request: { id: string } } }>({
      query: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { id } } }',
      variables: { after: cursor },
    }),
  );
  return async () => {
    for (;;) {
      const event = (await queue.next()).data!.pendingApprovals;
      if (event.kind === 'ADDED') {
        await queue.return();
        return event.request.id;
      }
    }
  };
}
