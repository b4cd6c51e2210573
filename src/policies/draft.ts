import { InvalidPolicyInputError } from '../errors.js';
import { compilePolicy, InvalidPolicyError, type CompiledPolicy, type PolicyDocument } from '../policy/index.js';

/** Compiles a draft policy (not stored); invalid drafts fail with the typed list of issues. */
export function compileDraft(document: PolicyDocument): CompiledPolicy {
  try {
    return compilePolicy(document, null);
  } catch (error) {
    if (error instanceof InvalidPolicyError) throw new InvalidPolicyInputError(error.issues);
    throw error;
  }
}
