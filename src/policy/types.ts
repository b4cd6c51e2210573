/**
 * The policy language, as plain data. This folder is pure: no database, no GraphQL, no I/O and
 * no clock (time, once rules use it, is an argument), so it is tested table-driven and benchmarked alone.
 */

/** What a policy decides for a request. Precedence: BLOCK beats ESCALATE beats ALLOW. */
export const PolicyEffect = {
  ALLOW: 'ALLOW',
  ESCALATE: 'ESCALATE',
  BLOCK: 'BLOCK',
} as const;
export type PolicyEffect = (typeof PolicyEffect)[keyof typeof PolicyEffect];
export const POLICY_EFFECTS = Object.values(PolicyEffect);

/** Who must review an escalated request, and for how long it waits. */
export interface ReviewRequirement {
  /** Reviewer groups that may decide; empty means any reviewer. */
  groups: string[];
  /** Distinct people who must approve. */
  approvals: number;
  /** Seconds the request stays pending before it expires. */
  timeoutSeconds: number;
}

export interface PolicyRule {
  id: string;
  description?: string | undefined;
  effect: PolicyEffect;
  /** Globs over the action name, e.g. `deploy.*`. */
  actions: string[];
  /** Globs over the resource, e.g. `prod/**`. */
  resources: string[];
  /** Only meaningful for ESCALATE rules. */
  review?: Partial<ReviewRequirement> | undefined;
  /** Shown to the agent when this rule decides. */
  reason?: string | undefined;
}

export interface PolicyDocument {
  rules: PolicyRule[];
  /** Applied when no rule matches; ESCALATE unless the author says otherwise (fail closed). */
  defaultEffect: PolicyEffect;
}

/** What the engine needs to know about a request. */
export interface EvaluationInput {
  action: string;
  resource: string;
  agent: { id: string; groups: readonly string[]; labels: Readonly<Record<string, string>> };
}

export interface Evaluation {
  effect: PolicyEffect;
  /** Ids of every rule whose criteria matched, in policy order. */
  matchedRules: string[];
  /** Ids of the rules that decided (the matches with the winning effect); empty for the default. */
  decidingRules: string[];
  /** The policy version that decided; null when no policy was ever published. */
  policyVersion: number | null;
  /** A sentence or two a human can read: what decided and why. */
  explanation: string;
  /** The reason shown to the agent: the deciding rule's `reason`, if any. */
  reason: string | null;
  /** For ESCALATE: the merged requirement of every matching ESCALATE rule. */
  review: ReviewRequirement | null;
}

export const DEFAULT_REVIEW: ReviewRequirement = {
  groups: [],
  approvals: 1,
  timeoutSeconds: 3_600, // one hour
};
