import {
  ConflictError,
  DelegationRequiredError,
  DomainError,
  IdempotencyConflictError,
  InvalidInputError,
  InvalidPolicyInputError,
  InvalidReceiptError,
  NotAllowedError,
  NotFoundError,
  RateLimitedError,
  SeparationOfDutiesError,
  type FieldProblem,
} from '../errors.js';
import { builder } from './builder.js';
import { ReceiptProblemEnum, RequestPartyEnum } from './types/enums.js';

/**
 * A domain error as GraphQL sees it: a plain copy tagged with its GraphQL type name. A copy, not
 * the error itself, because graphql-js treats any `Error` instance returned by a resolver as a
 * thrown error.
 */
export type ErrorShape<E extends DomainError = DomainError> = Omit<E, 'stack' | 'cause' | 'extensions'> & { typename: string };

/**
 * Expected failures are data, not exceptions: every mutation payload has an `errors` list whose
 * members implement this interface. An empty list means the mutation succeeded.
 */
export const ErrorInterface = builder.interfaceRef<ErrorShape>('Error').implement({
  description: 'An expected failure of a mutation. Switch on `__typename` for the kind; `message` is for people.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong and, where possible, how to fix it.' }),
  }),
});

type ErrorClass<E extends DomainError = DomainError> = abstract new (...args: never[]) => E;
const typeNames = new Map<ErrorClass, string>();

/** Names the GraphQL object type of a domain error class; implement it with `interfaces: [ErrorInterface]`. */
function errorRef<E extends DomainError>(errorClass: ErrorClass<E>, name: string) {
  typeNames.set(errorClass, name);
  return builder.objectRef<ErrorShape<E>>(name);
}

const isErrorType = (name: string) => (value: unknown) => (value as ErrorShape).typename === name;

/** A domain error as its GraphQL error object (rethrown when its class has no GraphQL type). */
export function toShape(error: DomainError): ErrorShape {
  const typename = [...typeNames].find(([errorClass]) => error instanceof errorClass)?.[1];
  if (!typename) throw error;
  return { ...error, message: error.message, typename };
}

const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  description: 'One invalid field of a mutation input.',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'Dotted path of the field inside the input, e.g. `params` or `roles.0`.' }),
    message: t.exposeString('message', { description: 'Why the value was refused.' }),
  }),
});

const PolicyIssueRef = builder.objectRef<{ ruleId: string | null; field: string; message: string }>('PolicyIssue').implement({
  description: 'One problem found while validating a policy.',
  fields: (t) => ({
    ruleId: t.exposeString('ruleId', {
      nullable: true,
      description: 'The rule at fault (or `#N` for the N-th rule without a usable id); null for policy-level problems.',
    }),
    field: t.exposeString('field', { description: 'The field at fault inside the rule, e.g. `actions[0]`.' }),
    message: t.exposeString('message', { description: 'Why it was refused.' }),
  }),
});

errorRef(NotFoundError, 'NotFoundError').implement({
  description: 'The target does not exist, or the caller is not allowed to know it exists.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('NotFoundError'),
  fields: (t) => ({
    resourceType: t.exposeString('resourceType', { description: 'The kind of thing looked for, e.g. `ActionRequest`.' }),
    resourceId: t.exposeString('resourceId', { description: 'The id that was looked for.' }),
  }),
});

errorRef(NotAllowedError, 'NotAllowedError').implement({
  description: 'The caller is authenticated but may not do this to this target.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('NotAllowedError'),
  fields: () => ({}),
});

errorRef(SeparationOfDutiesError, 'SeparationOfDutiesError').implement({
  description:
    "A party to the request (its agent, any agent, the agent's owner, the human it acts for) may never review it. The attempt was recorded in the audit log (REVIEW_REFUSED); nothing else changed.",
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('SeparationOfDutiesError'),
  fields: (t) => ({
    party: t.expose('party', { type: RequestPartyEnum, description: 'Which party the caller is.' }),
  }),
});

errorRef(ConflictError, 'ConflictError').implement({
  description: 'The target is no longer in a state that permits this (e.g. already decided); nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('ConflictError'),
  fields: (t) => ({
    currentStatus: t.exposeString('currentStatus', {
      nullable: true,
      description: 'The status the target is in now, when it has one (e.g. `APPROVED`).',
    }),
  }),
});

errorRef(InvalidInputError, 'InvalidInputError').implement({
  description: 'Some input fields are invalid; nothing was written. Each problem names its field.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('InvalidInputError'),
  fields: (t) => ({
    problems: t.field({ type: [FieldProblemRef], description: 'Every invalid field.', resolve: (error) => error.problems }),
  }),
});

errorRef(IdempotencyConflictError, 'IdempotencyConflictError').implement({
  description: 'The idempotency key was already used by this agent for a different request; nothing was written.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('IdempotencyConflictError'),
  fields: (t) => ({
    existingRequestId: t.exposeID('existingRequestId', { description: 'The request that already holds the key.' }),
  }),
});

errorRef(InvalidPolicyInputError, 'InvalidPolicyError').implement({
  description: 'The policy failed validation; nothing was published. Every issue names the rule and the field.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('InvalidPolicyError'),
  fields: (t) => ({
    issues: t.field({ type: [PolicyIssueRef], description: 'Every problem found.', resolve: (error) => error.issues }),
  }),
});

errorRef(RateLimitedError, 'RateLimitedError').implement({
  description:
    'The caller is over a quota (e.g. RATE_LIMIT_PER_MINUTE requests a minute); nothing was written. Retry after `retryAfter` seconds.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('RateLimitedError'),
  fields: (t) => ({
    retryAfter: t.exposeInt('retryAfter', { description: 'Seconds to wait before trying again.' }),
  }),
});

errorRef(DelegationRequiredError, 'DelegationRequiredError').implement({
  description:
    "The agent named a human (`onBehalfOf`) it may not act for: it is not the human's own agent (owner) and holds no delegation covering the action (`grantDelegation`). Nothing but a DELEGATION_REFUSED audit event was written.",
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('DelegationRequiredError'),
  fields: (t) => ({
    onBehalfOf: t.exposeID('onBehalfOf', { description: 'The human named.' }),
  }),
});

errorRef(InvalidReceiptError, 'InvalidReceiptError').implement({
  description: 'The approval receipt was refused; nothing was written. `problem` names what does not hold.',
  interfaces: [ErrorInterface],
  isTypeOf: isErrorType('InvalidReceiptError'),
  fields: (t) => ({
    problem: t.expose('problem', { type: ReceiptProblemEnum, description: 'What does not hold.' }),
  }),
});

/**
 * Declares which expected errors one mutation can report, and the `errors` field that carries
 * them: a list of `Error` (so `errors { __typename message }` always works) whose description
 * names the concrete types a client should handle.
 */
export function mutationErrors(types: ErrorClass[]) {
  const names = types.map((type) => typeNames.get(type) ?? type.name);
  return {
    types,
    field: {
      type: [ErrorInterface] as [typeof ErrorInterface],
      description: `Why the mutation failed; empty on success. Possible types: ${names.join(', ')}.`,
    },
  };
}

/**
 * Runs a mutation's service call and shapes the payload: the result with an empty `errors` list,
 * or the expected error in `errors`. Errors of other types are unexpected and propagate (masked).
 */
export async function toPayload<T extends object>(
  errors: { types: ErrorClass[] },
  run: () => Promise<T>,
): Promise<Partial<T> & { errors: ErrorShape[] }> {
  try {
    return { ...(await run()), errors: [] };
  } catch (error) {
    if (errors.types.some((type) => error instanceof type))
      return { errors: [toShape(error as DomainError)] } as Partial<T> & { errors: ErrorShape[] };
    throw error;
  }
}
