import { POLICY_EFFECTS, type PolicyDocument, type PolicyRule } from './types.js';

/** One problem with a policy, naming the rule and the field so an author can fix it. */
export interface PolicyIssue {
  /** The offending rule's id (or its position when it has no usable id); null for the policy. */
  ruleId: string | null;
  /** Dotted path of the field inside the rule, e.g. `actions[2]`. */
  field: string;
  message: string;
}

export const POLICY_LIMITS = {
  maxRules: 10_000,
  maxGlobsPerRule: 100,
  maxGlobLength: 256,
  maxApprovals: 20,
  maxTimeoutSeconds: 30 * 24 * 3_600, // 30 days
  maxTextLength: 1_000,
} as const;

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/** Checks a glob for the mistakes picomatch would silently accept as literals. */
export function globProblem(glob: string): string | null {
  if (glob.length === 0) return 'must not be empty';
  if (glob.length > POLICY_LIMITS.maxGlobLength) return `must be at most ${POLICY_LIMITS.maxGlobLength} characters`;
  if (/[\s\p{Cc}]/u.test(glob)) return 'must not contain white space or control characters';
  const closers: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack: string[] = [];
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\') {
      i++;
      continue;
    }
    // Inside a character class `(`, `{` and `[` are literals (`[(]`, `[{]`); only `]` closes it.
    if (stack.at(-1) === ']' && char !== ']') continue;
    if (char in closers) stack.push(closers[char]!);
    else if (char === ']' || char === '}' || char === ')') {
      if (stack.pop() !== char) return `has an unbalanced '${char}'`;
    }
  }
  if (stack.length > 0) return `has an unclosed '${Object.keys(closers).find((k) => closers[k] === stack.at(-1))}'`;
  return null;
}

function validateRule(rule: PolicyRule, index: number, issues: PolicyIssue[]): void {
  const ruleId = typeof rule.id === 'string' && rule.id.length > 0 ? rule.id : `#${index + 1}`;
  const report = (field: string, message: string) => issues.push({ ruleId, field, message });

  if (!RULE_ID.test(rule.id ?? '')) {
    report('id', 'must start with a letter or digit and use only letters, digits, _ . : - (at most 100)');
  }
  if (!POLICY_EFFECTS.includes(rule.effect)) report('effect', `must be one of ${POLICY_EFFECTS.join(', ')}`);
  for (const field of ['actions', 'resources'] as const) {
    const globs = rule[field];
    if (!Array.isArray(globs) || globs.length === 0) {
      report(field, 'must list at least one glob (use "*" or "**" to match everything)');
      continue;
    }
    if (globs.length > POLICY_LIMITS.maxGlobsPerRule) report(field, `must list at most ${POLICY_LIMITS.maxGlobsPerRule} globs`);
    globs.forEach((glob, i) => {
      const problem = typeof glob === 'string' ? globProblem(glob) : 'must be a string';
      if (problem) report(`${field}[${i}]`, `glob ${JSON.stringify(glob)} ${problem}`);
    });
  }
  for (const field of ['description', 'reason'] as const) {
    const text = rule[field];
    if (text !== undefined && text !== null && text.length > POLICY_LIMITS.maxTextLength) {
      report(field, `must be at most ${POLICY_LIMITS.maxTextLength} characters`);
    }
    // PostgreSQL cannot store U+0000 in text or jsonb.
    if (typeof text === 'string' && text.includes('\u0000')) report(field, 'must not contain the NUL character (U+0000)');
  }
  const review = rule.review;
  if (review) {
    if (rule.effect !== 'ESCALATE') report('review', 'is only allowed on ESCALATE rules');
    review.groups?.forEach((group, i) => {
      if (!GROUP_NAME.test(group)) report(`review.groups[${i}]`, `group ${JSON.stringify(group)} is not a valid group name`);
    });
    const { approvals, timeoutSeconds } = review;
    if (approvals !== undefined && (!Number.isInteger(approvals) || approvals < 1 || approvals > POLICY_LIMITS.maxApprovals)) {
      report('review.approvals', `must be a whole number from 1 to ${POLICY_LIMITS.maxApprovals}`);
    }
    if (
      timeoutSeconds !== undefined &&
      (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > POLICY_LIMITS.maxTimeoutSeconds)
    ) {
      report('review.timeoutSeconds', `must be a whole number from 1 to ${POLICY_LIMITS.maxTimeoutSeconds}`);
    }
  }
}

/** Every problem with a policy document; an empty list means it can be compiled and published. */
export function validatePolicy(document: PolicyDocument): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (!POLICY_EFFECTS.includes(document.defaultEffect)) {
    issues.push({ ruleId: null, field: 'defaultEffect', message: `must be one of ${POLICY_EFFECTS.join(', ')}` });
  }
  if (document.rules.length > POLICY_LIMITS.maxRules) {
    issues.push({ ruleId: null, field: 'rules', message: `must hold at most ${POLICY_LIMITS.maxRules} rules` });
  }
  const seen = new Set<string>();
  document.rules.forEach((rule, index) => {
    validateRule(rule, index, issues);
    // A missing or empty id is already reported by position; it is not a duplicate of another.
    if (typeof rule.id !== 'string' || rule.id.length === 0) return;
    if (seen.has(rule.id)) issues.push({ ruleId: rule.id, field: 'id', message: `duplicate rule id ${JSON.stringify(rule.id)}` });
    seen.add(rule.id);
  });
  return issues;
}
