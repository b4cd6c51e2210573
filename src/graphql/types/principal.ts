import { listDelegations } from '../../auth/delegations.js';
import { can, Permission } from '../../auth/permissions.js';
import { getPrincipal, listPrincipals } from '../../auth/principal-admin.js';
import type { Principal } from '../../auth/roles.js';
import { listTokens } from '../../auth/token-admin.js';
import { isUuid } from '../../validation.js';
import { builder } from '../builder.js';
import { connectionOf } from '../connections.js';
import type { GraphQLContext } from '../context.js';
import { decodeKeyCursor, encodeKeyCursor, invalidCursor, pageSize, toConnection } from '../cursors.js';
import { DelegationRef } from './delegation.js';
import { PrincipalKindEnum, RoleEnum } from './enums.js';
import { TokenRef } from './token.js';
import { viewerOf } from './viewer.js';

export const PrincipalRef = builder.objectRef<Principal>('Principal');

/**
 * Whether the caller sees more of `principal` than its id, kind and name: itself, humans (reviewers
 * judge who asked) and auditors do; an agent sees the minimum of everyone else.
 */
function seesDetails(ctx: GraphQLContext, principal: Principal): boolean {
  const viewer = ctx.viewer;
  if (!viewer) return false;
  return viewer.id === principal.id || viewer.kind === 'HUMAN' || can(viewer, Permission.ReadAudit);
}

const HIDDEN = ' Null when hidden from you: an agent sees only the id, kind and name of other principals.';

// Implemented apart from its declaration: `owner` refers to the type itself.
PrincipalRef.implement({
  description: 'An agent or a human known to Greenlight, authenticated by bearer tokens.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    kind: t.expose('kind', { type: PrincipalKindEnum, description: 'Software or person.' }),
    name: t.exposeString('name', { description: 'Display name, e.g. `deploy-bot` or `Ada Lovelace`.' }),
    roles: t.field({
      type: [RoleEnum],
      nullable: true,
      description: `What this principal may do.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.roles : null),
    }),
    groups: t.stringList({
      nullable: true,
      description: `Team groups, e.g. \`sre\`; policies require reviewers by group.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.groups : null),
    }),
    labels: t.field({
      type: 'JSON',
      nullable: true,
      description: `Free key/value labels, e.g. \`{"team": "payments"}\`.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.labels : null),
    }),
    owner: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'For agents: the human responsible for it, who may never approve its requests.',
      resolve: (principal, _args, ctx) => (principal.ownerId ? ctx.loaders.principal.load(principal.ownerId) : null),
    }),
    disabled: t.boolean({
      nullable: true,
      description: `True while an ADMIN has disabled it: none of its tokens works.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.disabledAt !== null : null),
    }),
    disabledAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: `When it was disabled; null while enabled.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.disabledAt : null),
    }),
    disabledReason: t.string({
      nullable: true,
      description: `Why it was disabled, as the ADMIN said.${HIDDEN}`,
      resolve: (principal, _args, ctx) => (seesDetails(ctx, principal) ? principal.disabledReason : null),
    }),
    tokens: t.field({
      type: [TokenRef],
      nullable: true,
      description:
        'Its bearer tokens, oldest first, revoked ones included, never their secrets. For the principal itself and ADMIN; null for anyone else.',
      resolve: (principal, _args, ctx) => listTokens(ctx.deps, viewerOf(ctx), principal.id),
    }),
    delegations: t.field({
      type: [DelegationRef],
      nullable: true,
      description:
        'The delegations it granted (a human) or holds (an agent), oldest first, revoked and expired ones included. For the principal itself and ADMIN; null for anyone else.',
      resolve: (principal, _args, ctx) => listDelegations(ctx.deps, viewerOf(ctx), principal.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the principal was created.' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: PrincipalRef,
    nullable: true,
    description: 'The caller, as identified by its bearer token; null when the request carries no valid token.',
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
);

const PrincipalConnection = connectionOf('Principal', PrincipalRef, 'principal');

const PrincipalFilter = builder.inputType('PrincipalFilter', {
  description: 'Narrows `principals`; all given criteria must hold.',
  fields: (t) => ({
    kinds: t.field({ type: [PrincipalKindEnum], required: false, description: 'Only principals of these kinds.' }),
    roles: t.field({ type: [RoleEnum], required: false, description: 'Only principals holding one of these roles.' }),
    groups: t.stringList({ required: false, description: 'Only principals in one of these groups (at most 100).' }),
    disabled: t.boolean({ required: false, description: 'Only disabled principals (true) or only enabled ones (false).' }),
    nameContains: t.string({
      required: false,
      description: 'Only principals whose name contains this, ignoring case (at most 200 characters).',
    }),
  }),
});

builder.queryField('principals', (t) =>
  t.field({
    type: PrincipalConnection,
    description: 'Every principal, by name. ADMIN only.',
    authScopes: { can: Permission.ReadPrincipals },
    args: {
      filter: t.arg({ type: PrincipalFilter, required: false, description: 'Criteria to narrow the list.' }),
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the principals after this cursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const after = decodeKeyCursor('principal', args.after, 2);
      if (after && !isUuid(after[1]!)) throw invalidCursor();
      const rows = await listPrincipals(ctx.deps, viewerOf(ctx), args.filter, {
        after: after ? { name: after[0]!, id: after[1]! } : null,
        limit: limit + 1,
      });
      return toConnection(rows, limit, (row) => encodeKeyCursor('principal', [row.name, row.id]), !!args.after);
    },
  }),
);

builder.queryField('principal', (t) =>
  t.field({
    type: PrincipalRef,
    nullable: true,
    description: 'One principal by id; null when there is none. ADMIN only.',
    authScopes: { can: Permission.ReadPrincipals },
    args: { id: t.arg.id({ required: true, description: 'The principal id.' }) },
    resolve: (_root, { id }, ctx) => getPrincipal(ctx.deps, viewerOf(ctx), String(id)),
  }),
);
