import type { CompiledRule } from './compile.js';
import type { EvaluationInput, PolicyEffect, RuleTrace, RuleUsage } from './types.js';

/** Candidates that did not apply listed one by one; the rest are counted. */
export const EXPLAINED_CANDIDATES = 10;

const quote = (text: string) => JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);

const list = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** The criteria a matching rule was matched on, e.g. `agents, actions, resources, when`. */
function criteria({ rule }: CompiledRule, usage: RuleUsage | undefined): string {
  const parts = [];
  if (rule.agents && (rule.agents.ids || rule.agents.groups || rule.agents.labels)) parts.push('agents');
  parts.push('actions', 'resources');
  if (rule.when) parts.push('when');
  if (rule.limit) {
    const { count, windowSeconds } = rule.limit;
    parts.push(`limit: ${usage?.get(rule.id) ?? 0} of ${count} used per ${windowSeconds} s`);
  }
  return parts.join(', ');
}

/** The request's strings, quoted once per explanation. */
interface Quoted {
  action: string;
  resource: string;
  agent: string;
}

function whyNot(entry: RuleTrace, rule: CompiledRule['rule'], quoted: Quoted, usage: RuleUsage | undefined): string {
  switch (entry.failed) {
    case 'agents':
      return `its agents selector does not include agent ${quoted.agent}`;
    case 'actions':
      return `its actions do not match ${quoted.action}`;
    case 'resources':
      return `its resources do not match ${quoted.resource}`;
    case 'when':
      return entry.error === undefined
        ? 'its when condition was false'
        : `its when condition failed (${entry.error}), and an error never allows`;
    case 'limit':
      return `its limit of ${rule.limit?.count} per ${rule.limit?.windowSeconds} s was reached (${usage?.get(rule.id) ?? 0} used)`;
    default:
      return 'it matched';
  }
}

// The rules that came closest to applying are the most useful to read about first.
const CLOSENESS = ['limit', 'when', 'agents', 'resources', 'actions'] as const;

/** One rule the index offered, and how it fared. */
export interface Considered {
  compiled: CompiledRule;
  entry: RuleTrace;
}

export interface ExplainInput {
  effect: PolicyEffect;
  deciding: CompiledRule[];
  outranked: CompiledRule[];
  /** Every rule the index offered, in policy order. */
  considered: Considered[];
  input: EvaluationInput;
  usage: RuleUsage | undefined;
}

/** Sentences a human can read: what decided and on which criteria, and why other candidates did not. */
export function explain({ effect, deciding, outranked, considered, input, usage }: ExplainInput): string {
  const quoted: Quoted = { action: quote(input.action), resource: quote(input.resource), agent: '' };
  const target = `action ${quoted.action} on ${quoted.resource}`;
  let text: string;
  if (deciding.length === 0) {
    text = `No rule matched ${target}; the policy's default effect ${effect} applies.`;
  } else {
    const names = deciding.map((compiled) => `"${compiled.rule.id}" (${criteria(compiled, usage)})`);
    text = `${effect} for ${target}, decided by rule${deciding.length > 1 ? 's' : ''} ${list(names)}.`;
  }
  let missed = 0;
  for (const { entry } of considered) {
    if (entry.failed !== null) missed++;
    else if (entry.error !== undefined) text += ` "${entry.ruleId}" counted as matched because its when condition failed (${entry.error}).`;
  }
  if (outranked.length > 0) {
    text += ` Also matched but outranked by ${effect}: ${outranked.map(({ rule }) => `"${rule.id}" (${rule.effect})`).join(', ')}.`;
  }
  if (missed === 0) return text;
  if (considered.some(({ entry }) => entry.failed === 'agents')) quoted.agent = quote(input.agent.id);
  let told = 0;
  closest: for (const criterion of CLOSENESS) {
    for (const { entry, compiled } of considered) {
      if (entry.failed !== criterion) continue;
      if (told++ === EXPLAINED_CANDIDATES) break closest;
      text += ` "${entry.ruleId}" did not apply: ${whyNot(entry, compiled.rule, quoted, usage)}.`;
    }
  }
  if (missed > EXPLAINED_CANDIDATES) {
    const more = missed - EXPLAINED_CANDIDATES;
    text += ` ${more} more candidate rule${more > 1 ? 's' : ''} did not apply.`;
  }
  return text;
}
