import type { CliCommand } from './command.js';
import { RefusedError } from './graphql-client.js';
import { ERRORS, labels, list, mutate, query, required, table, text, whole, type PayloadErrors } from './command.js';

// `greenlight principal|token|delegation|webhook …`: thin translations of the public GraphQL API
// (the same operations any client would use), printed as text or, with --json, as the payload.

const ADMIN = 'an ADMIN';
const PRINCIPAL_FIELDS = 'id kind name roles groups labels disabled createdAt';

interface PrincipalRow {
  id: string;
  kind: string;
  name: string;
  roles: string[] | null;
  groups: string[] | null;
  disabled: boolean | null;
}

const principalLine = (p: PrincipalRow) =>
  `${p.id}  ${p.kind}  ${p.name}  roles: ${(p.roles ?? []).join(',') || '-'}  groups: ${(p.groups ?? []).join(',') || '-'}${p.disabled ? '  (disabled)' : ''}`;

export const PRINCIPAL_COMMANDS: Record<string, CliCommand> = {
  create: {
    usage: '--kind AGENT|HUMAN --name NAME --role ROLE… [--group G…] [--label K=V…] [--owner ID]',
    summary: 'Create an agent or a human; prints its id and its first token (shown once).',
    details: ['--role and --group repeat, or take a comma-separated list.'],
    positionals: 0,
    options: {
      kind: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      owner: { type: 'string' },
    },
    run: ({ values, json }) =>
      mutate<PayloadErrors & { principal: PrincipalRow | null; token: string | null }>(
        ADMIN,
        'createPrincipal',
        `mutation($input: CreatePrincipalInput!) { createPrincipal(input: $input) { principal { ${PRINCIPAL_FIELDS} } token ${ERRORS} } }`,
        {
          input: {
            kind: required(values, 'kind').toUpperCase(),
            name: required(values, 'name'),
            roles: (list(values['role']) ?? []).map((role) => role.toUpperCase()),
            groups: list(values['group']),
            labels: labels(values['label']),
            owner: text(values['owner']),
          },
        },
        json,
        (payload) => [`✓ created ${principalLine(payload.principal!)}`, `token (shown once): ${payload.token}`],
      ),
  },
  list: {
    usage: '[--kind AGENT|HUMAN] [--role ROLE] [--group G] [--name-contains TEXT] [--disabled] [--first N]',
    summary: 'List principals (the first 100, or --first N).',
    positionals: 0,
    options: {
      kind: { type: 'string' },
      role: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      'name-contains': { type: 'string' },
      disabled: { type: 'boolean' },
      first: { type: 'string' },
    },
    run: ({ values, json }) =>
      query<{ principals: { edges: { node: PrincipalRow }[] } }, PrincipalRow[]>(
        ADMIN,
        `query($filter: PrincipalFilter, $first: Int) { principals(filter: $filter, first: $first) { edges { node { ${PRINCIPAL_FIELDS} } } } }`,
        {
          first: whole(values['first'], 'first') ?? 100,
          filter: {
            kinds: list(values['kind'])?.map((kind) => kind.toUpperCase()),
            roles: list(values['role'])?.map((role) => role.toUpperCase()),
            groups: list(values['group']),
            nameContains: text(values['name-contains']),
            disabled: values['disabled'] === true ? true : undefined,
          },
        },
        json,
        (data) => data.principals.edges.map((edge) => edge.node),
        (rows) => (rows.length === 0 ? ['no principals'] : rows.map(principalLine)),
      ),
  },
  update: {
    usage: 'ID [--name NAME] [--role ROLE…] [--group G…] [--label K=V…] [--owner ID]',
    summary: "Change a principal's name, roles, groups, labels or owner (the lists given replace the old ones).",
    positionals: 1,
    options: {
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      group: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      owner: { type: 'string' },
    },
    run: ({ args, values, json }) =>
      mutate<PayloadErrors & { principal: PrincipalRow | null }>(
        ADMIN,
        'updatePrincipal',
        `mutation($input: UpdatePrincipalInput!) { updatePrincipal(input: $input) { principal { ${PRINCIPAL_FIELDS} } ${ERRORS} } }`,
        {
          input: {
            principalId: args[0],
            name: text(values['name']),
            roles: list(values['role'])?.map((role) => role.toUpperCase()),
            groups: list(values['group']),
            labels: labels(values['label']),
            ownerId: text(values['owner']),
          },
        },
        json,
        (payload) => [`✓ updated ${principalLine(payload.principal!)}`],
      ),
  },
  disable: {
    usage: 'ID [--reason TEXT]',
    summary: "Disable a principal: its tokens stop working at once, an agent's pending requests are cancelled.",
    positionals: 1,
    options: { reason: { type: 'string' } },
    run: ({ args, values, json }) =>
      mutate<PayloadErrors & { principal: PrincipalRow | null }>(
        ADMIN,
        'disablePrincipal',
        `mutation($input: DisablePrincipalInput!) { disablePrincipal(input: $input) { principal { ${PRINCIPAL_FIELDS} } ${ERRORS} } }`,
        { input: { principalId: args[0], reason: text(values['reason']) } },
        json,
        (payload) => [`✓ disabled ${principalLine(payload.principal!)}`],
      ),
  },
};

interface TokenRow {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
const TOKEN_FIELDS = 'id name createdAt expiresAt lastUsedAt revokedAt';

export const TOKEN_COMMANDS: Record<string, CliCommand> = {
  issue: {
    usage: '--name NAME [--principal ID] [--expires-at ISO_TIME]',
    summary: "Issue a token (the caller's own, or a principal's as an ADMIN); prints its secret, shown once.",
    positionals: 0,
    options: { name: { type: 'string' }, principal: { type: 'string' }, 'expires-at': { type: 'string' } },
    run: ({ values, json }) =>
      mutate<PayloadErrors & { token: TokenRow | null; secret: string | null }>(
        'a',
        'issueToken',
        `mutation($input: IssueTokenInput!) { issueToken(input: $input) { token { ${TOKEN_FIELDS} } secret ${ERRORS} } }`,
        { input: { name: required(values, 'name'), principalId: text(values['principal']), expiresAt: text(values['expires-at']) } },
        json,
        (payload) => [`✓ issued token ${payload.token!.id} (${payload.token!.name})`, `secret (shown once): ${payload.secret}`],
      ),
  },
  list: {
    usage: '[--principal ID]',
    summary: "List the caller's tokens, or a principal's (ADMIN), revoked ones included; never their secrets.",
    positionals: 0,
    options: { principal: { type: 'string' } },
    run: ({ values, json }) => {
      const id = text(values['principal']);
      return query<{ viewer?: { tokens: TokenRow[] | null } | null; principal?: { tokens: TokenRow[] | null } | null }, TokenRow[]>(
        'a',
        id ? `query($id: ID!) { principal(id: $id) { tokens { ${TOKEN_FIELDS} } } }` : `query { viewer { tokens { ${TOKEN_FIELDS} } } }`,
        id ? { id } : {},
        json,
        (data) => {
          if (!id && !data.viewer)
            throw new RefusedError('The server does not accept GREENLIGHT_TOKEN (unknown, revoked, expired, or its principal disabled).');
          if (id && !data.principal) throw new RefusedError(`No principal ${id} that this token may see.`);
          return (id ? data.principal?.tokens : data.viewer?.tokens) ?? [];
        },
        (rows) =>
          table(
            ['ID', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'],
            rows.map((t) => [t.id, t.name, t.createdAt, t.expiresAt ?? '-', t.lastUsedAt ?? '-', t.revokedAt ?? '-']),
          ),
      );
    },
  },
  revoke: {
    usage: 'TOKEN_ID',
    summary: 'Revoke a token: it stops working at once on every instance.',
    positionals: 1,
    options: {},
    run: ({ args, json }) =>
      mutate<PayloadErrors & { token: TokenRow | null }>(
        'a',
        'revokeToken',
        `mutation($input: RevokeTokenInput!) { revokeToken(input: $input) { token { ${TOKEN_FIELDS} } ${ERRORS} } }`,
        { input: { tokenId: args[0] } },
        json,
        (payload) => [`✓ revoked token ${payload.token!.id} (${payload.token!.name}) at ${payload.token!.revokedAt}`],
      ),
  },
};

interface DelegationRow {
  id: string;
  actions: string[];
  expiresAt: string | null;
  agent: { id: string; name: string };
  human: { id: string; name: string };
}
const DELEGATION_FIELDS = 'id actions expiresAt revokedAt agent { id name } human { id name }';

export const DELEGATION_COMMANDS: Record<string, CliCommand> = {
  grant: {
    usage: '--agent ID --action GLOB… [--human ID] [--expires-at ISO_TIME]',
    summary: 'Let an agent act for a human (the caller, or --human as an ADMIN) on the actions given.',
    positionals: 0,
    options: {
      agent: { type: 'string' },
      action: { type: 'string', multiple: true },
      human: { type: 'string' },
      'expires-at': { type: 'string' },
    },
    run: ({ values, json }) =>
      mutate<PayloadErrors & { delegation: DelegationRow | null }>(
        'a HUMAN (or ADMIN)',
        'grantDelegation',
        `mutation($input: GrantDelegationInput!) { grantDelegation(input: $input) { delegation { ${DELEGATION_FIELDS} } ${ERRORS} } }`,
        {
          input: {
            agentId: required(values, 'agent'),
            actions: list(values['action']) ?? [],
            humanId: text(values['human']),
            expiresAt: text(values['expires-at']),
          },
        },
        json,
        ({ delegation: d }) => [`✓ delegation ${d!.id}: ${d!.agent.name} may act for ${d!.human.name} on ${d!.actions.join(', ')}`],
      ),
  },
  revoke: {
    usage: 'DELEGATION_ID',
    summary: 'Revoke a delegation.',
    positionals: 1,
    options: {},
    run: ({ args, json }) =>
      mutate<PayloadErrors & { delegation: DelegationRow | null }>(
        'a HUMAN (or ADMIN)',
        'revokeDelegation',
        `mutation($input: RevokeDelegationInput!) { revokeDelegation(input: $input) { delegation { ${DELEGATION_FIELDS} } ${ERRORS} } }`,
        { input: { delegationId: args[0] } },
        json,
        ({ delegation: d }) => [`✓ revoked delegation ${d!.id}`],
      ),
  },
};

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  format: string;
  description: string | null;
}
const WEBHOOK_FIELDS = 'id url events format description createdAt previousSecretExpiresAt';

interface DeliveryRow {
  id: string;
  eventType: string;
  eventSeq: number;
  requestId: string | null;
  status: string;
  attemptCount: number;
  attempts: { statusCode: number | null; latencyMs: number; error: string | null }[];
}
const DELIVERY_FIELDS =
  'id eventType eventSeq requestId status attemptCount createdAt deliveredAt nextAttemptAt attempts { attemptedAt statusCode latencyMs error }';

export const WEBHOOK_COMMANDS: Record<string, CliCommand> = {
  create: {
    usage: '--url URL --event EVENT… [--format JSON|SLACK] [--description TEXT]',
    summary: 'Register an endpoint for events (action.escalated, …, or *); prints its signing secret, shown once.',
    positionals: 0,
    options: {
      url: { type: 'string' },
      event: { type: 'string', multiple: true },
      format: { type: 'string' },
      description: { type: 'string' },
    },
    run: ({ values, json }) =>
      mutate<PayloadErrors & { webhook: WebhookRow | null; secret: string | null }>(
        ADMIN,
        'createWebhook',
        `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { ${WEBHOOK_FIELDS} } secret ${ERRORS} } }`,
        {
          input: {
            url: required(values, 'url'),
            events: list(values['event']) ?? [],
            format: text(values['format'])?.toUpperCase(),
            description: text(values['description']),
          },
        },
        json,
        ({ webhook, secret }) => [
          `✓ webhook ${webhook!.id} → ${webhook!.url} (${webhook!.events.join(', ')})`,
          `secret (shown once): ${secret}`,
        ],
      ),
  },
  list: {
    usage: '',
    summary: 'List the webhook endpoints.',
    positionals: 0,
    options: {},
    run: ({ json }) =>
      query<{ webhooks: WebhookRow[] }, WebhookRow[]>(
        ADMIN,
        `query { webhooks { ${WEBHOOK_FIELDS} } }`,
        {},
        json,
        (data) => data.webhooks,
        (rows) =>
          rows.length === 0
            ? ['no webhooks']
            : table(
                ['ID', 'FORMAT', 'URL', 'EVENTS'],
                rows.map((w) => [w.id, w.format, w.url, w.events.join(',')]),
              ),
      ),
  },
  deliveries: {
    usage: 'WEBHOOK_ID [--status PENDING|DELIVERED|DEAD…] [--first N]',
    summary: "A webhook's deliveries, newest first, with every attempt's status code, latency and error.",
    positionals: 1,
    options: { status: { type: 'string', multiple: true }, first: { type: 'string' } },
    run: ({ args, values, json }) =>
      query<{ webhookDeliveries: { edges: { node: DeliveryRow }[] } }, DeliveryRow[]>(
        ADMIN,
        `query($id: ID!, $filter: WebhookDeliveryFilter, $first: Int) {
          webhookDeliveries(webhookId: $id, filter: $filter, first: $first) { edges { node { ${DELIVERY_FIELDS} } } }
        }`,
        {
          id: args[0],
          first: whole(values['first'], 'first') ?? 50,
          filter: { statuses: list(values['status'])?.map((status) => status.toUpperCase()) },
        },
        json,
        (data) => data.webhookDeliveries.edges.map((edge) => edge.node),
        (rows) =>
          rows.length === 0
            ? ['no deliveries']
            : table(
                ['ID', 'EVENT', 'SEQ', 'STATUS', 'ATTEMPTS', 'LAST'],
                rows.map((d) => {
                  const last = d.attempts.at(-1);
                  const outcome = last ? `${last.statusCode ?? last.error ?? '-'} in ${last.latencyMs} ms` : '-';
                  return [d.id, d.eventType, String(d.eventSeq), d.status, String(d.attemptCount), outcome];
                }),
              ),
      ),
  },
  redeliver: {
    usage: 'DELIVERY_ID',
    summary: 'Send a delivery again (a DEAD one, or one to try now).',
    positionals: 1,
    options: {},
    run: ({ args, json }) =>
      mutate<PayloadErrors & { delivery: DeliveryRow | null }>(
        ADMIN,
        'redeliverWebhook',
        `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { delivery { ${DELIVERY_FIELDS} } ${ERRORS} } }`,
        { id: args[0] },
        json,
        ({ delivery }) => [`✓ delivery ${delivery!.id} (${delivery!.eventType}) is ${delivery!.status}, due again now`],
      ),
  },
};
