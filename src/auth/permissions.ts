import { NotAllowedError } from '../errors.js';
import type { Principal } from './roles.js';

/**
 * Every action a caller may be allowed, in one typed catalogue. Services check the caller against
 * it themselves (`authorize`), so a transport cannot skip a check; GraphQL's scope-auth reads the
 * same catalogue (`authScopes: { can: … }`) as a first line that refuses before any resolver runs.
 *
 * Kinds matter as much as roles: agents act, humans review and administer. An agent may still
 * audit (integrators such as SIEMs are machines).
 */
export const Permission = {
  /** `requestAction`, `cancelActionRequest`, `reportActionOutcome` on its own requests. */
  RequestAction: 'action.request',
  /** `decideAction`, `extendActionRequest`, `pendingApprovals`: the requests its groups may decide. */
  ReviewAction: 'action.review',
  /** `overrideDecision`: break-glass decisions outside the review rules. */
  OverrideDecision: 'action.override',
  /** `simulateAction` as itself, on the active policy. */
  SimulateOwnAction: 'policy.simulate',
  /** `simulateAction` with a draft, or as another agent. */
  SimulateAnyAction: 'policy.simulate.any',
  /** Policy versions with their rules; `replayPolicy` of drafts without CEL conditions. */
  ReadPolicy: 'policy.read',
  /** `replayPolicy` of drafts with CEL conditions (code the caller wrote runs on the server). */
  ReplayConditions: 'policy.replay.conditions',
  /** `publishPolicy`, `activatePolicyVersion`. */
  PublishPolicy: 'policy.publish',
  /** Every request, the audit log (query, subscription, export, verification). */
  ReadAudit: 'audit.read',
  /** The values behind redaction markers, in requests, audit events and exports. */
  ReadRedacted: 'audit.redacted',
  /** `principals`, every principal's tokens and delegations. */
  ReadPrincipals: 'principals.read',
  /** `createPrincipal`, `updatePrincipal`, `disablePrincipal`, `enablePrincipal`; tokens of anyone. */
  ManagePrincipals: 'principals.manage',
  /** `issueToken` and `revokeToken` for oneself: rotation without an administrator. */
  ManageOwnTokens: 'tokens.own',
  /** `grantDelegation` for oneself: let an agent act on one's behalf. */
  DelegateOwnActions: 'delegations.own',
  /** `createWebhook` and the rest: endpoints, their secrets and deliveries. */
  ManageWebhooks: 'webhooks.manage',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const isHuman = (p: Principal) => p.kind === 'HUMAN';
const has = (p: Principal, role: string) => p.roles.includes(role as Principal['roles'][number]);
const admin = (p: Principal) => isHuman(p) && has(p, 'ADMIN');
const auditor = (p: Principal) => has(p, 'AUDITOR') || admin(p);

/** Who holds each permission: an enabled principal of the right kind and roles. */
const GRANTS: Record<Permission, (principal: Principal) => boolean> = {
  [Permission.RequestAction]: (p) => p.kind === 'AGENT' && has(p, 'AGENT'),
  [Permission.ReviewAction]: (p) => isHuman(p) && has(p, 'REVIEWER'),
  [Permission.OverrideDecision]: admin,
  [Permission.SimulateOwnAction]: (p) => (p.kind === 'AGENT' && has(p, 'AGENT')) || admin(p),
  [Permission.SimulateAnyAction]: admin,
  [Permission.ReadPolicy]: auditor,
  [Permission.ReplayConditions]: admin,
  [Permission.PublishPolicy]: admin,
  [Permission.ReadAudit]: auditor,
  [Permission.ReadRedacted]: admin,
  [Permission.ReadPrincipals]: admin,
  [Permission.ManagePrincipals]: admin,
  [Permission.ManageOwnTokens]: () => true,
  [Permission.DelegateOwnActions]: isHuman,
  [Permission.ManageWebhooks]: admin,
};

const REFUSALS: Record<Permission, string> = {
  [Permission.RequestAction]: 'Only agents with the AGENT role can request actions.',
  [Permission.ReviewAction]: 'Reviewing needs a human with the REVIEWER role.',
  [Permission.OverrideDecision]: 'Only a human ADMIN can override a decision.',
  [Permission.SimulateOwnAction]: 'Simulate as an agent (AGENT role), or as an ADMIN.',
  [Permission.SimulateAnyAction]: 'Only an ADMIN can simulate a draft policy or a request as another agent.',
  [Permission.ReadPolicy]: 'Reading policy rules needs the AUDITOR or ADMIN role; agents use simulateAction.',
  [Permission.ReplayConditions]:
    'Only an ADMIN can replay a draft with CEL conditions (`when`); an AUDITOR may replay drafts without them.',
  [Permission.PublishPolicy]: 'Only an ADMIN can change the policy.',
  [Permission.ReadAudit]: 'The audit log needs the AUDITOR or ADMIN role.',
  [Permission.ReadRedacted]: 'Only an ADMIN sees redacted values.',
  [Permission.ReadPrincipals]: 'Listing principals needs the ADMIN role.',
  [Permission.ManagePrincipals]: 'Managing principals needs the ADMIN role.',
  [Permission.ManageOwnTokens]: 'Authenticate to manage your own tokens.',
  [Permission.DelegateOwnActions]: 'Only a human can let an agent act on their behalf.',
  [Permission.ManageWebhooks]: 'Managing webhooks needs the ADMIN role.',
};

/** Whether `principal` holds `permission`. A disabled principal holds none. */
export function can(principal: Principal | null | undefined, permission: Permission): boolean {
  return !!principal && principal.disabledAt === null && GRANTS[permission](principal);
}

/** Throws a NotAllowedError (code FORBIDDEN) unless `principal` holds `permission`. */
export function authorize(principal: Principal | null | undefined, permission: Permission): asserts principal is Principal {
  if (!can(principal, permission)) throw new NotAllowedError(REFUSALS[permission]);
}
