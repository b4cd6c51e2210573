import { GraphQLError } from 'graphql';
import type { Principal } from '../../auth/roles.js';
import type { GraphQLContext } from '../context.js';

/** The authenticated caller. Fields call it after scope-auth has already required authentication. */
export function viewerOf(ctx: GraphQLContext): Principal {
  if (!ctx.viewer) throw new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } });
  return ctx.viewer;
}
