import { useState } from 'preact/hooks';
import type { AdminErrorFieldsFragment } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';

/** A typed error a mutation answered with (`errors { __typename message … }`). */
export type PayloadError = AdminErrorFieldsFragment;

export interface Mutation {
  busy: boolean;
  errors: readonly PayloadError[];
  /** A thrown error (network, GraphQL), or a refusal found before asking the server. */
  failure: unknown;
  /** Runs `call`: its payload when it answered without typed errors, else null (the errors are kept to show). */
  attempt<P extends { errors: readonly PayloadError[] }>(call: () => Promise<P>): Promise<P | null>;
  /** Shows a problem found in the form itself, without asking the server. */
  refuse(message: string): void;
  reset(): void;
}

/** The state of one form's mutation, for `Outcome` to show in place. */
export function useMutation(): Mutation {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<readonly PayloadError[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  return {
    busy,
    errors,
    failure,
    async attempt(call) {
      setBusy(true);
      setErrors([]);
      setFailure(null);
      try {
        const payload = await call();
        setErrors(payload.errors);
        return payload.errors.length ? null : payload;
      } catch (error) {
        setFailure(error);
        return null;
      } finally {
        setBusy(false);
      }
    },
    refuse(message) {
      setErrors([]);
      setFailure(new Error(message));
    },
    reset() {
      setErrors([]);
      setFailure(null);
    },
  };
}

/** `InvalidInputError` → `Invalid input`. */
const kindOf = (typename: string) => {
  const words = typename.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2');
  return words.charAt(0) + words.slice(1).toLowerCase();
};

/** Why a mutation failed, next to the form that sent it: each typed error, with every field problem. */
export function Outcome({ mutation, prefix }: { mutation: Mutation; prefix: string }) {
  if (mutation.failure) return <Problem error={mutation.failure} prefix={prefix} />;
  if (mutation.errors.length === 0) return null;
  return (
    <div role="alert" class="error outcome">
      <p>{prefix}:</p>
      <ul>
        {mutation.errors.map((error, i) => (
          <li key={i}>
            <strong>{kindOf(error.__typename)}:</strong> <Text value={error.message} />
            {error.__typename === 'ConflictError' && error.currentStatus && ` (now ${error.currentStatus})`}
            {error.__typename === 'InvalidInputError' && error.problems.length > 0 && (
              <ul>
                {error.problems.map((problem, j) => (
                  <li key={j}>
                    <code>{problem.field}</code>: <Text value={problem.message} />
                  </li>
                ))}
              </ul>
            )}
            {error.__typename === 'InvalidPolicyError' && error.issues.length > 0 && (
              <ul>
                {error.issues.map((issue, j) => (
                  <li key={j}>
                    <code>{[issue.ruleId, issue.field].filter(Boolean).join(' · ')}</code>: <Text value={issue.message} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
