import type { CompiledCondition, Condition } from './cel.js';
import { compileGlobs, type Matcher } from './globs.js';
import { buildRuleIndex, type RuleIndex } from './rule-index.js';
import type { AgentSelector, PolicyDocument, PolicyRule, PolicySubject } from './types.js';
import { collectPolicyIssues, type PolicyIssue } from './validate.js';

export interface CompiledRule {
  rule: PolicyRule;
  /** The rule's position in the policy. */
  position: number;
  matchesAgent: (agent: PolicySubject) => boolean;
  matchesAction: Matcher;
  matchesResource: Matcher;
  /** The `when` condition, compiled; null when the rule has none. */
  condition: Condition | null;
}

/** A policy version ready for evaluation: globs and CEL compiled once, rules indexed. */
export interface CompiledPolicy {
  /** Null for the built-in policy used before any version is published. */
  version: number | null;
  document: PolicyDocument;
  rules: CompiledRule[];
  /** Narrows a request to the rules whose action and resource globs may match it. */
  index: RuleIndex;
}

export class InvalidPolicyError extends Error {
  override name = 'InvalidPolicyError';
  constructor(readonly issues: PolicyIssue[]) {
    super(`Invalid policy: ${issues.map((i) => `${i.ruleId ?? 'policy'}.${i.field} ${i.message}`).join('; ')}`);
  }
}

const anyAgent = () => true;

/** AND across the criteria given, OR within one; an empty selector matches every agent. */
function compileAgents(selector: AgentSelector | undefined): (agent: PolicySubject) => boolean {
  if (!selector) return anyAgent;
  const ids = selector.ids ? new Set(selector.ids) : null;
  const groups = selector.groups ? new Set(selector.groups) : null;
  const labels = selector.labels ? Object.entries(selector.labels) : null;
  if (!ids && !groups && !labels) return anyAgent;
  return (agent) => {
    if (ids && !ids.has(agent.id)) return false;
    if (groups && !agent.groups.some((group) => groups.has(group))) return false;
    if (labels) {
      for (const [key, value] of labels) {
        if (!Object.hasOwn(agent.labels, key) || agent.labels[key] !== value) return false;
      }
    }
    return true;
  };
}

/** Validates and compiles a policy document; throws `InvalidPolicyError` listing every issue. */
export function compilePolicy(document: PolicyDocument, version: number | null): CompiledPolicy {
  const conditions = new Map<string, CompiledCondition>();
  const issues = collectPolicyIssues(document, conditions);
  if (issues.length > 0) throw new InvalidPolicyError(issues);
  // Policies repeat globs (`**`, `prod/**`): each distinct one is compiled once.
  const globs = new Map<string, Matcher>();
  const rules = document.rules.map((rule, position): CompiledRule => ({
    rule,
    position,
    matchesAgent: compileAgents(rule.agents),
    matchesAction: compileGlobs(rule.actions, globs),
    matchesResource: compileGlobs(rule.resources, globs),
    condition: rule.when === undefined || rule.when === null ? null : conditions.get(rule.when)!.condition,
  }));
  return { version, document, rules, index: buildRuleIndex(document.rules) };
}

/** The policy in force before any version is published: every request goes to a human. */
export const BUILT_IN_POLICY: CompiledPolicy = compilePolicy({ rules: [], defaultEffect: 'ESCALATE' }, null);
