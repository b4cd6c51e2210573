/**
 * The policy language, as plain data. This folder is pure: no database, no GraphQL, no I/O and
 * no clock (the caller passes `now`), so it is tested table-driven and benchmarked alone.
 */

/** What a policy decides for a request. Precedence: BLOCK beats ESCALATE beats ALLOW. */
export const PolicyEffect = {
  ALLOW: 'ALLOW',
  ESCALATE: 'ESCALATE',
  BLOCK: 'BLOCK',
} as const;
export type PolicyEffect = (typeof PolicyEffect)[keyof typeof PolicyEffect];
export const POLICY_EFFECTS = Object.values(PolicyEffect);

/** What happens to an escalated request nobody decided before its deadline. */
export const TimeoutAction = { EXPIRE: 'EXPIRE', REJECT: 'REJECT' } as const;
export type TimeoutAction = (typeof TimeoutAction)[keyof typeof TimeoutAction];

/** Which of the agent's earlier requests a rate limit counts. */
export const LimitScope = {
  /** Every request of the agent that the rule matched. */
  AGENT: 'AGENT',
  /** Those with the same action. */
  AGENT_ACTION: 'AGENT_ACTION',
  /** Those with the same resource. */
  AGENT_RESOURCE: 'AGENT_RESOURCE',
} as const;
export type LimitScope = (typeof LimitScope)[keyof typeof LimitScope];

/** A later step of the review ladder: more groups become eligible after a while. */
export interface EscalationStep {
  afterSeconds: number;
  groups: string[];
}

/** Who must review an escalated request, and for how long it waits. */
export interface ReviewRequirement {
  /** Reviewer groups that may decide; empty means any reviewer. */
  groups: string[];
  /**
   * Distinct people who must approve. On a rule: how many this rule asks for. In an evaluation's
   * merged requirement: the sum over its `requirements`, the least number of distinct people
   * needed (a person counts once across them all).
   */
  approvals: number;
  /** Seconds the request stays pending before it times out. */
  timeoutSeconds: number;
  /** What a timeout does (default EXPIRE); enforced by the review workflow. */
  onTimeout?: TimeoutAction | undefined;
  /** Groups added after some time; enforced by the review workflow. */
  escalation?: EscalationStep[] | undefined;
  /** On a rule: whether a reviewer's standing approval may stand in for a review (default true). */
  allowStanding?: boolean | undefined;
  /**
   * The share of the timeout after which reviewers are reminded (`action.expiring`), between 0 and
   * 1 exclusive (default `DEFAULT_REMIND_AT`). In a merged requirement: the earliest of the rules'.
   */
  remindAt?: number | undefined;
}

/** One ESCALATE rule's review requirement, defaults filled in. */
export interface RuleReviewRequirement {
  /** The rule that asks for it; null when the policy's default effect escalated. */
  ruleId: string | null;
  /** Groups whose reviewers count; empty means any reviewer. */
  groups: string[];
  /** Distinct people from those groups who must approve. */
  approvals: number;
  /** Later steps that add groups, sorted by afterSeconds (empty when none). */
  escalation: EscalationStep[];
}

/**
 * Which agents a rule applies to. Every criterion given must hold (AND); within one criterion
 * any listed value is enough (OR). An empty or absent selector matches every agent.
 */
export interface AgentSelector {
  /** Principal ids. */
  ids?: string[] | undefined;
  /** The agent must be in at least one of these groups. */
  groups?: string[] | undefined;
  /** The agent must carry every one of these labels with exactly these values. */
  labels?: Record<string, string> | undefined;
}

/** The rule applies only while the agent made fewer than `count` requests it matched in the window. */
export interface RateLimit {
  count: number;
  windowSeconds: number;
  per: LimitScope;
}

export interface PolicyRule {
  id: string;
  description?: string | undefined;
  effect: PolicyEffect;
  /** Which agents the rule applies to; absent means all. */
  agents?: AgentSelector | undefined;
  /** Globs over the action name, e.g. `deploy.*`. */
  actions: string[];
  /** Globs over the resource, e.g. `prod/**`. */
  resources: string[];
  /** A CEL expression over the request (see `EvaluationInput`) that must be true. */
  when?: string | undefined;
  /** Applies the rule only below a request rate (typically on ALLOW rules: "at most 3 per hour"). */
  limit?: RateLimit | undefined;
  /** A request this rule matches must carry a non-empty `reason`, or it is refused. */
  requireReason?: boolean | undefined;
  /**
   * How long an approval this rule grants (ALLOW) or asks for (ESCALATE) stays valid: the agent
   * must act, and report its outcome, within it. Default `DEFAULT_VALID_FOR_SECONDS`.
   */
  validForSeconds?: number | undefined;
  /** Only meaningful for ESCALATE rules. */
  review?: Partial<ReviewRequirement> | undefined;
  /**
   * ESCALATE only: reviewers may approve the request with changed `params` (approve with
   * changes); the changed request is re-evaluated and must not be blocked.
   */
  allowAmend?: boolean | undefined;
  /** Shown to the agent when this rule decides. */
  reason?: string | undefined;
}

export interface PolicyDocument {
  rules: PolicyRule[];
  /** Applied when no rule matches; ESCALATE unless the author says otherwise (fail closed). */
  defaultEffect: PolicyEffect;
  /**
   * Paths of sensitive request values, e.g. `params.password` (see `redaction-paths.ts`): stored
   * in the audit log, and shown to everyone but ADMIN, as a marker with a keyed hash.
   */
  redact?: string[] | undefined;
}

/** A principal as the policy sees it (also what CEL sees as `agent` and `onBehalfOf`). */
export interface PolicySubject {
  id: string;
  name: string;
  groups: readonly string[];
  labels: Readonly<Record<string, string>>;
}

/** What the engine knows about a request. CEL expressions see these names as variables. */
export interface EvaluationInput {
  action: string;
  resource: string;
  agent: PolicySubject;
  onBehalfOf: PolicySubject | null;
  params: Readonly<Record<string, unknown>> | null;
  reason: string | null;
  /** Free labels the agent sends with the request, e.g. `{ ticket: "INC-42" }`. */
  context: Readonly<Record<string, string>>;
  /** The decision time; CEL sees it as a timestamp. */
  now: Date;
}

/**
 * For rules with a `limit`: how many earlier requests in the rule's window and scope the rule
 * matched. The service counts them (see `limitedRuleIds`); a missing entry counts as 0.
 */
export type RuleUsage = ReadonlyMap<string, number>;

/** A CEL expression that failed at evaluation time. */
export interface RuleError {
  ruleId: string;
  message: string;
}

/** Why one rule did or did not match: the first criterion that failed, or null when it matched. */
export interface RuleTrace {
  ruleId: string;
  effect: PolicyEffect;
  failed: 'agents' | 'actions' | 'resources' | 'when' | 'limit' | null;
  /** For `when`: the CEL error that made the rule count as matched (BLOCK/ESCALATE) or not (ALLOW). */
  error?: string | undefined;
}

export interface Evaluation {
  effect: PolicyEffect;
  /** Ids of every rule whose criteria matched, in policy order. */
  matchedRules: string[];
  /** Ids of the rules that decided (the matches with the winning effect); empty for the default. */
  decidingRules: string[];
  /** The policy version that decided; null when no policy was ever published. */
  policyVersion: number | null;
  /** Sentences a human can read: what decided, on which criteria, and why candidates did not. */
  explanation: string;
  /** The reason shown to the agent: the first deciding rule's `reason`, if any. */
  reason: string | null;
  /**
   * For ESCALATE: the merged requirement of every deciding ESCALATE rule: groups united, the
   * shortest timeout, REJECT on timeout winning over EXPIRE, escalation steps pooled in time
   * order, and `approvals` the sum over `requirements` (the least number of distinct people
   * needed). Null for ALLOW and BLOCK.
   */
  review: ReviewRequirement | null;
  /**
   * For ESCALATE: one requirement per deciding ESCALATE rule, in policy order, each to be met on its
   * own (a person counts once across all of them). When the default effect escalates (no rule
   * matched), one requirement with `ruleId: null`: any reviewer, one approval, no escalation. Empty for ALLOW/BLOCK.
   */
  requirements: RuleReviewRequirement[];
  /** For ESCALATE: reviewers may approve with changed params (every deciding rule says `allowAmend: true`; false for the default effect). */
  amendable: boolean;
  /**
   * For ESCALATE: reviewers may grant, and requests may be approved by, standing approvals (no
   * deciding rule says `review.allowStanding: false`; true for the default effect). Missing on
   * evaluations stored before standing approvals existed: read as true.
   */
  standingAllowed?: boolean;
  /** Matched rules that require the request to carry a reason. */
  reasonRequiredBy: string[];
  /** For ALLOW and ESCALATE: how long an approval stays valid (the shortest of the deciding rules'). */
  validForSeconds: number | null;
  /** CEL runtime errors; never a cause to allow. */
  errors: RuleError[];
  /** The rules the engine looked at (after indexing) and how each fared, in policy order. */
  trace: RuleTrace[];
}

/** How long an approval stays valid when no deciding rule says otherwise: 15 minutes. */
export const DEFAULT_VALID_FOR_SECONDS = 900;

/** When reviewers are reminded of a pending request when no deciding rule says: at 80 % of its timeout. */
export const DEFAULT_REMIND_AT = 0.8;

export const DEFAULT_REVIEW: ReviewRequirement = {
  groups: [],
  approvals: 1,
  timeoutSeconds: 3_600, // one hour
};
