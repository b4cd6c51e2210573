import { grantDelegation, revokeDelegation } from '../../auth/delegations.js';
import type { Principal } from '../../auth/roles.js';
import type { DelegationRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

export const DelegationRef = builder.objectRef<DelegationRow>('Delegation').implement({
  description:
    "A human's permission for one agent to act on their behalf (`requestAction(input: { onBehalfOf })`) for some actions. An agent's owner needs none.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier; `revokeDelegation` takes it.' }),
    human: t.field({
      type: PrincipalRef,
      description: 'The human the agent may act for.',
      resolve: async (d, _args, ctx) => (await ctx.loaders.principal.load(d.humanId)) as Principal,
    }),
    agent: t.field({
      type: PrincipalRef,
      description: 'The agent that may name the human as `onBehalfOf`.',
      resolve: async (d, _args, ctx) => (await ctx.loaders.principal.load(d.agentId)) as Principal,
    }),
    actions: t.exposeStringList('actions', { description: "Globs over action names it covers, e.g. `deploy.*` (see the README's Globs)." }),
    grantedBy: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'Who granted it: the human, or an ADMIN for them.',
      resolve: (d, _args, ctx) => (d.grantedById ? ctx.loaders.principal.load(d.grantedById) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was granted.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it stops counting; null: never.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked; null while it is not.' }),
  }),
});

const GrantDelegationInput = builder.inputType('GrantDelegationInput', {
  description: "Lets an agent act on a human's behalf for some actions.",
  fields: (t) => ({
    agentId: t.id({ required: true, description: 'The agent.' }),
    actions: t.stringList({ required: true, description: 'Action globs it covers, 1 to 20, e.g. `["deploy.*"]`.' }),
    expiresAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'When it stops counting (at most 10 years ahead); default never.',
    }),
    humanId: t.id({ required: false, description: 'The human who delegates: default the caller. Another human needs ADMIN.' }),
  }),
});

const grantDelegationErrors = mutationErrors([InvalidInputError, NotAllowedError, ConflictError]);

const GrantDelegationPayload = entityPayload('GrantDelegationPayload', {
  description: 'The delegation granted, or why it was not.',
  key: 'delegation',
  type: () => DelegationRef,
  fieldDescription: 'The delegation; null on error.',
  errors: grantDelegationErrors,
});

builder.mutationField('grantDelegation', (t) =>
  t.field({
    type: GrantDelegationPayload,
    description:
      'Lets an agent name a human as `onBehalfOf` for the actions its globs match. A human grants it for themselves; an ADMIN for any human (`humanId`). Audited as DELEGATION_GRANTED.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: GrantDelegationInput, required: true, description: 'The delegation to grant.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(grantDelegationErrors, async () => ({
        delegation: await grantDelegation(ctx.deps, viewerOf(ctx), {
          agentId: String(input.agentId),
          humanId: input.humanId == null ? null : String(input.humanId),
          actions: input.actions,
          expiresAt: input.expiresAt,
        }),
      })),
  }),
);

const RevokeDelegationInput = builder.inputType('RevokeDelegationInput', {
  description: 'The delegation to revoke.',
  fields: (t) => ({ delegationId: t.id({ required: true, description: 'One you granted, or any for an ADMIN.' }) }),
});

const revokeDelegationErrors = mutationErrors([NotFoundError, ConflictError]);

const RevokeDelegationPayload = entityPayload('RevokeDelegationPayload', {
  description: 'The revoked delegation, or why it was not revoked.',
  key: 'delegation',
  type: () => DelegationRef,
  fieldDescription: 'The delegation, now with `revokedAt`; null on error.',
  errors: revokeDelegationErrors,
});

builder.mutationField('revokeDelegation', (t) =>
  t.field({
    type: RevokeDelegationPayload,
    description:
      'Revokes a delegation: the agent may no longer act for the human (requests already made stay). Its human, or an ADMIN. Audited as DELEGATION_REVOKED.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: RevokeDelegationInput, required: true, description: 'The delegation to revoke.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(revokeDelegationErrors, async () => ({
        delegation: await revokeDelegation(ctx.deps, viewerOf(ctx), { delegationId: String(input.delegationId) }),
      })),
  }),
);
