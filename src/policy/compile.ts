import picomatch from 'picomatch';
import type { PolicyDocument, PolicyRule } from './types.js';
import { validatePolicy, type PolicyIssue } from './validate.js';

type Matcher = (value: string) => boolean;

export interface CompiledRule {
  rule: PolicyRule;
  matchesAction: Matcher;
  matchesResource: Matcher;
}

/** A policy version ready for evaluation: globs compiled once, never at request time. */
export interface CompiledPolicy {
  /** Null for the built-in policy used before any version is published. */
  version: number | null;
  document: PolicyDocument;
  rules: CompiledRule[];
}

export class InvalidPolicyError extends Error {
  override name = 'InvalidPolicyError';
  constructor(readonly issues: PolicyIssue[]) {
    super(`Invalid policy: ${issues.map((i) => `${i.ruleId ?? 'policy'}.${i.field} ${i.message}`).join('; ')}`);
  }
}

// `dot: true` so `prod/**` also matches `prod/.well-known`; resources are names, not files.
const GLOB_OPTIONS = { dot: true } as const;

function compileGlobs(globs: string[]): Matcher {
  const matchers = globs.map((glob) => picomatch(glob, GLOB_OPTIONS));
  return matchers.length === 1 ? matchers[0]! : (value) => matchers.some((match) => match(value));
}

/** Validates and compiles a policy document; throws `InvalidPolicyError` listing every issue. */
export function compilePolicy(document: PolicyDocument, version: number | null): CompiledPolicy {
  const issues = validatePolicy(document);
  if (issues.length > 0) throw new InvalidPolicyError(issues);
  return {
    version,
    document,
    rules: document.rules.map((rule) => ({
      rule,
      matchesAction: compileGlobs(rule.actions),
      matchesResource: compileGlobs(rule.resources),
    })),
  };
}

/** The policy in force before any version is published: every request goes to a human. */
export const BUILT_IN_POLICY: CompiledPolicy = compilePolicy({ rules: [], defaultEffect: 'ESCALATE' }, null);
