import {
  ConflictError,
  DomainError,
  IdempotencyConflictError,
  InvalidInputError,
  InvalidPolicyInputError,
  NotAllowedError,
  NotFoundError,
  type FieldProblem,
} from '../errors.js';
import { builder } from './builder.js';

/**
 * Expected failures are data, not exceptions: every mutation payload has an `errors` list whose
 * members implement this interface. An empty list means the mutation succeeded.
 */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure of a mutation. Switch on `__typename` for the kind; `message` is for people.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong and, where possible, how to fix it.' }),
  }),
});

const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  description: 'One invalid field of a mutation input.',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'Dotted path of the field inside the input, e.g. `params` or `roles.0`.' }),
    message: t.exposeString('message', { description: 'Why the value was refused.' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The target does not exist, or the caller is not allowed to know it exists.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    resourceType: t.exposeString('resourceType', { description: 'The kind of thing looked for, e.g. `ActionRequest`.' }),
    resourceId: t.exposeString('resourceId', { description: 'The id that was looked for.' }),
  }),
});

builder.objectType(NotAllowedError, {
  name: 'NotAllowedError',
  description: 'The caller is authenticated but may not do this to this target (e.g. review outside its groups).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotAllowedError,
  fields: () => ({}),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The target is no longer in a state that permits this (e.g. already decided); nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: (t) => ({
    currentStatus: t.exposeString('currentStatus', {
      nullable: true,
      description: 'The status the target is in now, when it has one (e.g. `APPROVED`).',
    }),
  }),
});

builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  description: 'Some input fields are invalid; nothing was written. Each problem names its field.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidInputError,
  fields: (t) => ({
    problems: t.field({ type: [FieldProblemRef], description: 'Every invalid field.', resolve: (error) => error.problems }),
  }),
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key was already used by this agent for a different request.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof IdempotencyConflictError,
  fields: (t) => ({
    existingRequestId: t.exposeID('existingRequestId', { description: 'The request that already holds the key.' }),
  }),
});

const PolicyIssueRef = builder
  .objectRef<{ ruleId: string | null; field: string; message: string }>('PolicyIssue')
  .implement({
    description: 'One problem found while validating a policy.',
    fields: (t) => ({
      ruleId: t.exposeString('ruleId', { nullable: true, description: 'The rule at fault (or `#N` for the N-th rule without a usable id); null for policy-level problems.' }),
      field: t.exposeString('field', { description: 'The field at fault inside the rule, e.g. `actions[0]`.' }),
      message: t.exposeString('message', { description: 'Why it was refused.' }),
    }),
  });

builder.objectType(InvalidPolicyInputError, {
  name: 'InvalidPolicyError',
  description: 'The policy failed validation; nothing was published. Every issue names the rule and the field.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidPolicyInputError,
  fields: (t) => ({
    issues: t.field({ type: [PolicyIssueRef], description: 'Every problem found.', resolve: (error) => error.issues }),
  }),
});

type ErrorClass = abstract new (...args: never[]) => DomainError;

/**
 * Declares the `errors` field type of one mutation payload: a union named `<Mutation>Error` of
 * exactly the error types that mutation can produce.
 */
export function mutationErrors(mutationName: string, types: ErrorClass[]) {
  const name = `${mutationName[0]!.toUpperCase()}${mutationName.slice(1)}Error`;
  return {
    types,
    union: builder.unionType(name, {
      description: `A failure \`${mutationName}\` can report.`,
      types: types as never,
    }),
  };
}

/**
 * Runs a mutation's service call and shapes the payload: the result with an empty `errors` list,
 * or the expected error in `errors`. Errors of other types are unexpected and propagate (masked).
 */
export async function toPayload<T extends object>(
  errors: { types: ErrorClass[] },
  run: () => Promise<T>,
): Promise<Partial<T> & { errors: DomainError[] }> {
  try {
    return { ...(await run()), errors: [] };
  } catch (error) {
    if (errors.types.some((type) => error instanceof type)) return { errors: [error as DomainError] } as Partial<T> & { errors: DomainError[] };
    throw error;
  }
}
