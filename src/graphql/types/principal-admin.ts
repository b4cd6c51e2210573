import { Permission } from '../../auth/permissions.js';
import { disablePrincipal, enablePrincipal, updatePrincipal } from '../../auth/principal-admin.js';
import { createPrincipal } from '../../auth/principals.js';
import type { Principal } from '../../auth/roles.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { PrincipalKindEnum, RoleEnum } from './enums.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

/** The payload of a mutation on one principal: the principal afterwards, or why nothing changed. */
const principalPayload = (name: string, description: string, errors: ReturnType<typeof mutationErrors>) =>
  entityPayload(name, {
    description,
    key: 'principal',
    type: () => PrincipalRef,
    fieldDescription: 'The principal as it is now; null on error.',
    errors,
  });

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
    groups: t.stringList({ required: false, description: 'Groups, e.g. `["sre"]`; default none (at most 100).' }),
    labels: t.field({ type: 'JSON', required: false, description: 'Key/value labels with string values; default `{}` (at most 100).' }),
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
        description:
          'The bearer token for the new principal (its token named `default`). Shown only here, once: Greenlight stores only its hash.',
        resolve: (p) => p.token ?? null,
      }),
      errors: t.field({ ...createPrincipalErrors.field, resolve: (p) => p.errors }),
    }),
  });

builder.mutationField('createPrincipal', (t) =>
  t.field({
    type: CreatePrincipalPayload,
    description: 'Creates an agent or a human and returns its bearer token once. ADMIN only.',
    authScopes: { can: Permission.ManagePrincipals },
    args: { input: t.arg({ type: CreatePrincipalInput, required: true, description: 'The principal to create.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(createPrincipalErrors, async () => {
        const created = await createPrincipal(ctx.deps, viewerOf(ctx), {
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

const UpdatePrincipalInput = builder.inputType('UpdatePrincipalInput', {
  description: 'Changes to a principal; fields left out stay as they are. Its kind never changes.',
  fields: (t) => ({
    principalId: t.id({ required: true, description: 'The principal to change.' }),
    name: t.string({ required: false, description: 'New display name.' }),
    roles: t.field({ type: [RoleEnum], required: false, description: 'The complete new list of roles (as for `createPrincipal`).' }),
    groups: t.stringList({ required: false, description: 'The complete new list of groups.' }),
    labels: t.field({ type: 'JSON', required: false, description: 'The complete new labels.' }),
    ownerId: t.id({ required: false, description: "For agents: a human's id, or null to remove the owner." }),
  }),
});

const updatePrincipalErrors = mutationErrors([InvalidInputError, NotFoundError, ConflictError]);
const UpdatePrincipalPayload = principalPayload(
  'UpdatePrincipalPayload',
  'The changed principal, or why nothing changed.',
  updatePrincipalErrors,
);

builder.mutationField('updatePrincipal', (t) =>
  t.field({
    type: UpdatePrincipalPayload,
    description:
      "Changes a principal's name, roles, groups, labels or owner. Every instance applies it within about a second: its open connections follow the new roles and groups (a reviewer who leaves a group stops receiving that group's requests). Removing ADMIN from the last enabled administrator is refused (ConflictError). Audited as PRINCIPAL_UPDATED with each change. ADMIN only.",
    authScopes: { can: Permission.ManagePrincipals },
    args: { input: t.arg({ type: UpdatePrincipalInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(updatePrincipalErrors, async () => ({
        principal: await updatePrincipal(ctx.deps, viewerOf(ctx), {
          principalId: String(input.principalId),
          name: input.name,
          roles: input.roles,
          groups: input.groups,
          labels: input.labels as Record<string, string> | null | undefined,
          ownerId: input.ownerId === undefined ? undefined : input.ownerId === null ? null : String(input.ownerId),
        }),
      })),
  }),
);

const DisablePrincipalInput = builder.inputType('DisablePrincipalInput', {
  description: 'The principal to disable, and why.',
  fields: (t) => ({
    principalId: t.id({ required: true, description: 'The principal.' }),
    reason: t.string({ required: false, description: 'Why, for the audit log and other administrators (at most 2000 characters).' }),
  }),
});

const disablePrincipalErrors = mutationErrors([InvalidInputError, NotFoundError, ConflictError]);
const DisablePrincipalPayload = principalPayload(
  'DisablePrincipalPayload',
  'The disabled principal, or why it was not disabled.',
  disablePrincipalErrors,
);

builder.mutationField('disablePrincipal', (t) =>
  t.field({
    type: DisablePrincipalPayload,
    description:
      "Disables a principal: its tokens stop working at once here and within about a second on every instance, whose open WebSockets of it are closed with 4403. A disabled agent's PENDING requests are cancelled (CANCELLED, decidedBy ADMIN, the reason given) so nobody approves them; a human's past reviews stand and the delegations it granted stop counting. Disabling the last enabled ADMIN is refused. Audited as PRINCIPAL_DISABLED. ADMIN only.",
    authScopes: { can: Permission.ManagePrincipals },
    args: { input: t.arg({ type: DisablePrincipalInput, required: true, description: 'Whom to disable.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(disablePrincipalErrors, async () => ({
        principal: await disablePrincipal(ctx.deps, viewerOf(ctx), { principalId: String(input.principalId), reason: input.reason }),
      })),
  }),
);

const EnablePrincipalInput = builder.inputType('EnablePrincipalInput', {
  description: 'The principal to enable again.',
  fields: (t) => ({ principalId: t.id({ required: true, description: 'A disabled principal.' }) }),
});

const enablePrincipalErrors = mutationErrors([NotFoundError, ConflictError]);
const EnablePrincipalPayload = principalPayload(
  'EnablePrincipalPayload',
  'The enabled principal, or why it was not enabled.',
  enablePrincipalErrors,
);

builder.mutationField('enablePrincipal', (t) =>
  t.field({
    type: EnablePrincipalPayload,
    description:
      'Enables a disabled principal: its tokens that are neither revoked nor expired work again. Audited as PRINCIPAL_ENABLED. ADMIN only.',
    authScopes: { can: Permission.ManagePrincipals },
    args: { input: t.arg({ type: EnablePrincipalInput, required: true, description: 'Whom to enable.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(enablePrincipalErrors, async () => ({
        principal: await enablePrincipal(ctx.deps, viewerOf(ctx), { principalId: String(input.principalId) }),
      })),
  }),
);
