import { tallyReviews, type RequirementProgress } from '../../approvals/requirements.js';
import type { ActionRequestRow, RequestRequirement } from '../../db/schema.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { EscalationStepRef } from './policy-rule.js';
import { PrincipalRef } from './principal.js';

type Progress = RequirementProgress & { requirement: RequestRequirement };

/** Each requirement of a request with its progress, as the quorum tally matched its approvals. */
export async function requirementProgress(request: ActionRequestRow, ctx: GraphQLContext): Promise<Progress[]> {
  const tally = tallyReviews(request, await ctx.loaders.reviews.load(request.id));
  return tally.requirements.map((progress, i) => ({ ...progress, requirement: request.reviewRequirements[i]! }));
}

/** The number of approvals that count, each person once. */
export async function approvalsReceived(request: ActionRequestRow, ctx: GraphQLContext): Promise<number> {
  return tallyReviews(request, await ctx.loaders.reviews.load(request.id)).received;
}

export const ReviewRequirementProgressRef = builder.objectRef<Progress>('ReviewRequirementProgress').implement({
  description:
    "One requirement of an escalated request (one per deciding ESCALATE rule) and how far it got. Every requirement must be met; a person's approval counts for one requirement only.",
  fields: (t) => ({
    ruleId: t.exposeString('ruleId', { nullable: true, description: 'The rule that asks for it; null when the default effect escalated.' }),
    groups: t.exposeStringList('groups', {
      description: "Groups whose reviewers count now (the rule's own plus those of escalation steps reached); empty means any reviewer.",
    }),
    approvals: t.exposeInt('approvals', { description: 'Distinct people from those groups who must approve.' }),
    approvalsReceived: t.int({ description: 'Approvals counted for this requirement so far.', resolve: (p) => p.approverIds.length }),
    approvers: t.field({
      type: [PrincipalRef],
      description: 'The reviewers whose approvals count for this requirement.',
      resolve: async (p, _args, ctx) =>
        (await Promise.all(p.approverIds.map((id) => ctx.loaders.principal.load(id)))).filter((x) => x !== null),
    }),
    met: t.exposeBoolean('met', { description: 'True when enough approvals count for this requirement.' }),
    escalation: t.field({
      type: [EscalationStepRef],
      description: "The rule's escalation steps: later groups that become eligible.",
      resolve: (p) => p.requirement.escalation,
    }),
    escalationStepsReached: t.int({ description: 'How many of those steps have happened.', resolve: (p) => p.requirement.reached }),
  }),
});
