import DataLoader from 'dataloader';
import { listRedactPaths, listReviewsForRequests } from '../approvals/queries.js';
import { decisionPositions } from '../audit/query.js';
import { listRedactedValues } from '../audit/redacted-values.js';
import type { RedactedValue } from '../audit/redaction.js';
import type { Session } from '../auth/authenticator.js';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import type { ReviewRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import type { AuthFailure } from '../errors.js';
import type { EventPosition } from '../events/log.js';

/** Per-operation batch loaders, so a page of requests costs one query per relation, not one per row. */
export interface Loaders {
  principal: DataLoader<string, Principal | null>;
  reviews: DataLoader<string, ReviewRow[]>;
  /** A request's redaction paths, by request id. */
  redactPaths: DataLoader<string, string[]>;
  /** The values redacted from an audit event's data, by event id (for ADMIN). */
  redactedValues: DataLoader<number, RedactedValue[]>;
  /** Where a request's decision event sits in the live order, by request id. */
  decisionPosition: DataLoader<string, EventPosition | null>;
}

export interface GraphQLContext {
  deps: Deps;
  /** The authenticated caller; null for an anonymous request (which can reach nothing but `viewer`). */
  viewer: Principal | null;
  /** How the caller authenticated; null when it did not. */
  session: Session | null;
  /** Why the bearer token sent did not authenticate, so errors can say so; null when none was sent or it did. */
  authFailure: AuthFailure | null;
  loaders: Loaders;
}

export function createLoaders(deps: Deps): Loaders {
  return {
    principal: new DataLoader(async (ids) => {
      const rows = await getPrincipalsByIds(deps.db, ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    reviews: new DataLoader(async (requestIds) => {
      const rows = await listReviewsForRequests(deps.db, requestIds);
      return requestIds.map((id) => rows.filter((row) => row.requestId === id));
    }),
    redactPaths: new DataLoader(async (requestIds) => {
      const paths = await listRedactPaths(deps.db, requestIds);
      return requestIds.map((id) => paths.get(id) ?? []);
    }),
    decisionPosition: new DataLoader(async (requestIds) => {
      const positions = await decisionPositions(deps.db, requestIds);
      return requestIds.map((id) => positions.get(id) ?? null);
    }),
    redactedValues: new DataLoader(async (eventIds) => {
      const values = await listRedactedValues(deps.db, eventIds);
      return eventIds.map((id) => values.get(id) ?? []);
    }),
  };
}

export function createContext(deps: Deps, session: Session | null, authFailure: AuthFailure | null = null): GraphQLContext {
  return { deps, viewer: session?.principal ?? null, session, authFailure, loaders: createLoaders(deps) };
}
