import { createPrincipal } from '../../auth/principals.js';
import type { Principal } from '../../auth/roles.js';
import { InvalidInputError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { PrincipalKindEnum, RoleEnum } from './enums.js';
import { viewerOf } from './viewer.js';

export const PrincipalRef = builder.objectRef<Principal>('Principal');

// Implemented apart from its declaration: `owner` refers to the type itself.
PrincipalRef.implement({
  description: 'An agent or a human known to Greenlight, authenticated by bearer tokens.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    kind: t.expose('kind', { type: PrincipalKindEnum, description: 'Software or person.' }),
    name: t.exposeString('name', { description: 'Display name, e.g. `deploy-bot` or `Ada Lovelace`.' }),
    roles: t.expose('roles', { type: [RoleEnum], description: 'What this principal may do.' }),
    groups: t.exposeStringList('groups', { description: 'Team groups, e.g. `sre`; policies require reviewers by group.' }),
    labels: t.field({
      type: 'JSON',
      description: 'Free key/value labels, e.g. `{"team": "payments"}`.',
      resolve: (principal) => principal.labels,
    }),
    owner: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'For agents: the human responsible for it, who may never approve its requests.',
      resolve: (principal, _args, ctx) => (principal.ownerId ? ctx.loaders.principal.load(principal.ownerId) : null),
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

const CreatePrincipalInput = builder.inputType('CreatePrincipalInput', {
  description: 'A new agent or human.',
  fields: (t) => ({
    kind: t.field({ type: PrincipalKindEnum, required: true, description: 'AGENT for software, HUMAN for a person.' }),
    name: t.string({ required: true, description: 'Display name: 1-200 letters, digits, spaces or `_ . : @ -`.' }),
    roles: t.field({
      type: [RoleEnum],
      required: true,
      description: 'At least one role. AGENT only for agents; REVIEWER and ADMIN only for humans.',
    }),
    groups: t.stringList({ required: false, description: 'Groups, e.g. `["sre"]`; default none.' }),
    labels: t.field({ type: 'JSON', required: false, description: 'Key/value labels with string values; default `{}`.' }),
    owner: t.id({
      required: false,
      description: 'For agents: the id of the human responsible for it (who then may never approve its requests).',
    }),
  }),
});

const createPrincipalErrors = mutationErrors([InvalidInputError]);

const CreatePrincipalPayload = builder
  .objectRef<{ principal?: Principal; token?: string; errors: ErrorShape[] }>('CreatePrincipalPayload')
  .implement({
    description: 'The created principal and its first token, or why it was not created.',
    fields: (t) => ({
      principal: t.field({
        type: PrincipalRef,
        nullable: true,
        description: 'The new principal; null on error.',
        resolve: (p) => p.principal ?? null,
      }),
      token: t.string({
        nullable: true,
        description: 'The bearer token for the new principal. Shown only here, once: Greenlight stores only its hash.',
        resolve: (p) => p.token ?? null,
      }),
      errors: t.field({ ...createPrincipalErrors.field, resolve: (p) => p.errors }),
    }),
  });

builder.mutationField('createPrincipal', (t) =>
  t.field({
    type: CreatePrincipalPayload,
    description: 'Creates an agent or a human and returns its bearer token once. ADMIN only.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreatePrincipalInput, required: true, description: 'The principal to create.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(createPrincipalErrors, async () => {
        const created = await createPrincipal(ctx.deps, viewerOf(ctx).id, {
          kind: input.kind,
          name: input.name,
          roles: input.roles,
          groups: input.groups ?? [],
          labels: (input.labels ?? {}) as Record<string, string>,
          owner: input.owner == null ? null : String(input.owner),
        });
        return { principal: created.principal, token: created.token };
      }),
  }),
);
