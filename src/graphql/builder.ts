import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { hasRole } from '../auth/roles.js';
import type { GraphQLContext } from './context.js';

/** Set-up only: plugins, scalars' TypeScript shapes and the role scopes. Types live in ./types. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; agent: boolean; reviewer: boolean; auditor: boolean; admin: boolean };
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
    authScopes: ({ viewer }) => ({
      authenticated: viewer !== null,
      agent: hasRole(viewer, 'AGENT'),
      reviewer: hasRole(viewer, 'REVIEWER'),
      auditor: hasRole(viewer, 'AUDITOR', 'ADMIN'),
      admin: hasRole(viewer, 'ADMIN'),
    }),
    unauthorizedError: (_parent, context, info) =>
      context.viewer
        ? new GraphQLError(`Not allowed: your roles do not permit ${info.parentType.name}.${info.fieldName}.`, {
            extensions: { code: 'FORBIDDEN' },
          })
        : new GraphQLError(
            context.tokenRejected
              ? 'Not authenticated: the bearer token is unknown or revoked.'
              : 'Not authenticated: send "Authorization: Bearer <token>".',
            { extensions: { code: 'UNAUTHENTICATED' } },
          ),
  },
});

builder.queryType({ description: 'Read the state of requests, policies and the audit log.' });
builder.mutationType({ description: 'Change state: every mutation commits its change and its audit events together.' });
builder.subscriptionType({ description: 'Live streams over graphql-ws on the same `/graphql` endpoint.' });
