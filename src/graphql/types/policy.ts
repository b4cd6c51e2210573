import { Permission } from '../../auth/permissions.js';
import type { PolicyVersionRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, InvalidPolicyInputError, NotFoundError } from '../../errors.js';
import { activatePolicyVersion } from '../../policies/activate.js';
import { publishPolicy } from '../../policies/publish.js';
import { getActivePolicyVersion, readPolicyVersions } from '../../policies/store.js';
import { builder } from '../builder.js';
import { connectionOf } from '../connections.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '../cursors.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { PolicyEffectEnum } from './enums.js';
import { PolicyRuleInput, toPolicyDocument } from './policy-input.js';
import { PolicyRuleRef } from './policy-rule.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

export const PolicyVersionRef = builder.objectRef<PolicyVersionRow>('PolicyVersion').implement({
  description: 'An immutable published version of the policy.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier of this version.' }),
    version: t.exposeInt('version', { description: 'Sequential version number, starting at 1.' }),
    rules: t.field({
      type: [PolicyRuleRef],
      description:
        'The rules, in the order they were published. AUDITOR or ADMIN only: agents ask `simulateAction` how a request would be decided.',
      authScopes: { can: Permission.ReadPolicy },
      resolve: (p) => p.rules,
    }),
    defaultEffect: t.expose('defaultEffect', { type: PolicyEffectEnum, description: 'Applied when no rule matches.' }),
    redact: t.exposeStringList('redact', {
      description:
        'Paths of sensitive request values (e.g. `params.password`, `params.credentials.*`, `context.email`): in requests decided by this version they are logged, and shown to everyone but ADMIN, as `[redacted:hmac-sha256:…]`.',
    }),
    contentHash: t.exposeString('contentHash', {
      description: 'SHA-256 of the canonical JSON (RFC 8785) of the rules, default effect and (when not empty) redact list.',
    }),
    message: t.exposeString('message', { nullable: true, description: "The author's note on what changed and why." }),
    active: t.exposeBoolean('active', { description: 'Whether this version decides new requests now.' }),
    author: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'Who published it.',
      resolve: (p, _args, ctx) => (p.authorId ? ctx.loaders.principal.load(p.authorId) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was published.' }),
  }),
});

const PolicyVersionConnection = connectionOf('PolicyVersion', PolicyVersionRef, 'policy version');

builder.queryField('activePolicy', (t) =>
  t.field({
    type: PolicyVersionRef,
    nullable: true,
    description: 'The policy version deciding new requests; null until one is published (then every request escalates).',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => getActivePolicyVersion(ctx.deps.db),
  }),
);

builder.queryField('policyVersions', (t) =>
  t.field({
    type: PolicyVersionConnection,
    description: 'Every published version, newest first. ADMIN or AUDITOR.',
    authScopes: { can: Permission.ReadPolicy },
    args: {
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the versions after (older than) this cursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const rows = await readPolicyVersions(ctx.deps, viewerOf(ctx), {
        beforeVersion: decodeCursor('policy', args.after),
        limit: limit + 1,
      });
      return toConnection(rows, limit, (row) => encodeCursor('policy', row.version), !!args.after);
    },
  }),
);

const PublishPolicyInput = builder.inputType('PublishPolicyInput', {
  description: 'A complete policy: it becomes the next version and replaces the active one.',
  fields: (t) => ({
    rules: t.field({ type: [PolicyRuleInput], required: true, description: 'The rules; order is kept for display and explanations.' }),
    defaultEffect: t.field({
      type: PolicyEffectEnum,
      required: false,
      description: 'Applied when no rule matches; ESCALATE when omitted (fail closed).',
    }),
    redact: t.stringList({
      required: false,
      description:
        'Paths of sensitive request values whose values are logged and shown to everyone but ADMIN as a marker with a keyed hash: `params.` or `context.` then dot-separated keys, `*` for any key or list element (e.g. `params.password`, `params.headers.*`, `context.email`). At most 100.',
    }),
    message: t.string({ required: false, description: 'What changed and why, kept with the version (at most 2000 characters).' }),
    expectedVersion: t.int({
      required: false,
      description:
        'The active version you edited (0 when none). If another admin published or rolled back meanwhile, you get a ConflictError instead of overwriting their change.',
    }),
  }),
});

const publishPolicyErrors = mutationErrors([InvalidPolicyInputError, InvalidInputError, ConflictError]);

const PublishPolicyPayload = builder.objectRef<{ policy?: PolicyVersionRow; errors: ErrorShape[] }>('PublishPolicyPayload').implement({
  description: 'The published version, or why nothing was published.',
  fields: (t) => ({
    policy: t.field({
      type: PolicyVersionRef,
      nullable: true,
      description: 'The new active version; null on error.',
      resolve: (p) => p.policy ?? null,
    }),
    errors: t.field({ ...publishPolicyErrors.field, resolve: (p) => p.errors }),
  }),
});

builder.mutationField('publishPolicy', (t) =>
  t.field({
    type: PublishPolicyPayload,
    description:
      'Validates the policy (globs, CEL conditions, limits) and publishes it as a new immutable version that decides every request from its commit on, on every instance. ADMIN only.',
    authScopes: { can: Permission.PublishPolicy },
    args: { input: t.arg({ type: PublishPolicyInput, required: true, description: 'The policy to publish.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(publishPolicyErrors, () =>
        publishPolicy(ctx.deps, viewerOf(ctx), {
          ...toPolicyDocument(input.rules, input.defaultEffect),
          redact: input.redact ?? undefined,
          message: input.message,
          expectedVersion: input.expectedVersion,
        }),
      ),
  }),
);

const ActivatePolicyVersionInput = builder.inputType('ActivatePolicyVersionInput', {
  description: 'Which published version to make active again.',
  fields: (t) => ({
    version: t.int({ required: true, description: 'The version number to activate.' }),
    reason: t.string({ required: false, description: 'Why, for the audit log (e.g. "v7 blocked every deploy").' }),
    expectedVersion: t.int({ required: false, description: 'The version you believe is active now; a ConflictError if it changed.' }),
  }),
});

const activatePolicyVersionErrors = mutationErrors([NotFoundError, ConflictError, InvalidInputError]);

const ActivatePolicyVersionPayload = builder
  .objectRef<{ policy?: PolicyVersionRow; errors: ErrorShape[] }>('ActivatePolicyVersionPayload')
  .implement({
    description: 'The version now active, or why nothing changed.',
    fields: (t) => ({
      policy: t.field({
        type: PolicyVersionRef,
        nullable: true,
        description: 'The active version; null on error.',
        resolve: (p) => p.policy ?? null,
      }),
      errors: t.field({ ...activatePolicyVersionErrors.field, resolve: (p) => p.errors }),
    }),
  });

builder.mutationField('activatePolicyVersion', (t) =>
  t.field({
    type: ActivatePolicyVersionPayload,
    description: 'Rolls back (or forward) to a published version: it decides every request from now on. Audited. ADMIN only.',
    authScopes: { can: Permission.PublishPolicy },
    args: { input: t.arg({ type: ActivatePolicyVersionInput, required: true, description: 'The version to activate.' }) },
    resolve: (_root, { input }, ctx) => toPayload(activatePolicyVersionErrors, () => activatePolicyVersion(ctx.deps, viewerOf(ctx), input)),
  }),
);
