import { revealRedacted } from '../audit/redacted-values.js';
import { hasMarkers } from '../audit/redaction.js';
import { can, Permission } from '../auth/permissions.js';
import type { AuditEventRow } from '../db/schema.js';
import type { RedactionRoot } from '../policy/index.js';
import type { GraphQLContext } from './context.js';

/**
 * What each caller sees of redacted values: ADMIN sees them; everyone else (the agent that sent
 * them included) sees markers. Resolvers of queries and subscriptions alike go through here.
 */

/** Whether the caller may read redacted values. */
export const seesRedacted = (ctx: GraphQLContext): boolean => can(ctx.viewer, Permission.ReadRedacted);

/** A request's params (or amended params) or context, as this caller may see it. */
export function shownValue<T>(ctx: GraphQLContext, value: T, root: RedactionRoot, redactPaths: readonly string[]): T {
  return seesRedacted(ctx) ? value : ctx.deps.redactor.mask(value, root, redactPaths);
}

/** An audit event's data as this caller may see it: as logged (with markers), or revealed to ADMIN. */
export async function shownEventData(ctx: GraphQLContext, event: AuditEventRow): Promise<Record<string, unknown>> {
  if (!seesRedacted(ctx) || !hasMarkers(event.data)) return event.data;
  return revealRedacted(ctx.deps.redactor, event.data, await ctx.loaders.redactedValues.load(event.id));
}
