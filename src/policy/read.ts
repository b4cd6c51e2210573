import type { PolicyDocument, PolicyRule } from './types.js';
import { validatePolicy, type PolicyIssue } from './validate.js';

/** The fields each object of a policy document may carry; anything else is a typo to report. */
const FIELDS = {
  document: ['rules', 'defaultEffect', 'redact'],
  rule: [
    'id',
    'description',
    'effect',
    'agents',
    'actions',
    'resources',
    'when',
    'limit',
    'requireReason',
    'validForSeconds',
    'review',
    'allowAmend',
    'reason',
  ],
  agents: ['ids', 'groups', 'labels'],
  limit: ['count', 'windowSeconds', 'per'],
  review: ['groups', 'approvals', 'timeoutSeconds', 'onTimeout', 'escalation', 'allowStanding', 'remindAt'],
  escalation: ['afterSeconds', 'groups'],
} as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Levenshtein distance, for "did you mean" on a misspelt field name. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function unknownFields(
  value: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  report: (field: string, message: string) => void,
) {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = known.find((candidate) => distance(key.toLowerCase(), candidate.toLowerCase()) <= 2);
    const hint = near ? `; did you mean "${near}"?` : `; known fields: ${known.join(', ')}`;
    report(`${prefix}${key}`, `unknown field ${JSON.stringify(key)}${hint}`);
  }
}

/** YAML's `~` and GraphQL's null mean "not given" for optional fields. */
const optional = (value: unknown): unknown => (value === null ? undefined : value);

function readRule(raw: Record<string, unknown>, report: (field: string, message: string) => void): PolicyRule {
  unknownFields(raw, FIELDS.rule, '', report);
  const nested = (name: 'agents' | 'limit' | 'review'): unknown => {
    const value = optional(raw[name]);
    if (isObject(value)) {
      unknownFields(value, FIELDS[name], `${name}.`, report);
      if (name === 'review' && Array.isArray(value.escalation)) {
        value.escalation.forEach((step: unknown, i) => {
          if (isObject(step)) unknownFields(step, FIELDS.escalation, `review.escalation[${i}].`, report);
        });
      }
      // Drop nulls inside, so `groups: ~` reads as absent like at the top level.
      return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
    }
    return value;
  };
  const rule: PolicyRule = {
    id: raw.id as string,
    description: optional(raw.description) as string | undefined,
    effect: raw.effect as PolicyRule['effect'],
    agents: nested('agents') as PolicyRule['agents'],
    actions: raw.actions as string[],
    resources: raw.resources as string[],
    when: optional(raw.when) as string | undefined,
    limit: nested('limit') as PolicyRule['limit'],
    requireReason: optional(raw.requireReason) as boolean | undefined,
    validForSeconds: optional(raw.validForSeconds) as number | undefined,
    review: nested('review') as PolicyRule['review'],
    allowAmend: optional(raw.allowAmend) as boolean | undefined,
    reason: optional(raw.reason) as string | undefined,
  };
  // Only the fields given, so the stored document (and its content hash) is what the author wrote.
  for (const key of Object.keys(rule) as (keyof PolicyRule)[]) if (rule[key] === undefined) delete rule[key];
  return rule;
}

/**
 * Turns untrusted data (parsed JSON or YAML, GraphQL input) into a policy document: reports
 * values of the wrong type and unknown fields (typos such as `efect`), then everything
 * `validatePolicy` finds. The document is returned only when there is no issue at all.
 * `defaultEffect` defaults to ESCALATE (fail closed).
 */
export function readPolicyDocument(raw: unknown): { document: PolicyDocument | null; issues: PolicyIssue[] } {
  if (!isObject(raw)) {
    return {
      document: null,
      issues: [{ ruleId: null, field: '', message: 'a policy must be an object with "rules" and optionally "defaultEffect" and "redact"' }],
    };
  }
  const issues: PolicyIssue[] = [];
  unknownFields(raw, FIELDS.document, '', (field, message) => issues.push({ ruleId: null, field, message }));
  const rawRules = optional(raw.rules) ?? [];
  if (!Array.isArray(rawRules)) {
    issues.push({ ruleId: null, field: 'rules', message: 'must be a list of rules' });
    return { document: null, issues };
  }
  const ruleIssues: PolicyIssue[][] = [];
  const rules = rawRules.map((rawRule: unknown, index): PolicyRule => {
    const own: PolicyIssue[] = [];
    ruleIssues.push(own);
    if (!isObject(rawRule)) return rawRule as PolicyRule; // reported by validatePolicy
    const ruleId = typeof rawRule.id === 'string' && rawRule.id.length > 0 ? rawRule.id : `#${index + 1}`;
    return readRule(rawRule, (field, message) => own.push({ ruleId, field, message }));
  });
  const document: PolicyDocument = {
    rules,
    defaultEffect: (optional(raw.defaultEffect) ?? 'ESCALATE') as PolicyDocument['defaultEffect'],
  };
  if (optional(raw.redact) !== undefined) document.redact = raw.redact as string[];

  // Group each rule's issues together, in rule order: its unknown fields, then its validation.
  const validation = validatePolicy(document);
  const position = new Map<string, number>();
  rules.forEach((rule, index) => {
    const id = isObject(rule) && typeof rule.id === 'string' && rule.id.length > 0 ? rule.id : `#${index + 1}`;
    if (!position.has(id)) position.set(id, index);
  });
  const rank = (issue: PolicyIssue) => (issue.ruleId === null ? -1 : (position.get(issue.ruleId) ?? rules.length));
  const ordered = [...ruleIssues.flat(), ...validation]
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => rank(a.issue) - rank(b.issue) || a.order - b.order);
  issues.push(...ordered.map(({ issue }) => issue));
  return { document: issues.length === 0 ? document : null, issues };
}
