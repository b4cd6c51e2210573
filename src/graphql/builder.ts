import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { can, type Permission } from '../auth/permissions.js';
import { AuthFailure } from '../errors.js';
import type { GraphQLContext } from './context.js';

/** Set-up only: plugins, scalars' TypeScript shapes and the role scopes. Types live in ./types. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; can: Permission };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin],
  scopeAuth: {
    // Subscriptions are checked when they start, not on every event.
    authorizeOnSubscribe: true,
    // The first line only: every service checks the same catalogue again (src/auth/permissions.ts).
    authScopes: ({ viewer }) => ({
      authenticated: viewer !== null,
      can: (permission: Permission) => can(viewer, permission),
    }),
    unauthorizedError: (_parent, context, info) =>
      context.viewer
        ? new GraphQLError(`Not allowed: your roles do not permit ${info.parentType.name}.${info.fieldName}.`, {
            extensions: { code: 'FORBIDDEN' },
          })
        : new GraphQLError(AuthFailure[context.authFailure ?? 'MISSING'], { extensions: { code: 'UNAUTHENTICATED' } }),
  },
});

builder.queryType({ description: 'Read the state of requests, policies and the audit log.' });
builder.mutationType({ description: 'Change state: every mutation commits its change and its audit events together.' });
builder.subscriptionType({ description: 'Live streams over graphql-ws on the same `/graphql` endpoint.' });
