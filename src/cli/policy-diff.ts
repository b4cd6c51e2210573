import type { PolicyDocument, PolicyRule } from '../policy/index.js';
import { DEFAULT_REMIND_AT, DEFAULT_REVIEW } from '../policy/index.js';
import { callGraphQL, ServerError, type ServerOptions } from './graphql-client.js';

/** What differs between a policy file and a published version, rule by rule (by id). */
export interface PolicyDiff {
  /** The version compared with. */
  version: number;
  defaultEffect: { from: string; to: string } | null;
  redact: { added: string[]; removed: string[] };
  addedRules: string[];
  removedRules: string[];
  /** Rules in both whose settings differ, with each differing field's old and new value. */
  changedRules: { id: string; fields: Record<string, { from: unknown; to: unknown }> }[];
  /** False when nothing differs. */
  changed: boolean;
}

const RULE_SELECTION = `id description effect actions resources when requireReason reason allowAmend validForSeconds
  agents { ids groups labels } limit { count windowSeconds per }
  review { groups approvals timeoutSeconds onTimeout allowStanding remindAt escalation { afterSeconds groups } }`;

interface ServerVersion {
  version: number;
  defaultEffect: string;
  redact: string[];
  rules: Record<string, unknown>[];
}

/** The published version `version`, or the active one. */
async function fetchVersion(server: ServerOptions, version: number | undefined): Promise<ServerVersion> {
  const fields = `version defaultEffect redact rules { ${RULE_SELECTION} }`;
  if (version === undefined) {
    const data = await callGraphQL<{ activePolicy: ServerVersion | null }>(server, `query { activePolicy { ${fields} } }`, {});
    if (!data.activePolicy) throw new ServerError('No policy was ever published: there is nothing to compare with.');
    return data.activePolicy;
  }
  // The cursor just before the wanted version, then that one version (documents are large).
  let after: string | null = null;
  let before: string | null = null;
  for (;;) {
    const page: {
      policyVersions: {
        edges: { cursor: string; node: { version: number } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } = await callGraphQL(
      server,
      'query($after: String) { policyVersions(first: 100, after: $after) { edges { cursor node { version } } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    const at = page.policyVersions.edges.findIndex((edge) => edge.node.version === version);
    if (at >= 0) {
      before = at > 0 ? page.policyVersions.edges[at - 1]!.cursor : after;
      break;
    }
    if (!page.policyVersions.pageInfo.hasNextPage) throw new ServerError(`No policy version ${version}.`);
    after = page.policyVersions.pageInfo.endCursor;
  }
  const data = await callGraphQL<{ policyVersions: { edges: { node: ServerVersion }[] } }>(
    server,
    `query($after: String) { policyVersions(first: 1, after: $after) { edges { node { ${fields} } } } }`,
    { after: before },
  );
  const node = data.policyVersions.edges[0]?.node;
  if (!node || node.version !== version) throw new ServerError(`Policy version ${version} could not be read.`);
  return node;
}

/** A rule with every default filled in and unset fields left out, so a file and the server compare alike. */
function normalized(rule: Record<string, unknown>): Record<string, unknown> {
  const review = rule['review'] as Record<string, unknown> | null | undefined;
  const agents = rule['agents'] as Record<string, unknown> | null | undefined;
  const out: Record<string, unknown> = {
    description: rule['description'] ?? null,
    effect: rule['effect'],
    actions: rule['actions'],
    resources: rule['resources'],
    when: rule['when'] ?? null,
    requireReason: rule['requireReason'] === true,
    reason: rule['reason'] ?? null,
    allowAmend: rule['allowAmend'] === true,
    validForSeconds: rule['validForSeconds'] ?? null,
    agents: agents ? { ids: agents['ids'] ?? [], groups: agents['groups'] ?? [], labels: agents['labels'] ?? {} } : null,
    limit: rule['limit'] ?? null,
    review: review
      ? {
          groups: review['groups'] ?? DEFAULT_REVIEW.groups,
          approvals: review['approvals'] ?? DEFAULT_REVIEW.approvals,
          timeoutSeconds: review['timeoutSeconds'] ?? DEFAULT_REVIEW.timeoutSeconds,
          onTimeout: review['onTimeout'] ?? 'EXPIRE',
          allowStanding: review['allowStanding'] !== false,
          remindAt: review['remindAt'] ?? DEFAULT_REMIND_AT,
          escalation: review['escalation'] ?? [],
        }
      : null,
  };
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Compares a policy file with a published version (default: the active one). */
export async function diffPolicy(server: ServerOptions, document: PolicyDocument, version?: number): Promise<PolicyDiff> {
  const published = await fetchVersion(server, version);
  const before = new Map(published.rules.map((rule) => [String(rule['id']), normalized(rule)]));
  const after = new Map(document.rules.map((rule: PolicyRule) => [rule.id, normalized(rule as unknown as Record<string, unknown>)]));
  const changedRules: PolicyDiff['changedRules'] = [];
  for (const [id, rule] of after) {
    const old = before.get(id);
    if (!old) continue;
    const fields: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of Object.keys(rule)) if (!same(old[key], rule[key])) fields[key] = { from: old[key], to: rule[key] };
    if (Object.keys(fields).length > 0) changedRules.push({ id, fields });
  }
  const redactAfter = document.redact ?? [];
  const diff: PolicyDiff = {
    version: published.version,
    defaultEffect:
      published.defaultEffect === document.defaultEffect ? null : { from: published.defaultEffect, to: document.defaultEffect },
    redact: {
      added: redactAfter.filter((path) => !published.redact.includes(path)),
      removed: published.redact.filter((path) => !redactAfter.includes(path)),
    },
    addedRules: [...after.keys()].filter((id) => !before.has(id)),
    removedRules: [...before.keys()].filter((id) => !after.has(id)),
    changedRules,
    changed: false,
  };
  diff.changed =
    diff.defaultEffect !== null ||
    diff.redact.added.length + diff.redact.removed.length + diff.addedRules.length + diff.removedRules.length + changedRules.length > 0;
  return diff;
}

/** The diff for people: one line per change, `+` added, `-` removed, `~` changed. */
export function formatPolicyDiff(file: string, diff: PolicyDiff): string[] {
  if (!diff.changed) return [`${file} publishes the same policy as version ${diff.version}`];
  const lines = [`${file} against version ${diff.version}:`];
  if (diff.defaultEffect) lines.push(`~ defaultEffect: ${diff.defaultEffect.from} → ${diff.defaultEffect.to}`);
  for (const path of diff.redact.added) lines.push(`+ redact ${path}`);
  for (const path of diff.redact.removed) lines.push(`- redact ${path}`);
  for (const id of diff.addedRules) lines.push(`+ rule ${id}`);
  for (const id of diff.removedRules) lines.push(`- rule ${id}`);
  for (const { id, fields } of diff.changedRules) {
    lines.push(`~ rule ${id}`);
    for (const [field, { from, to }] of Object.entries(fields)) lines.push(`    ${field}: ${JSON.stringify(from)} → ${JSON.stringify(to)}`);
  }
  return lines;
}
