import { issueToken, revokeToken } from '../../auth/token-admin.js';
import type { TokenRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { viewerOf } from './viewer.js';

export const TokenRef = builder.objectRef<TokenRow>('Token').implement({
  description: 'A named bearer token of a principal. Its secret is shown once, when issued, and never again: only its hash is stored.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier; `revokeToken` takes it.' }),
    name: t.exposeString('name', { description: "What the token is for, e.g. `ci-deploys`; unique among the principal's live tokens." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was issued.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'After this instant it no longer authenticates; null: never expires.',
    }),
    lastUsedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it last authenticated, to within about a minute (each instance writes these times in batches); null if never.',
      resolve: (token, _args, ctx) => {
        const pending = ctx.deps.auth.lastUsedAt(token.id);
        return pending && (!token.lastUsedAt || pending > token.lastUsedAt) ? pending : token.lastUsedAt;
      },
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked; null while it is not.' }),
  }),
});

const IssueTokenInput = builder.inputType('IssueTokenInput', {
  description: 'A new named token for a principal.',
  fields: (t) => ({
    principalId: t.id({ required: false, description: "Whose token: default the caller. Anyone else's needs ADMIN." }),
    name: t.string({
      required: true,
      description: "What it is for: 1-100 letters, digits or `_ . : @ -`, unique among the principal's live tokens.",
    }),
    expiresAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'When it stops working (at most 10 years ahead); default never.',
    }),
  }),
});

const issueTokenErrors = mutationErrors([InvalidInputError, NotFoundError, ConflictError]);

const IssueTokenPayload = builder.objectRef<{ secret?: string; token?: TokenRow; errors: ErrorShape[] }>('IssueTokenPayload').implement({
  description: 'The new token and its secret, or why it was not issued.',
  fields: (t) => ({
    secret: t.string({
      nullable: true,
      description: 'The bearer token itself (`gl_` and 43 characters). Shown only here, once: store it now.',
      resolve: (p) => p.secret ?? null,
    }),
    token: t.field({ type: TokenRef, nullable: true, description: "The token's record; null on error.", resolve: (p) => p.token ?? null }),
    errors: t.field({ ...issueTokenErrors.field, resolve: (p) => p.errors }),
  }),
});

builder.mutationField('issueToken', (t) =>
  t.field({
    type: IssueTokenPayload,
    description:
      "Issues a named bearer token. Any principal may issue its own (rotate without downtime: issue a new one, switch, revoke the old one), which never expires after the token it authenticates with; an ADMIN may issue anyone's. Audited as TOKEN_ISSUED.",
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: IssueTokenInput, required: true, description: 'The token to issue.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(issueTokenErrors, async () => {
        const viewer = viewerOf(ctx);
        const principalId = input.principalId == null ? viewer.id : String(input.principalId);
        return issueToken(ctx.deps, viewer, { principalId, name: input.name, expiresAt: input.expiresAt }, ctx.session?.expiresAt ?? null);
      }),
  }),
);

const RevokeTokenInput = builder.inputType('RevokeTokenInput', {
  description: 'The token to revoke.',
  fields: (t) => ({ tokenId: t.id({ required: true, description: "One of your tokens, or anyone's for an ADMIN." }) }),
});

const revokeTokenErrors = mutationErrors([NotFoundError, ConflictError]);

const RevokeTokenPayload = entityPayload('RevokeTokenPayload', {
  description: 'The revoked token, or why it was not revoked.',
  key: 'token',
  type: () => TokenRef,
  fieldDescription: 'The token, now with `revokedAt`; null on error.',
  errors: revokeTokenErrors,
});

builder.mutationField('revokeToken', (t) =>
  t.field({
    type: RevokeTokenPayload,
    description:
      "Revokes a token: it stops working at once here and within about a second on every instance, whose open WebSockets using it are closed with 4403. Your own, or anyone's for an ADMIN. Audited as TOKEN_REVOKED.",
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: RevokeTokenInput, required: true, description: 'The token to revoke.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(revokeTokenErrors, async () => ({ token: await revokeToken(ctx.deps, viewerOf(ctx), { tokenId: String(input.tokenId) }) })),
  }),
);
