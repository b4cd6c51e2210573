import { compileCondition, type CompiledCondition } from './cel.js';
import { GLOB_LIMITS, globProblem } from './globs.js';
import { redactionPathProblems } from './redaction-paths.js';
import { DEFAULT_REVIEW, LimitScope, POLICY_EFFECTS, TimeoutAction, type PolicyDocument, type PolicyRule } from './types.js';

export { globProblem };

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
  maxGlobLength: GLOB_LIMITS.maxLength,
  maxApprovals: 20,
  maxTimeoutSeconds: 30 * 24 * 3_600, // 30 days
  maxTextLength: 1_000,
  /** Ids, groups or labels in one agent selector criterion. */
  maxSelectorEntries: 100,
  maxLabelValueLength: 200,
  maxConditionLength: 4_000,
  maxLimitCount: 100_000,
  maxLimitWindowSeconds: 30 * 24 * 3_600, // 30 days
  maxEscalationSteps: 10,
  maxValidForSeconds: 7 * 24 * 3_600, // 7 days
} as const;

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
// The same keys principals may carry (src/auth): letters, digits and _ . / -.
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,99}$/;
const LIMIT_SCOPES = Object.values(LimitScope);
const TIMEOUT_ACTIONS = Object.values(TimeoutAction);

/** PostgreSQL stores policies as jsonb, which refuses a lone surrogate. */
const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isWhole = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
const present = (value: unknown): boolean => value !== undefined && value !== null;

type Report = (field: string, message: string) => void;

function validateGroups(groups: unknown, field: string, report: Report, requireOne: boolean): void {
  if (!Array.isArray(groups)) {
    report(field, 'must be a list of group names');
    return;
  }
  if (requireOne && groups.length === 0) report(field, 'must list at least one group');
  if (groups.length > POLICY_LIMITS.maxSelectorEntries) report(field, `must list at most ${POLICY_LIMITS.maxSelectorEntries} groups`);
  groups.forEach((group, i) => {
    if (typeof group !== 'string' || !GROUP_NAME.test(group)) {
      report(`${field}[${i}]`, `group ${JSON.stringify(group)} is not a valid group name`);
    }
  });
}

function validateAgents(agents: unknown, report: Report): void {
  if (!isObject(agents)) {
    report('agents', 'must be an object with ids, groups and/or labels');
    return;
  }
  const { ids, groups, labels } = agents;
  if (present(ids)) {
    if (!Array.isArray(ids) || ids.length === 0) report('agents.ids', 'must list at least one principal id (omit it to match any agent)');
    else {
      if (ids.length > POLICY_LIMITS.maxSelectorEntries) report('agents.ids', `must list at most ${POLICY_LIMITS.maxSelectorEntries} ids`);
      ids.forEach((id, i) => {
        if (typeof id !== 'string' || id.length === 0 || id.length > 200 || /\p{Cc}/u.test(id) || !wellFormed(id)) {
          report(`agents.ids[${i}]`, `id ${JSON.stringify(id)} must be a non-empty string of at most 200 characters`);
        }
      });
    }
  }
  if (present(groups)) {
    if (Array.isArray(groups) && groups.length === 0) report('agents.groups', 'must list at least one group (omit it to match any agent)');
    else validateGroups(groups, 'agents.groups', report, false);
  }
  if (present(labels)) {
    if (!isObject(labels) || Object.keys(labels).length === 0) {
      report('agents.labels', 'must map at least one label key to a value, e.g. {"team": "payments"} (omit it to match any agent)');
      return;
    }
    const entries = Object.entries(labels);
    if (entries.length > POLICY_LIMITS.maxSelectorEntries)
      report('agents.labels', `must hold at most ${POLICY_LIMITS.maxSelectorEntries} labels`);
    for (const [key, value] of entries) {
      if (!LABEL_KEY.test(key))
        report(`agents.labels.${key}`, `label key ${JSON.stringify(key)} must use letters, digits and _ . / - (at most 100)`);
      if (typeof value !== 'string' || value.length > POLICY_LIMITS.maxLabelValueLength || value.includes('\u0000') || !wellFormed(value)) {
        report(`agents.labels.${key}`, `label value must be a string of at most ${POLICY_LIMITS.maxLabelValueLength} characters`);
      }
    }
  }
}

function validateWhen(when: unknown, report: Report, conditions: Map<string, CompiledCondition> | undefined): void {
  if (typeof when !== 'string' || when.trim().length === 0) {
    report('when', 'must be a non-empty CEL expression (omit it to always apply)');
    return;
  }
  if (when.length > POLICY_LIMITS.maxConditionLength) {
    report('when', `must be at most ${POLICY_LIMITS.maxConditionLength} characters`);
    return;
  }
  if (!wellFormed(when)) {
    report('when', 'must be valid Unicode text (it holds a lone surrogate)');
    return;
  }
  let compiled = conditions?.get(when);
  if (!compiled) {
    compiled = compileCondition(when);
    conditions?.set(when, compiled);
  }
  if (compiled.problem !== null) report('when', `CEL condition ${compiled.problem}`);
}

function validateLimit(limit: unknown, report: Report): void {
  if (!isObject(limit)) {
    report('limit', 'must be an object with count, windowSeconds and per');
    return;
  }
  if (!isWhole(limit.count, 1, POLICY_LIMITS.maxLimitCount))
    report('limit.count', `must be a whole number from 1 to ${POLICY_LIMITS.maxLimitCount}`);
  if (!isWhole(limit.windowSeconds, 1, POLICY_LIMITS.maxLimitWindowSeconds)) {
    report('limit.windowSeconds', `must be a whole number from 1 to ${POLICY_LIMITS.maxLimitWindowSeconds}`);
  }
  if (!LIMIT_SCOPES.includes(limit.per as LimitScope)) report('limit.per', `must be one of ${LIMIT_SCOPES.join(', ')}`);
}

function validateReview(review: unknown, effect: unknown, report: Report): void {
  if (effect !== 'ESCALATE') report('review', 'is only allowed on ESCALATE rules');
  if (!isObject(review)) {
    report('review', 'must be an object with groups, approvals, timeoutSeconds, onTimeout, escalation, allowStanding and/or remindAt');
    return;
  }
  const { groups, approvals, timeoutSeconds, onTimeout, escalation, allowStanding, remindAt } = review;
  if (present(allowStanding) && typeof allowStanding !== 'boolean') report('review.allowStanding', 'must be true or false');
  if (present(remindAt) && !(typeof remindAt === 'number' && remindAt > 0 && remindAt < 1)) {
    report('review.remindAt', 'must be a number between 0 and 1 (exclusive): the share of the timeout after which reviewers are reminded');
  }
  if (present(groups)) validateGroups(groups, 'review.groups', report, false);
  if (present(approvals) && !isWhole(approvals, 1, POLICY_LIMITS.maxApprovals)) {
    report('review.approvals', `must be a whole number from 1 to ${POLICY_LIMITS.maxApprovals}`);
  }
  const timeoutValid = isWhole(timeoutSeconds, 1, POLICY_LIMITS.maxTimeoutSeconds);
  if (present(timeoutSeconds) && !timeoutValid) {
    report('review.timeoutSeconds', `must be a whole number from 1 to ${POLICY_LIMITS.maxTimeoutSeconds}`);
  }
  if (present(onTimeout) && !TIMEOUT_ACTIONS.includes(onTimeout as TimeoutAction)) {
    report('review.onTimeout', `must be one of ${TIMEOUT_ACTIONS.join(', ')}`);
  }
  if (!present(escalation)) return;
  if (!Array.isArray(escalation)) {
    report('review.escalation', 'must be a list of steps {afterSeconds, groups}');
    return;
  }
  if (escalation.length > POLICY_LIMITS.maxEscalationSteps) {
    report('review.escalation', `must list at most ${POLICY_LIMITS.maxEscalationSteps} steps`);
  }
  // A rule without a timeout waits the default one.
  const deadline = !present(timeoutSeconds) ? DEFAULT_REVIEW.timeoutSeconds : timeoutValid ? (timeoutSeconds as number) : null;
  escalation.forEach((step: unknown, i) => {
    const field = `review.escalation[${i}]`;
    if (!isObject(step)) {
      report(field, 'must be an object {afterSeconds, groups}');
      return;
    }
    if (!isWhole(step.afterSeconds, 1, POLICY_LIMITS.maxTimeoutSeconds)) {
      report(`${field}.afterSeconds`, `must be a whole number from 1 to ${POLICY_LIMITS.maxTimeoutSeconds}`);
    } else if (deadline !== null && (step.afterSeconds as number) >= deadline) {
      const timeout = present(timeoutSeconds) ? `review.timeoutSeconds (${deadline})` : `the default review.timeoutSeconds (${deadline})`;
      report(`${field}.afterSeconds`, `must be less than ${timeout}, or the step never happens`);
    }
    validateGroups(step.groups, `${field}.groups`, report, true);
  });
}

function validateRule(
  rule: PolicyRule,
  index: number,
  issues: PolicyIssue[],
  conditions: Map<string, CompiledCondition> | undefined,
): void {
  const ruleId = typeof rule.id === 'string' && rule.id.length > 0 ? rule.id : `#${index + 1}`;
  const report: Report = (field, message) => issues.push({ ruleId, field, message });

  if (typeof rule.id !== 'string' || !RULE_ID.test(rule.id)) {
    report('id', 'must start with a letter or digit and use only letters, digits, _ . : - (at most 100)');
  }
  if (!POLICY_EFFECTS.includes(rule.effect)) report('effect', `must be one of ${POLICY_EFFECTS.join(', ')}`);
  if (present(rule.agents)) validateAgents(rule.agents, report);
  for (const field of ['actions', 'resources'] as const) {
    const globs: unknown = rule[field];
    if (!Array.isArray(globs) || globs.length === 0) {
      report(field, 'must list at least one glob (use "*" or "**" to match everything)');
      continue;
    }
    if (globs.length > POLICY_LIMITS.maxGlobsPerRule) report(field, `must list at most ${POLICY_LIMITS.maxGlobsPerRule} globs`);
    globs.forEach((glob: unknown, i) => {
      const problem = typeof glob === 'string' ? globProblem(glob) : 'must be a string';
      if (problem) report(`${field}[${i}]`, `glob ${JSON.stringify(glob)} ${problem}`);
    });
  }
  if (present(rule.when)) validateWhen(rule.when, report, conditions);
  if (present(rule.limit)) validateLimit(rule.limit, report);
  if (present(rule.requireReason) && typeof rule.requireReason !== 'boolean') report('requireReason', 'must be true or false');
  if (present(rule.validForSeconds)) {
    const value: unknown = rule.validForSeconds;
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > POLICY_LIMITS.maxValidForSeconds) {
      report('validForSeconds', `must be a whole number from 1 to ${POLICY_LIMITS.maxValidForSeconds}`);
    } else if (rule.effect === 'BLOCK') {
      report('validForSeconds', 'is only allowed on ALLOW and ESCALATE rules (a block approves nothing)');
    }
  }
  for (const field of ['description', 'reason'] as const) {
    const text: unknown = rule[field];
    if (!present(text)) continue;
    if (typeof text !== 'string') {
      report(field, 'must be a string');
      continue;
    }
    if (text.length > POLICY_LIMITS.maxTextLength) report(field, `must be at most ${POLICY_LIMITS.maxTextLength} characters`);
    // PostgreSQL cannot store U+0000 in text or jsonb, nor a lone surrogate in jsonb.
    if (text.includes('\u0000')) report(field, 'must not contain the NUL character (U+0000)');
    if (!wellFormed(text)) report(field, 'must be valid Unicode text (it holds a lone surrogate)');
  }
  if (present(rule.review)) validateReview(rule.review, rule.effect, report);
  if (present(rule.allowAmend)) {
    if (typeof rule.allowAmend !== 'boolean') report('allowAmend', 'must be true or false');
    // `false` means the same as absent, so it is accepted anywhere (the API reads it back as false).
    else if (rule.allowAmend && rule.effect !== 'ESCALATE') report('allowAmend', 'is only allowed on ESCALATE rules');
  }
}

/**
 * Every problem with a policy document; an empty list means it can be compiled and published.
 * `conditions`, when given, collects each `when` compiled on the way so `compilePolicy` does not
 * compile it twice.
 */
export function collectPolicyIssues(document: PolicyDocument, conditions?: Map<string, CompiledCondition>): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (!POLICY_EFFECTS.includes(document.defaultEffect)) {
    issues.push({ ruleId: null, field: 'defaultEffect', message: `must be one of ${POLICY_EFFECTS.join(', ')}` });
  }
  if (present(document.redact)) issues.push(...redactionPathProblems(document.redact).map((problem) => ({ ruleId: null, ...problem })));
  const rules: unknown = document.rules;
  if (!Array.isArray(rules)) {
    issues.push({ ruleId: null, field: 'rules', message: 'must be a list of rules' });
    return issues;
  }
  if (rules.length > POLICY_LIMITS.maxRules) {
    issues.push({ ruleId: null, field: 'rules', message: `must hold at most ${POLICY_LIMITS.maxRules} rules` });
  }
  const seen = new Set<string>();
  rules.forEach((rule: unknown, index) => {
    if (!isObject(rule)) {
      issues.push({ ruleId: `#${index + 1}`, field: '', message: 'must be an object' });
      return;
    }
    validateRule(rule as unknown as PolicyRule, index, issues, conditions);
    // A missing or empty id is already reported by position; it is not a duplicate of another.
    if (typeof rule.id !== 'string' || rule.id.length === 0) return;
    if (seen.has(rule.id)) issues.push({ ruleId: rule.id, field: 'id', message: `duplicate rule id ${JSON.stringify(rule.id)}` });
    seen.add(rule.id);
  });
  return issues;
}

/** Every problem with a policy document; an empty list means it can be compiled and published. */
export function validatePolicy(document: PolicyDocument): PolicyIssue[] {
  return collectPolicyIssues(document);
}
