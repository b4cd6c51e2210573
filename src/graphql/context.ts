import DataLoader from 'dataloader';
import { listRedactPaths, listReviewsForRequests } from '../approvals/queries.js';
import { decisionPositions } from '../audit/query.js';
import { listRedactedValues } from '../audit/redacted-values.js';
import type { EventPosition } from '../events/log.js';
import type { RedactedValue } from '../audit/redaction.js';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import type { ReviewRow } from '../db/schema.js';
import type { Deps } from '../deps.js';

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
  /** True when a bearer token was sent but is unknown or revoked, so errors can say so. */
  tokenRejected: boolean;
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

export function createContext(deps: Deps, viewer: Principal | null, tokenRejected = false): GraphQLContext {
  return { deps, viewer, tokenRejected, loaders: createLoaders(deps) };
}
